"""`git tokens capture` on Claude Code and Codex logs written in their real formats, in a private HOME."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agentlogs import (
    T0,
    claude,
    claude_file,
    claude_user,
    codex_count,
    codex_file,
    codex_item,
    codex_meta,
    codex_turn,
    commit_at,
    usage,
    write,
)
from conftest import git, run

from gitokens import capture
from gitokens.capture import claude as claude_reader
from gitokens.capture import scan
from gitokens.capture import state as capture_state
from gitokens.capture.model import digest
from gitokens.git.repo import open_repo
from gitokens.ledger import store

HAIKU = "claude-haiku-4-5-20251001"
Totals = tuple[str, str | None, str | None, int, int, int, int, int, float | None]


@dataclass
class World:
    repo: Path
    home: Path
    c1: str
    c2: str
    c3: str
    f1: str
    main_log: Path


@pytest.fixture
def world(repo: Path, hermetic: Path) -> World:
    """main: C1 (T0), C2 (T0+1000), C3 (T0+2000); feature from C2: F1 (T0+1500); and the agents' logs."""
    c1 = commit_at(repo, T0, "c1")
    c2 = commit_at(repo, T0 + 1000, "c2")
    git(repo, "checkout", "-q", "-b", "feature")
    f1 = commit_at(repo, T0 + 1500, "f1")
    git(repo, "checkout", "-q", "main")
    c3 = commit_at(repo, T0 + 2000, "c3")
    home, src = hermetic, repo / "src"
    src.mkdir()
    m1 = claude(
        session="S1",
        cwd=repo,
        branch="main",
        at=T0 + 100,
        mid="msg_1",
        rid="req_1",
        inp=10,
        out=100,
        read=1000,
        write=500,
        cost=0.01,
    )
    m2 = claude(
        session="S1",
        cwd=src,
        branch="main",
        at=T0 + 900,
        mid="msg_2",
        rid="req_2",
        inp=20,
        out=200,
        read=2000,
        cost=0.02,
    )
    m2_again = claude(session="S1", cwd=src, branch="main", at=T0 + 901, mid="msg_2", rid="req_2", inp=20, out=999)
    m3 = claude(
        session="S1",
        cwd=repo,
        branch="main",
        at=T0 + 1200,
        mid="msg_3",
        rid="req_3",
        inp=30,
        out=300,
        read=3000,
        write=300,
        cost=0.03,
    )
    broken = m3[: m3.index('"usage"') + 30]
    elsewhere = claude(
        session="S9", cwd="/elsewhere/project", branch="main", at=T0 + 1250, mid="msg_x", rid="req_x", inp=5000
    )
    m4 = claude(session="S1", cwd=repo, branch="main", at=T0 + 2500, mid="msg_4", rid="req_4", inp=40, out=400)
    main_log = write(
        claude_file(home, "-repo", "S1"),
        [claude_user("S1", repo, T0 + 50), m1, m2, m2_again, broken, m3, elsewhere, m4],
    )
    write(  # a side-chain: a replay of m1 under another request id, and its own call on another model
        claude_file(home, "-repo", "S1").with_suffix("") / "subagents" / "agent-a1.jsonl",
        [
            claude(
                session="S1",
                cwd=repo,
                branch="main",
                at=T0 + 100,
                mid="msg_1",
                rid="req_side",
                inp=10,
                out=100,
                read=1000,
                write=500,
                sidechain=True,
            ),
            claude(
                session="S1",
                cwd=repo,
                branch="main",
                at=T0 + 1300,
                mid="msg_s1",
                rid="req_s1",
                inp=7,
                out=70,
                model=HAIKU,
                sidechain=True,
            ),
        ],
    )
    write(  # a resumed session: the earlier conversation copied, then a new call
        claude_file(home, "-repo", "S3"),
        [
            m1,
            m2,
            claude(
                session="S3",
                cwd=repo,
                branch="main",
                at=T0 + 1900,
                mid="msg_r1",
                rid="req_r1",
                inp=50,
                out=500,
                cost=0.05,
            ),
        ],
    )
    write(
        claude_file(home, "-repo-feature", "S2"),
        [
            claude(session="S2", cwd=repo, branch="feature", at=T0 + 1100, mid="msg_f1", rid="req_f1", inp=60, out=600),
            claude(session="S2", cwd=repo, branch="feature", at=T0 + 1600, mid="msg_f2", rid="req_f2", inp=70, out=700),
        ],
    )
    first, second = usage(1000, 400, 50, 10), usage(3000, 1400, 150, 30)
    codex_x = [
        codex_meta("X", repo, "main", T0 + 200),
        codex_turn("gpt-5-codex", T0 + 201, repo),
        codex_item(T0 + 250),
        codex_count(T0 + 300, first, first),
        codex_count(T0 + 301, first, first),  # repeated when only the rate limits changed
        codex_count(T0 + 302, None, None),
        codex_count(T0 + 1700, second, None),  # cumulative only: the delta is 2000/1000/100/20
    ]
    write(codex_file(home, "X", T0 + 200), codex_x)
    write(codex_file(home, "X", T0 + 200, archived=True), [*codex_x, codex_count(T0 + 1800, usage(9000, 0, 900), None)])
    write(  # a spawned sub-agent: replays its parent's items (re-stamped when copied), then its own call
        codex_file(home, "Y", T0 + 1750),
        [
            codex_meta("Y", repo, "main", T0 + 1750, parent="X"),
            codex_meta("X", repo, "main", T0 + 1750),
            codex_turn("gpt-5-codex", T0 + 1750, repo),
            codex_count(T0 + 1750, first, first),
            codex_count(T0 + 1750, second, None),
            codex_count(T0 + 1760, usage(3500, 1500, 180, 30), usage(500, 100, 30)),
        ],
    )
    return World(repo, home, c1, c2, c3, f1, main_log)


