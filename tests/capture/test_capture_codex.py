"""Codex's rollouts: exact tokens per kind from logs shaped as codex-rs writes them, forks and sub-agents
included, read whole or in pieces; through ``codex.parse`` and through a real capture."""

from __future__ import annotations

import json
import mmap
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agentlogs import (
    T0,
    codex_context,
    codex_file,
    codex_item,
    codex_session,
    codex_tokens,
    commit_at,
    restamped,
    usage,
    write,
)
from conftest import run

from gitokens import capture
from gitokens.capture import codex, scan
from gitokens.capture import state as capture_state
from gitokens.git.repo import open_repo
from gitokens.ledger import store

MODEL = "gpt-5-codex"
Tokens = tuple[int, int, int, int, int]  # input, output, cache read, cache write, reasoning

FIRST, SECOND = usage(1000, 400, 50, 10), usage(2500, 1200, 120, 30)  # the parent's running totals
P_CALLS: Tokens = (600 + 700, 50 + 70, 400 + 800, 0, 10 + 20)  # its two calls: 1000-400 and 1500-800 uncached
F_CALL: Tokens = (100, 30, 500, 0, 10)  # the fork's own call: 600 in, of which 500 cached


def parent_lines(cwd: Path | str) -> list[str]:
    """Session P: a call, the same event again (only the rate limits moved), a rate-limit update, a call."""
    return [
        codex_session("P", cwd, T0 + 100),
        codex_context(MODEL, T0 + 101, cwd),
        codex_item(T0 + 105),
        codex_tokens(T0 + 110, FIRST, FIRST),
        codex_tokens(T0 + 111, FIRST, FIRST, used=6.0),
        codex_tokens(T0 + 112, None, None, used=7.0),
        codex_context(MODEL, T0 + 200, cwd),
        codex_tokens(T0 + 210, SECOND, usage(1500, 800, 70, 20)),
    ]


def fork_lines(cwd: Path | str, *, at: float = T0 + 300, spawned: bool = False) -> list[str]:
    """Session F forked from P: its session_meta, P's lines copied in the same burst, then its own turn.
    ``spawned``: a sub-agent whose session_meta names its parent in ``source`` only (ccusage's sample)."""
    own = (
        codex_session("F", cwd, at, spawned_by="P")
        if spawned
        else codex_session("F", cwd, at, forked_from="P", spawned_by="P")
    )
    copied = [restamped(line, at + 0.002 * n) for n, line in enumerate(parent_lines(cwd))]
    return [
        own,
        *copied,
        codex_context(MODEL, at + 0.1, cwd),
        codex_item(at + 4),
        codex_tokens(at + 5, usage(3100, 1700, 150, 40), usage(600, 500, 30, 10)),
    ]


def parse(lines: list[str], parents: dict[str, str] | None = None) -> list[tuple[Any, ...]]:
    """(session, model, branch, cwd, tokens) per call that ``lines`` give, read whole."""
    data = "".join(line + "\n" for line in lines).encode()
    found, bad, _ = codex.parse(data, 0, None, {} if parents is None else parents)
    assert bad == []
    return [(m.session, m.model, m.branch, cwd, _tokens(m)) for m, cwd in found]


def _tokens(m: Any) -> Tokens:
    return (m.input_tokens, m.output_tokens, m.cache_read_tokens, m.cache_write_tokens, m.reasoning_tokens)


def _sum(rows: list[Tokens]) -> Tokens:
    i, o, r, w, z = (sum(column) for column in zip(*rows, strict=True))
    return i, o, r, w, z


# codex.parse


@pytest.mark.parametrize(
    ("last", "tokens"),
    [
        pytest.param(usage(1000, 400, 50, 10), (600, 50, 400, 0, 10), id="cache-reads-out-of-input"),
        pytest.param(usage(1000, 0, 50, 0), (1000, 50, 0, 0, 0), id="no-cache"),
        pytest.param(usage(100, 400, 50, 90), (0, 50, 100, 0, 50), id="counts-clamped"),
        pytest.param(usage(1000, 400, 50) | {"cache_write_input_tokens": 200}, (400, 50, 400, 200, 0), id="writes"),
    ],
)
def test_tokens_are_counted_in_the_ledgers_semantics(last: dict[str, int], tokens: Tokens) -> None:
    lines = [codex_session("S", "/w", T0), codex_tokens(T0 + 10, last, last)]
    assert parse(lines) == [("S", None, "main", "/w", tokens)]


def test_an_event_repeated_for_the_rate_limits_and_a_rate_limit_update_count_nothing() -> None:
    assert [row[4] for row in parse(parent_lines("/w"))] == [(600, 50, 400, 0, 10), (700, 70, 800, 0, 20)]