def captured(repo: Path) -> dict[str, list[Totals]]:
    """Per commit: (source, session, model, input, output, cache read, cache write, reasoning, cost)."""
    out: dict[str, list[Totals]] = {}
    for entry in store.load(open_repo(repo)).entries.values():
        r = entry.record
        row = (
            r.source,
            r.session,
            r.model,
            r.input_tokens,
            r.output_tokens,
            r.cache_read_tokens,
            r.cache_write_tokens,
            r.reasoning_tokens,
            r.cost_usd,
        )
        out.setdefault(entry.attached, []).append(row)
    return {commit: sorted(rows, key=str) for commit, rows in out.items()}


def expected(w: World) -> dict[str, list[Totals]]:
    rows: dict[str, list[Totals]] = {
        w.c2: [
            ("claude-code", "S1", "claude-sonnet-4-5-20250929", 30, 300, 3000, 500, 0, 0.03),
            ("codex", "X", "gpt-5-codex", 600, 50, 400, 0, 10, None),
        ],
        w.c3: [
            ("claude-code", "S1", "claude-sonnet-4-5-20250929", 30, 300, 3000, 300, 0, 0.03),
            ("claude-code", "S1", HAIKU, 7, 70, 0, 0, 0, None),
            ("claude-code", "S3", "claude-sonnet-4-5-20250929", 50, 500, 0, 0, 0, 0.05),
            ("codex", "X", "gpt-5-codex", 1000, 100, 1000, 0, 20, None),
            ("codex", "Y", "gpt-5-codex", 400, 30, 100, 0, 0, None),
        ],
        w.f1: [("claude-code", "S2", "claude-sonnet-4-5-20250929", 60, 600, 0, 0, 0, None)],
    }
    return {commit: sorted(r, key=str) for commit, r in rows.items()}


def waiting(repo: Path) -> dict[str, list[int]]:
    current = capture_state.load(open_repo(repo))
    return {branch: sorted(m.tokens for m in msgs) for branch, msgs in current.pending.items()}


def test_all_history_attributes_every_message_once_to_its_commit(world: World) -> None:
    out = run("capture", "--all-history").output
    assert captured(world.repo) == expected(world)
    assert waiting(world.repo) == {"main": [440], "feature": [770]}
    assert "claude-code: 3 sessions, 8 new messages, 9,957 tokens; 6 message(s) attributed to 3 commits" in out
    assert "2 waiting for the next commit" in out
    assert "left out: 4 duplicate copies, 1 from other directories" in out
    assert f"skipped 1 malformed line: {world.main_log}:5" in out
    assert "codex: 2 sessions, 3 new messages, 3,680 tokens; 3 message(s) attributed to 2 commits" in out
    assert "wrote 8 records" in out


def test_default_capture_takes_the_last_commit_then_all_history_the_rest(world: World) -> None:
    out = run("capture").output
    assert "from before the first capture here" in out
    first = captured(world.repo)
    assert first == {c: rows for c, rows in expected(world).items() if c != world.c2}
    out = run("capture", "--all-history").output
    assert captured(world.repo) == expected(world)
    assert "wrote 2 records" in out


def test_capturing_twice_adds_nothing(world: World) -> None:
    run("capture", "--all-history")
    notes = git(world.repo, "rev-parse", "refs/notes/tokens")
    assert "wrote 0 records" in run("capture").output
    assert "wrote 0 records" in run("capture", "--all-history").output
    assert git(world.repo, "rev-parse", "refs/notes/tokens") == notes


@pytest.mark.parametrize("merge_at", [1, 4], ids=["all-sorted", "sorted-and-appended"])
def test_sorted_marks_keep_a_second_reading_from_counting_twice(
    world: World, monkeypatch: pytest.MonkeyPatch, merge_at: int
) -> None:
    monkeypatch.setattr(capture_state, "MERGE_AT", merge_at)
    run("capture", "--all-history")
    write(
        world.main_log,
        [claude(session="S1", cwd=world.repo, branch="main", at=T0 + 2600, mid="m9", rid="r9")],
        append=True,
    )
    run("capture")
    meta = json.loads((world.repo / ".git" / "gitokens" / "capture" / "files.json").read_text())
    assert meta["sorted"]["seen"] > 0
    assert "wrote 0 records" in run("capture", "--all-history").output
    assert captured(world.repo) == expected(world)


def test_an_unsorted_seen_file_from_an_older_version_counts_nothing_twice(world: World) -> None:
    run("capture", "--all-history")
    folder = world.repo / ".git" / "gitokens" / "capture"
    marks = (folder / "seen.bin").read_bytes()
    (folder / "seen.bin").write_bytes(b"".join(reversed([marks[i : i + 8] for i in range(0, len(marks), 8)])))
    meta = json.loads((folder / "files.json").read_text())
    meta.pop("sorted", None)
    (folder / "files.json").write_text(json.dumps(meta))
    assert "wrote 0 records" in run("capture", "--all-history").output
    assert captured(world.repo) == expected(world)


def _settled(w: World) -> Path:
    """Everything captured and nothing waiting (a commit after the last usage on both branches); the state folder."""
    run("capture", "--all-history")
    commit_at(w.repo, T0 + 3000, "c4")
    git(w.repo, "checkout", "-q", "feature")
    commit_at(w.repo, T0 + 3000, "f2")
    run("capture")
    assert waiting(w.repo) == {}
    return w.repo / ".git" / "gitokens" / "capture"


_IDLE = """
import sys
from gitokens.cli import main
try:
    main(["capture"])
except SystemExit:
    print(sorted(m for m in ("pygit2", "gitokens.capture.scan", "msgspec") if m in sys.modules))
"""


def test_nothing_new_is_told_without_opening_the_repository_or_loading_the_scan(world: World) -> None:
    _settled(world)
    done = subprocess.run([sys.executable, "-c", _IDLE], cwd=world.repo, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        "claude-code: no new usage (0 log files read)",
        "codex: no new usage (0 log files read)",
        "wrote 0 records",
        "[]",
    ]


def test_a_capture_with_nothing_new_moves_the_stamp_on(world: World) -> None:
    stamp = _settled(world) / "stamp"
    os.utime(stamp, (1.0, 1.0))
    assert "no new usage" in run("capture").output
    assert stamp.stat().st_mtime > 1.0


@pytest.mark.parametrize("change", ["touched", "appended", "deleted"])
def test_a_log_changed_in_any_way_is_looked_at_again(world: World, change: str) -> None:
    _settled(world)
    line = claude(session="S1", cwd=world.repo, branch="feature", at=T0 + 3500, mid="m7", rid="r7", inp=3, out=4)
    if change == "touched":
        os.utime(world.main_log, ns=(1, 1))
    elif change == "appended":
        write(world.main_log, [line], append=True)
    else:
        world.main_log.unlink()
    result = capture.run(open_repo(world.repo))
    assert result.agents["claude"].files_read == (change == "appended")
    assert waiting(world.repo) == ({"feature": [7]} if change == "appended" else {})
    known = capture_state.load(open_repo(world.repo)).files.get(str(world.main_log))
    now = None if change == "deleted" else world.main_log.stat().st_mtime_ns
    assert (known and known.mtime_ns) == now


@pytest.mark.parametrize(
    "where",
    ["in its project's folder", "in a new project's folder", "in a sub-agent folder", "grown, its mtime kept"],
)
def test_a_new_or_grown_log_anywhere_under_the_folders_is_read(world: World, where: str) -> None:
    _settled(world)
    line = claude(session="S5", cwd=world.repo, branch="feature", at=T0 + 3500, mid="m8", rid="r8", inp=3, out=4)
    projects = world.home / ".claude" / "projects"
    if where == "grown, its mtime kept":
        before = world.main_log.stat()
        write(world.main_log, [line], append=True)
        os.utime(world.main_log, ns=(before.st_atime_ns, before.st_mtime_ns))
    else:
        folder = {
            "in its project's folder": projects / "-repo",
            "in a new project's folder": projects / "-repo-elsewhere",
            "in a sub-agent folder": world.main_log.with_suffix("") / "subagents",
        }[where]
        write(folder / "S5.jsonl", [line])
    assert capture.run(open_repo(world.repo)).agents["claude"].files_read == 1
    assert waiting(world.repo) == {"feature": [7]}
    assert capture.run(open_repo(world.repo)).agents["claude"].files_read == 0