def test_an_event_with_only_totals_counts_the_difference() -> None:
    lines = [
        codex_session("S", "/w", T0),
        codex_tokens(T0 + 10, FIRST, None),
        codex_tokens(T0 + 11, FIRST, None, used=9.0),
        codex_tokens(T0 + 20, SECOND, None),
    ]
    assert [row[4] for row in parse(lines)] == [(600, 50, 400, 0, 10), (700, 70, 800, 0, 20)]


@pytest.mark.parametrize(
    ("extra", "turn", "model"),
    [
        pytest.param({"info_extra": {"model": "gpt-5.1-codex-max"}}, MODEL, "gpt-5.1-codex-max", id="info-model"),
        pytest.param({"info_extra": {"model_name": "gpt-5.1"}}, MODEL, "gpt-5.1", id="info-model-name"),
        pytest.param({"info_extra": {"metadata": {"model": "o3"}}}, MODEL, "o3", id="info-metadata"),
        pytest.param({"payload_extra": {"model": "gpt-5-mini"}}, MODEL, "gpt-5-mini", id="payload-model"),
        pytest.param({"info_extra": {"model": "  "}}, MODEL, MODEL, id="blank-then-turn"),
        pytest.param({}, MODEL, MODEL, id="turn-context"),
        pytest.param({"info_extra": {"model": "gpt-5.1"}}, None, "gpt-5.1", id="event-only"),
        pytest.param({}, None, None, id="none-known"),
        pytest.param({"payload_extra": {"rate_limits": {"normal_model_slug": "gpt-5"}}}, None, None, id="quota-alias"),
    ],
)
def test_the_events_own_model_then_the_last_turn_context(extra: dict[str, Any], turn: str | None, model: str) -> None:
    lines = [codex_session("S", "/w", T0), codex_tokens(T0 + 10, FIRST, FIRST, **extra)]
    if turn is not None:
        lines.insert(1, codex_context(turn, T0 + 1, "/w"))
    assert parse(lines)[0][1] == model


@pytest.mark.parametrize(
    ("git", "branch", "expected"),
    [
        pytest.param(True, "feature/x", "feature/x", id="branch"),
        pytest.param(True, None, None, id="detached-head"),
        pytest.param(False, None, None, id="outside-a-repository"),
    ],
)
def test_a_session_without_a_branch_keeps_its_cwd(git: bool, branch: str | None, expected: str | None) -> None:
    lines = [codex_session("S", "/work/app", T0, git=git, branch=branch), codex_tokens(T0 + 10, FIRST, FIRST)]
    assert parse(lines) == [("S", None, expected, "/work/app", (600, 50, 400, 0, 10))]


@pytest.mark.parametrize("spawned", [False, True], ids=["forked", "sub-agent"])
def test_a_forks_file_counts_its_own_call_and_not_its_parents(spawned: bool) -> None:
    parents: dict[str, str] = {}
    assert parse(fork_lines("/w", spawned=spawned), parents) == [("F", MODEL, "main", "/w", F_CALL)]
    assert parents == {"F": "P"}


def test_a_fork_of_the_last_turns_only_copies_no_session_meta() -> None:
    lines = fork_lines("/w")
    del lines[1:4]  # the parent's session_meta, first turn_context and item: cut away
    assert parse(lines) == [("F", MODEL, "main", "/w", F_CALL)]


def test_a_sub_agent_spawned_without_history_counts_even_a_quick_first_call() -> None:
    lines = [
        codex_session("S", "/w", T0, spawned_by="P"),
        codex_context(MODEL, T0 + 0.05, "/w"),
        codex_tokens(T0 + 0.6, FIRST, FIRST),
    ]
    assert parse(lines) == [("S", MODEL, "main", "/w", (600, 50, 400, 0, 10))]


def test_a_forks_only_totals_count_from_the_copied_totals() -> None:
    lines = fork_lines("/w")
    lines[-1] = codex_tokens(T0 + 305, usage(3100, 1700, 150, 40), None)
    assert [row[4] for row in parse(lines)] == [F_CALL]


@pytest.mark.parametrize("lines", [parent_lines("/w"), fork_lines("/w"), fork_lines("/w", spawned=True)])
def test_reading_on_from_any_line_gives_what_a_whole_read_gives(lines: list[str]) -> None:
    data = "".join(line + "\n" for line in lines).encode()
    whole, _, _ = codex.parse(data, 0, None, {})
    cuts = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    for cut in cuts:
        first, _, context = codex.parse(data[:cut], 0, None, {})
        rest, _, _ = codex.parse(data[cut:], cut, json.loads(json.dumps(context)), {})  # as files.json keeps it
        assert [m.key for m, _ in first + rest] == [m.key for m, _ in whole]
        assert first + rest == whole