def test_logs_are_listed_and_ordered_as_a_walk_of_paths_lists_them(tmp_path: Path) -> None:
    projects, sessions = tmp_path / "claude" / "projects", tmp_path / "codex" / "sessions"
    for name in ("-a/S1.jsonl", "-a/S1/subagents/agent-1.jsonl", "-a-b/S2.jsonl", "-a/b/S3.jsonl", "-a/S4.txt"):
        write(projects / name, ["{}"])
    (projects / "linked.jsonl").symlink_to(projects / "-a" / "S1.jsonl")  # a link to a file is a log
    (projects / "dangling.jsonl").symlink_to(tmp_path / "nowhere")
    (projects / "-linked").symlink_to(projects / "-a", target_is_directory=True)  # a link to a folder is not followed
    for name in ("01/x/rollout-1.jsonl", "01-x/rollout-1.jsonl", "02/rollout-0.jsonl", "02/rest.jsonl"):
        write(sessions / "2025" / name, ["{}"])

    def walked(root: Path, want: Callable[[str], bool]) -> list[Path]:
        return [Path(folder, name) for folder, _, names in os.walk(root) for name in names if want(name)]

    claude_roots = [projects, tmp_path / "missing"]
    expected = sorted(
        {p for root in claude_roots for p in walked(root, lambda n: n.endswith(".jsonl"))},
        key=lambda p: ("subagents" in p.parts, str(p)),
    )
    assert capture.files.claude_files(claude_roots) == expected
    assert capture.files.claude_names(claude_roots) == [str(p) for p in expected]
    chosen: dict[str, Path] = {}
    for path in sorted(walked(sessions, lambda n: n.startswith("rollout-") and n.endswith(".jsonl"))):
        chosen.setdefault(path.name, path)
    assert capture.files.codex_files([sessions]) == [chosen[name] for name in sorted(chosen)]
    assert len(chosen) == 2


def test_dry_run_writes_nothing(world: World) -> None:
    out = run("capture", "--all-history", "--dry-run").output
    assert "dry run: would write 8 records; nothing written" in out
    assert git(world.repo, "for-each-ref", "refs/notes/") == ""
    assert not (world.repo / ".git" / "gitokens" / "capture").exists()


def test_a_second_clone_from_the_same_logs_adds_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("capture", "--all-history")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(world.repo), str(bare))
    git(world.repo, "push", "-q", str(bare), "refs/notes/tokens")
    shutil.move(world.repo, tmp_path / "first-clone")
    git(tmp_path, "clone", "-q", str(bare), str(world.repo))
    git(world.repo, "fetch", "-q", "origin", "refs/notes/tokens:refs/notes/tokens")
    monkeypatch.chdir(world.repo)  # the process followed the first clone when it moved
    out = run("capture", "--all-history").output
    assert "wrote 0 records (8 already in the ledger)" in out
    assert captured(world.repo) == expected(world)


def test_waiting_usage_goes_to_the_next_commit_on_its_branch(world: World) -> None:
    run("capture", "--all-history")
    c4 = commit_at(world.repo, T0 + 3000, "c4")
    run("capture")
    assert captured(world.repo)[c4] == [("claude-code", "S1", "claude-sonnet-4-5-20250929", 40, 400, 0, 0, 0, None)]
    assert waiting(world.repo) == {"feature": [770]}


def test_only_appended_bytes_are_read(world: World) -> None:
    run("capture", "--all-history")
    line = claude(session="S1", cwd=world.repo, branch="main", at=T0 + 2600, mid="msg_5", rid="req_5", inp=1, out=2)
    write(world.main_log, [line], append=True)
    result = capture.run(open_repo(world.repo), dry_run=True)
    assert result.agents["claude"].bytes_read == len(line) + 1
    assert result.agents["claude"].files_read == 1


@pytest.mark.parametrize("change", ["truncated", "replaced"])
def test_a_rewritten_log_is_read_again_without_counting_twice(world: World, change: str) -> None:
    run("capture", "--all-history")
    kept = world.main_log.read_text().splitlines()[:3]
    new = claude(session="S1", cwd=world.repo, branch="main", at=T0 + 2700, mid="msg_6", rid="req_6", inp=5, out=5)
    if change == "replaced":
        world.main_log.unlink()
    write(world.main_log, [*kept, new])
    result = capture.run(open_repo(world.repo))
    assert result.agents["claude"].duplicates == 2
    assert result.records == []
    assert waiting(world.repo)["main"] == [10, 440]


def test_agent_option_reads_one_agent(world: World) -> None:
    out = run("capture", "--all-history", "--agent", "codex").output
    assert "claude-code" not in out
    assert {row[0] for rows in captured(world.repo).values() for row in rows} == {"codex"}
    run("capture", "--all-history", "--agent", "claude")
    assert captured(world.repo) == expected(world)


def test_since_sets_how_far_back_usage_is_taken(world: World) -> None:
    run("capture", "--since", "2025-06-15T15:15:00Z")  # T0 + 500: m2 and C2's second half of usage
    rows = captured(world.repo)
    assert rows[world.c2] == [("claude-code", "S1", "claude-sonnet-4-5-20250929", 20, 200, 2000, 0, 0, 0.02)]


def test_usage_from_another_repository_or_nested_one_is_left_out(world: World) -> None:
    nested = world.repo / "vendor" / "lib"
    git(world.repo, "init", "-q", str(nested))
    line = claude(session="S5", cwd=nested, branch="main", at=T0 + 1800, mid="msg_n", rid="req_n", inp=9, out=9)
    write(claude_file(world.home, "-repo-vendor-lib", "S5"), [line])
    result = capture.run(open_repo(world.repo), dry_run=True, all_history=True)
    assert result.agents["claude"].elsewhere == 2


def test_show_and_report_list_captured_records(world: World) -> None:
    run("capture", "--all-history")
    out = run("show", "--wide", world.c3).output
    assert "5 record(s)" in out and "claude-code" in out and "codex" in out
    assert "claude-sonnet-4-5-20250929" in run("report", "--format", "csv").output


def test_bad_since_is_a_usage_error(world: World) -> None:
    result = run("capture", "--since", "last tuesday")
    assert result.exit_code == 2 and "error: --since" in result.output


def test_a_session_archived_away_is_not_counted_again(world: World) -> None:
    run("capture", "--all-history")
    active = codex_file(world.home, "X", T0 + 200)
    shutil.move(active, codex_file(world.home, "X", T0 + 200, archived=True))
    result = capture.run(open_repo(world.repo))
    assert result.records == [] and result.agents["codex"].duplicates == 2  # the rate-limit repeat is no call
    assert str(active) not in capture_state.load(open_repo(world.repo)).files