@pytest.mark.parametrize("lines", [parent_lines("/w"), fork_lines("/w")])
def test_a_window_of_a_mapped_file_reads_as_those_bytes_alone(lines: list[str], tmp_path: Path) -> None:
    """The capture hands the parser the mapping of the whole file and where its new lines are."""
    data = "".join(line + "\n" for line in lines).encode() + b'{"type":"token_count",\n'  # malformed
    path = tmp_path / "rollout.jsonl"
    path.write_bytes(b"x" * 10 + data + b'{"type":"turn_context"')  # before and after the window: not read
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        windowed = codex.parse(mapped, 0, None, {}, start=10, end=10 + len(data))
    found, bad, context = codex.parse(data, 10, None, {})
    assert windowed == (found, bad, context) and len(bad) == 1 and found


@pytest.mark.parametrize(
    "line",
    [
        pytest.param('{"type":"session_meta","payload":{"cwd":"/w"}}', id="meta-without-id"),
        pytest.param('{"timestamp":7,"type":"event_msg","payload":{"type":"token_count","info":{}}}', id="bad-time"),
        pytest.param(codex_tokens(T0, usage(-1, 0, 0), None), id="negative"),
        pytest.param(codex_tokens(T0, usage(10**13, 0, 0), None), id="huge"),
        pytest.param(codex_tokens(T0, {"input_tokens": "5"}, None), id="text-count"),
        pytest.param('["token_count"]', id="array"),
        pytest.param('{"type":"turn_context","payload":' + "[" * 100_000 + "]" * 100_000 + "}", id="deep"),
        pytest.param(codex_tokens(T0, FIRST, FIRST)[:-9], id="cut-short"),
    ],
)
def test_a_malformed_line_is_reported_and_skipped(line: str) -> None:
    data = (codex_session("S", "/w", T0) + "\n" + line + "\n" + codex_tokens(T0 + 9, FIRST, FIRST) + "\n").encode()
    found, bad, _ = codex.parse(data, 0, None, {})
    assert bad == [data.index(b"\n") + 1]
    assert [_tokens(m) for m, _ in found] == [(600, 50, 400, 0, 10)]


def test_no_bytes_make_the_parser_raise() -> None:
    pieces = [line.encode() for line in fork_lines("/w")] + [b'"token_count"', b'"session_meta"', b"\xff\x00{", b"\n"]
    rng = random.Random(20260101)
    for _ in range(400):
        blob = b"".join(rng.choice(pieces)[: rng.randrange(1, 400)] for _ in range(rng.randrange(1, 12)))
        found, bad, context = codex.parse(blob, 0, {"total": [1, "x"], "run": 1, "session": 3}, {})
        assert isinstance(found, list) and isinstance(bad, list) and isinstance(context, dict)


# through a capture


@dataclass
class Repo:
    path: Path
    home: Path
    c2: str


@pytest.fixture
def two_commits(repo: Path, hermetic: Path) -> Repo:
    """main: C1 (T0) and C2 (T0+1000): the sessions' calls (T0+100 to T0+400) go to C2."""
    commit_at(repo, T0, "c1")
    return Repo(repo, hermetic, commit_at(repo, T0 + 1000, "c2"))


def captured(repo: Path) -> dict[tuple[str, str | None, str | None], Tokens]:
    """Tokens per (commit, session, model), whichever records hold them."""
    out: dict[tuple[str, str | None, str | None], list[Tokens]] = {}
    for entry in store.load(open_repo(repo)).entries.values():
        r = entry.record
        row = (r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens)
        out.setdefault((entry.attached, r.session, r.model), []).append(row)
    return {key: _sum(rows) for key, rows in out.items()}


def test_sessions_in_their_own_files_each_count_once(two_commits: Repo) -> None:
    w = two_commits
    write(codex_file(w.home, "P", T0 + 100), parent_lines(w.path))
    other = [codex_session("Q", w.path, T0 + 400), codex_context("gpt-5", T0 + 401, w.path)]
    write(codex_file(w.home, "Q", T0 + 400), [*other, codex_tokens(T0 + 410, usage(90, 0, 9, 1), None)])
    run("capture", "--all-history")
    assert captured(w.path) == {(w.c2, "P", MODEL): P_CALLS, (w.c2, "Q", "gpt-5"): (90, 9, 0, 0, 1)}
    assert "wrote 0 records" in run("capture", "--all-history").output


@pytest.mark.parametrize(
    ("parent", "fork_name_at"),
    [
        pytest.param(True, T0 + 300, id="parent-read-first"),
        pytest.param(True, T0 + 50, id="fork-read-first"),
        pytest.param(False, T0 + 300, id="parent-file-gone"),
    ],
)
def test_a_fork_counts_its_own_call_whether_its_parents_file_is_there_or_not(
    two_commits: Repo, parent: bool, fork_name_at: float
) -> None:
    w = two_commits
    if parent:
        write(codex_file(w.home, "P", T0 + 100), parent_lines(w.path))
    write(codex_file(w.home, "F", fork_name_at), fork_lines(w.path))
    run("capture", "--all-history")
    expected = {(w.c2, "F", MODEL): F_CALL} | ({(w.c2, "P", MODEL): P_CALLS} if parent else {})
    assert captured(w.path) == expected


def test_a_spawned_sub_agents_replay_counts_once_with_its_parents_file(two_commits: Repo) -> None:
    w = two_commits
    write(codex_file(w.home, "P", T0 + 100), parent_lines(w.path))
    write(codex_file(w.home, "F", T0 + 300), fork_lines(w.path, spawned=True))
    result = capture.run(open_repo(w.path), all_history=True)
    assert captured(w.path) == {(w.c2, "P", MODEL): P_CALLS, (w.c2, "F", MODEL): F_CALL}
    assert result.agents["codex"].messages == 3 and result.agents["codex"].duplicates == 0


def test_the_model_is_the_events_own_or_none(two_commits: Repo) -> None:
    w = two_commits
    own = codex_tokens(T0 + 110, FIRST, FIRST, info_extra={"model": "gpt-5.1-codex-max"})
    write(codex_file(w.home, "M", T0 + 100), [codex_session("M", w.path, T0 + 100), own])
    write(
        codex_file(w.home, "N", T0 + 120), [codex_session("N", w.path, T0 + 120), codex_tokens(T0 + 130, FIRST, FIRST)]
    )
    run("capture", "--all-history")
    rows = captured(w.path)
    assert rows == {(w.c2, "M", "gpt-5.1-codex-max"): (600, 50, 400, 0, 10), (w.c2, "N", None): (600, 50, 400, 0, 10)}


def test_a_session_outside_any_branch_is_read_from_its_work_tree(two_commits: Repo) -> None:
    w = two_commits
    lines = [codex_session("D", w.path / "src", T0 + 100, branch=None), codex_tokens(T0 + 110, FIRST, FIRST)]
    write(codex_file(w.home, "D", T0 + 100), lines)
    result = capture.run(open_repo(w.path), dry_run=True, all_history=True)
    assert result.agents["codex"].elsewhere == 0  # its cwd is in this work tree; the branch is left to attribution


def test_a_line_still_being_written_waits_and_reads_in_pieces_add_up_to_the_whole(two_commits: Repo) -> None:
    w = two_commits
    parent, fork = parent_lines(w.path), fork_lines(w.path)
    logs = {codex_file(w.home, "P", T0 + 100): parent, codex_file(w.home, "F", T0 + 300): fork}
    cut_in = {codex_file(w.home, "P", T0 + 100): parent[-1], codex_file(w.home, "F", T0 + 300): fork[5]}
    texts = {log: "".join(line + "\n" for line in lines) for log, lines in logs.items()}
    for log, text in texts.items():  # cut in the parent's second call, and in the fork's copy of the first
        write(log, [])
        log.write_text(text[: text.index(cut_in[log]) + 40])
    first = capture.run(open_repo(w.path), since=0.0)
    assert first.agents["codex"].malformed == [] and first.agents["codex"].messages == 1
    for log, text in texts.items():
        log.write_text(text)
    second = capture.run(open_repo(w.path), since=0.0)
    assert second.agents["codex"].malformed == [] and second.agents["codex"].messages == 2
    assert captured(w.path) == {(w.c2, "P", MODEL): P_CALLS, (w.c2, "F", MODEL): F_CALL}
    offsets = {log: capture_state.load(open_repo(w.path)).files[str(log)].offset for log in logs}
    assert offsets == {log: len(text.encode()) for log, text in texts.items()}


def test_parsing_in_two_processes_gives_the_same_records_and_forks(
    two_commits: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large capture's worker parses rollouts too: the records and the fork edges kept are the same."""
    w = two_commits
    write(codex_file(w.home, "P", T0 + 100), parent_lines(w.path))
    write(codex_file(w.home, "F", T0 + 300), fork_lines(w.path, spawned=True))
    one = capture.run(open_repo(w.path), dry_run=True, all_history=True)
    monkeypatch.setattr(scan, "PARALLEL_BYTES", 0)
    with capture.start(open_repo(w.path).common_dir, all_history=True) as started:
        assert started.reading is not None and started.reading.worker is not None
        two = capture.run(open_repo(w.path), all_history=True, started=started)
    assert [r.to_dict() for r in two.records] == [r.to_dict() for r in one.records]
    assert captured(w.path) == {(w.c2, "P", MODEL): P_CALLS, (w.c2, "F", MODEL): F_CALL}
    assert capture_state.load(open_repo(w.path)).sessions == {"F": "P"}