@pytest.mark.parametrize("parallel", [False, True])
def test_usage_in_a_linked_worktree_goes_to_its_branch(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    """The work trees git lists (asked once the worker, if any, has forked) are this repository's."""
    if parallel:
        monkeypatch.setattr(scan, "PARALLEL_BYTES", 0)
    other = tmp_path / "other-worktree"
    git(world.repo, "worktree", "add", "-q", "-b", "topic", str(other), world.c3)
    topic = commit_at(other, T0 + 2400, "topic")
    line = claude(session="S7", cwd=other, branch="topic", at=T0 + 2300, mid="msg_t", rid="req_t", inp=3, out=4)
    write(claude_file(world.home, "-other-worktree", "S7"), [line])
    run("capture", "--all-history")
    assert captured(world.repo)[topic] == [("claude-code", "S7", "claude-sonnet-4-5-20250929", 3, 4, 0, 0, 0, None)]


def test_cache_writes_from_the_five_minute_and_one_hour_split(world: World) -> None:
    line = claude(session="S8", cwd=world.repo, branch="main", at=T0 + 1500, mid="msg_c", rid="req_c", inp=1, write=5)
    entry = json.loads(line)
    usage = entry["message"]["usage"]
    del usage["cache_creation_input_tokens"]
    usage["cache_creation"] = {"ephemeral_5m_input_tokens": 5, "ephemeral_1h_input_tokens": 7}
    write(claude_file(world.home, "-repo", "S8"), [json.dumps(entry)])
    run("capture", "--all-history")
    assert ("claude-code", "S8", "claude-sonnet-4-5-20250929", 1, 0, 0, 12, 0, None) in captured(world.repo)[world.c3]


def test_parsing_in_two_processes_gives_the_same_records(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "PARALLEL_BYTES", 0)
    out = run("capture", "--all-history").output
    assert captured(world.repo) == expected(world)
    assert "left out: 4 duplicate copies, 1 from other directories" in out


def _status(worker: Any) -> int:
    """The worker's exit status, waited for here when it was left to end on its own."""
    if worker.running:
        worker.status = os.waitpid(worker.pid, 0)[1]
    return int(worker.status)


def test_a_worker_started_before_the_repository_is_opened_gives_the_same_records(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command starts the capture (and its worker) from the git dir alone; the API call gets the same."""
    monkeypatch.setattr(scan, "PARALLEL_BYTES", 0)
    repo = open_repo(world.repo)
    with capture.start(repo.common_dir, dry_run=True, all_history=True) as started:
        assert started.reading.worker is not None
        result = capture.run(repo, dry_run=True, all_history=True, started=started)
    status = _status(started.reading.worker)  # it sent every file: it ends on its own, not waited for
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    direct = capture.run(repo, dry_run=True, all_history=True)
    assert [r.to_dict() for r in result.records] == [r.to_dict() for r in direct.records]
    assert {r.commit for r in result.records} == set(expected(world))


def test_a_start_for_other_options_is_closed_and_made_again(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "PARALLEL_BYTES", 0)
    repo = open_repo(world.repo)
    started = capture.start(repo.common_dir, dry_run=True, all_history=False)
    result = capture.run(repo, all_history=True, started=started)  # writes: not what was started
    assert started.reading.worker is not None and not started.reading.worker.running
    assert not result.dry_run and result.records
    assert captured(world.repo) == expected(world)


def test_a_start_closed_unused_ends_its_worker(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository could not be opened after all: the worker, waiting to place what it parsed, ends."""
    monkeypatch.setattr(scan, "PARALLEL_BYTES", 0)
    started = capture.start(open_repo(world.repo).common_dir, all_history=True)
    worker = started.reading.worker
    assert worker is not None
    started.close()
    assert not worker.running
    assert capture_state.load(open_repo(world.repo)).files == {}  # nothing saved
    run("capture", "--all-history")  # and the lock was released
    assert captured(world.repo) == expected(world)


def test_a_worker_killed_loses_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker is killed while it holds the lock on the next file to take: the capture does not wait for
    it, parses what it did not send, and writes the same records."""
    monkeypatch.setattr(scan, "PARALLEL_BYTES", 0)
    repo = open_repo(world.repo)
    with capture.start(repo.common_dir, all_history=True) as started:
        worker = started.reading.worker
        assert worker is not None
        os.read(worker.claims.taken, 1)  # the lock, as the worker would hold it
        os.kill(worker.pid, signal.SIGKILL)
        result = capture.run(repo, all_history=True, started=started)
    assert worker.status is not None and os.WTERMSIG(worker.status) == signal.SIGKILL
    assert result.records and captured(world.repo) == expected(world)


_EARLY = """
import os, sys
import gitokens.capture.scan
gitokens.capture.scan.PARALLEL_BYTES = 0
forking = os.fork
def fork():
    print("click loaded at the fork:", "click" in sys.modules)
    return forking()
os.fork = fork
from gitokens.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    "args",
    [["--all-history"], ["--all-history", "--agent=all"], ["--agent", "claude", "--all-history", "--agent=codex"]],
)
def test_the_command_forks_its_worker_before_loading_click(world: World, args: list[str]) -> None:
    """``main`` starts a capture with plain options before click loads; the command takes it, and the records
    are the ones the command makes when it starts the capture itself."""
    argv = [sys.executable, "-c", _EARLY, "capture", *args]
    done = subprocess.run(argv, cwd=world.repo, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[0] == "click loaded at the fork: False"
    assert "wrote " in done.stdout.splitlines()[-1]
    assert captured(world.repo) == expected(world)


def test_options_main_does_not_read_are_left_to_click(world: World) -> None:
    """An option the early start does not know (here --since) leaves the start to the command."""
    argv = [sys.executable, "-c", _EARLY, "capture", "--since", "2000-01-01"]
    done = subprocess.run(argv, cwd=world.repo, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[0] == "click loaded at the fork: True"
    assert captured(world.repo) == expected(world)


_WAYS = """
import atexit, sys
import gitokens.capture.scan
gitokens.capture.scan.PARALLEL_BYTES = 0
atexit.register(lambda: print("click loaded:", "click" in sys.modules, file=sys.stderr))
if sys.argv[1] == "main":
    from gitokens.cli import main
    main(sys.argv[2:])
from gitokens.cli import app
app.run(sys.argv[2:], "git tokens")
"""


def both_ways(cwd: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, tuple[int, str, str, str]]:
    """The command run by ``main`` (which starts a plain capture itself) and by click alone: per way, its exit
    code, stdout, the rest of stderr and whether click was loaded."""
    out = {}
    for way in ("main", "click"):
        argv = [sys.executable, "-c", _WAYS, way, *args]
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
        *rest, loaded = done.stderr.splitlines()
        out[way] = (done.returncode, done.stdout, "\n".join(rest), loaded)
    return out


def test_a_plain_capture_runs_to_its_end_without_click(world: World) -> None:
    """The capture ``main`` started is run and reported without loading click, with click's output."""
    ways = both_ways(world.repo, "capture", "--dry-run", "--all-history")
    assert ways["main"][3] == "click loaded: False" and ways["click"][3] == "click loaded: True"
    assert ways["main"][:3] == ways["click"][:3]
    assert ways["main"][0] == 0 and "dry run: would write 8 records" in ways["main"][1]


def test_the_console_script_ends_once_its_capture_is_on_disk(world: World) -> None:
    """The console script's process ends without the interpreter's finalization after a capture: the records,
    the state (a second capture finds nothing new) and the lock (that second capture could take it) are kept,
    and what it printed is what click prints."""
    script = str(Path(sys.executable).parent / "git-tokens")
    done = subprocess.run([script, "capture", "--all-history"], cwd=world.repo, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    assert captured(world.repo) == expected(world)
    again = both_ways(world.repo, "capture")
    assert again["main"][:3] == again["click"][:3]
    assert again["main"][0] == 0 and "no new usage" in again["main"][1]
    assert "wrote 0 records" in again["main"][1]
    assert "wrote 8 records" in done.stdout


def test_lines_that_are_not_plain_ascii_go_through_click(world: World, tmp_path: Path) -> None:
    """A line naming a path that is not ASCII is written by click's echo, as the command writes it."""
    codex_home = tmp_path / "códex"
    rollout = codex_home / codex_file(codex_home, "Z", T0 + 1400).relative_to(codex_home / ".codex")
    write(
        rollout,
        [
            codex_meta("Z", world.repo, "main", T0 + 1400),
            '{"type":"event_msg","payload":{"type":"token_count","info":',
            codex_count(T0 + 1500, None, usage(9, 0, 1)),
        ],
    )
    ways = both_ways(
        world.repo, "capture", "--dry-run", "--all-history", "--agent", "codex", env={"CODEX_HOME": str(codex_home)}
    )
    assert ways["main"][3] == ways["click"][3] == "click loaded: True"
    assert ways["main"][:3] == ways["click"][:3]
    assert "skipped 1 malformed line: " in ways["main"][1] and "códex" in ways["main"][1]


def test_an_error_after_the_start_is_shown_as_click_shows_it(world: World) -> None:
    """The ledger's ref is broken: the started capture fails reading the notes, with the command's error line,
    hint and exit code."""
    (world.repo / "blob.txt").write_text("not a notes commit\n")
    blob = git(world.repo, "hash-object", "-w", "blob.txt").strip()
    git(world.repo, "update-ref", "refs/notes/tokens", blob)
    ways = both_ways(world.repo, "capture", "--dry-run", "--all-history")
    assert ways["main"][:3] == ways["click"][:3]
    code, stdout, stderr, _ = ways["main"]
    assert code != 0 and stdout == "" and stderr.startswith("error: refs/notes/tokens points at ")
    assert "hint: `git tokens doctor`" in stderr


def test_a_progress_bar_is_left_to_click(world: World) -> None:
    """On a terminal, a capture large enough for a progress bar is run by the command (click draws the bar)."""
    script = _WAYS.replace(
        "import atexit, sys", "import atexit, sys\nimport gitokens.cli\ngitokens.cli.PROGRESS_BYTES = 0"
    )
    leader, follower = os.openpty()
    try:
        argv = [sys.executable, "-c", script, "main", "capture", "--dry-run", "--all-history"]
        done = subprocess.run(argv, cwd=world.repo, stdout=subprocess.PIPE, stderr=follower, text=True, check=True)
        os.close(follower)
        follower = -1
        shown = b""
        while chunk := _read_some(leader):
            shown += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert b"click loaded: True" in shown and b"reading agent logs" in shown
    assert "dry run: would write 8 records" in done.stdout


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 16)
    except OSError:  # Linux: EIO once the other end is closed and everything was read
        return b""


def test_the_capture_command_starts_before_pygit2_is_loaded() -> None:
    """What the command needs before its worker forks must not load pygit2 (it would fork later)."""
    code = "import sys, gitokens.cli, gitokens.cli.capture, gitokens.capture; print('pygit2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_synthetic_message_without_tokens_makes_no_record(world: World) -> None:
    line = claude(
        session="S9", cwd=world.repo, branch="main", at=T0 + 1500, mid="msg_z", rid="req_z", model="<synthetic>"
    )
    write(claude_file(world.home, "-repo", "S9"), [line])
    run("capture", "--all-history")
    assert captured(world.repo) == expected(world)


def test_config_dirs_from_the_environment(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, codex_home = tmp_path / "claude-a", tmp_path / "claude-b", tmp_path / "codex-home"
    for folder, mid, tokens in ((first, "msg_a", 11), (second, "msg_b", 22)):
        line = claude(session="SA", cwd=world.repo, branch="main", at=T0 + 1500, mid=mid, rid="r", inp=tokens)
        write(folder / "projects" / "-repo" / "SA.jsonl", [line])
    rollout = codex_file(codex_home, "Z", T0 + 1400).relative_to(codex_home / ".codex")
    write(
        codex_home / rollout,
        [
            codex_meta("Z", world.repo, "main", T0 + 1400),
            '{"type":"event_msg","payload":{"type":"token_count","info":',
            codex_count(T0 + 1500, None, usage(9, 0, 1)),
        ],
    )
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{first}, {second}")
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    out = run("capture", "--all-history").output
    assert f"skipped 1 malformed line: {codex_home / rollout}:2" in out
    assert captured(world.repo)[world.c3] == [
        ("claude-code", "SA", "claude-sonnet-4-5-20250929", 33, 0, 0, 0, 0, None),
        ("codex", "Z", None, 9, 1, 0, 0, 0, None),
    ]


def _variant(change: Callable[[dict[str, Any]], object]) -> str:
    entry = json.loads(claude(session="SV", cwd="/w", branch="main", at=T0, mid="msg_v", rid="req_v", inp=5, out=2))
    change(entry)
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(_variant(lambda e: None), ("claude:msg_v:req_v", 5, None), id="usual"),
        pytest.param(_variant(lambda e: e.update(costUSD=0.25)), ("claude:msg_v:req_v", 5, 0.25), id="cost"),
        pytest.param(_variant(lambda e: e.update(costUSD="0.25")), ("claude:msg_v:req_v", 5, None), id="cost-text"),
        pytest.param(
            _variant(lambda e: e["message"].update(id=7)), ("claude-entry:uuid-msg_v-req_v-SV", 5, None), id="id-number"
        ),
        pytest.param(  # orjson refuses a lone surrogate; the standard library reads it
            _variant(lambda e: e["message"]["content"][0].update(text="\\ud800")).replace("\\\\ud800", "\\ud800"),
            ("claude:msg_v:req_v", 5, None),
            id="lone-surrogate",
        ),
        pytest.param(_variant(lambda e: e.update(type="user")), None, id="not-assistant"),
        pytest.param(_variant(lambda e: e.update(message="x", usage={"input_tokens": 5})), None, id="message-text"),
        pytest.param(_variant(lambda e: e["message"].update(usage=[5])), None, id="usage-list"),
        pytest.param(_variant(lambda e: e["message"].update(usage=None)), None, id="usage-null"),
        pytest.param('[{"message":{"usage":{"input_tokens":5}}}]', "bad", id="array"),
        pytest.param(_variant(lambda e: None)[:-40], "bad", id="cut-short"),
        pytest.param(_variant(lambda e: e["message"]["usage"].update(input_tokens=-1)), "bad", id="negative"),
        pytest.param(_variant(lambda e: e["message"]["usage"].update(input_tokens="5")), "bad", id="count-text"),
        pytest.param(_variant(lambda e: e.update(timestamp=None)), "bad", id="no-time"),
    ],
)
def test_each_shape_of_line_reads_as_the_standard_library_reads_it(
    line: str, expected: tuple[str, int, float | None] | str | None
) -> None:
    """A line is decoded field by field when it has the usual shape, else read whole; both agree."""
    data = b'{"type":"user"}\n' + line.encode("utf-8", "surrogatepass") + b"\n"
    entries, bad, copies = claude_reader.parse(data, 0, len(data))
    assert copies == 0
    if expected == "bad":
        assert (entries, bad) == ([], [16])
    elif expected is None:
        assert (entries, bad) == ([], [])
    else:
        key, inp, cost = expected
        assert bad == []
        [(message, cwd, _, _, _)] = entries
        assert (message.key, message.input_tokens, message.output_tokens, message.cost_usd, cwd) == (
            digest(key),
            inp,
            2,
            cost,
            "/w",
        )
