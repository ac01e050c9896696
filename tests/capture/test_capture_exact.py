"""Exact numbers from Claude Code logs shaped like real ones: every token and every cent agrees with the
calls read one by one, and the cost with genai-prices applied call by call."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agentlogs import (
    SONNET,
    claude,
    claude_file,
    codex_context,
    codex_file,
    codex_session,
    codex_tokens,
    commit_at,
    usage,
    write,
)
from conftest import git, run
from genai_prices import Usage, calc_price

from gitokens.capture import state as capture_state
from gitokens.config import Config
from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.ledger.record import Record
from gitokens.pricing import Pricer

NIGHT = int(datetime(2025, 10, 9, 23, 0, tzinfo=UTC).timestamp())  # an hour before midnight, UTC
OPUS = "claude-opus-4-1-20250805"
KINDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")


@dataclass
class Call:
    """One model call as the API billed it: what the records must add up to."""

    at: float
    mid: str
    inp: int
    out: int
    read: int = 0
    write: int = 0
    write_1h: int = 0
    model: str = SONNET
    session: str = "S1"

    def cost(self) -> float:
        usage = Usage(
            input_tokens=self.inp + self.read + self.write,
            output_tokens=self.out,
            cache_read_tokens=self.read,
            cache_write_tokens=self.write,
            cache_write_1h_tokens=self.write_1h,
        )
        when = datetime.fromtimestamp(self.at, UTC)
        return float(calc_price(usage, model_ref=self.model, genai_request_timestamp=when).total_price)

    def counts(self) -> tuple[int, ...]:
        return self.inp, self.out, self.read, self.write, self.write_1h


def streamed(call: Call, repo: Path, *, request: bool = True, branch: str | None = "main") -> list[str]:
    """The lines Claude Code writes for one call: a line per content block, the output growing (1, 1, all),
    the same message id (and request id, in the versions that write one), the last a few seconds later."""
    lines = []
    for n, out in enumerate((1, 1, call.out)):
        lines.append(
            claude(
                session=call.session,
                cwd=repo,
                branch=branch,
                at=call.at - 2 + n,
                mid=call.mid,
                rid=f"req_{call.mid}" if request else None,
                inp=call.inp,
                out=out,
                read=call.read,
                write=call.write,
                write_1h=call.write_1h,
                model=call.model,
                uuid=f"{call.mid}-block-{n}",
                stop=None if n < 2 else "tool_use",
            )
        )
    return lines


def records(repo: Path) -> list[Record]:
    return [e.record for e in store.load(open_repo(repo)).entries.values()]


def by_hour(recs: list[Record]) -> Counter[tuple[str, str | None]]:
    """Tokens of each kind per (UTC hour, model)."""
    out: Counter[tuple[str, str | None]] = Counter()
    for r in recs:
        for kind in KINDS:
            out[(f"{r.ts[:13]} {kind}", r.model)] += getattr(r, kind)
    return out


def expected_by_hour(calls: list[Call]) -> Counter[tuple[str, str | None]]:
    out: Counter[tuple[str, str | None]] = Counter()
    for c in calls:
        hour = datetime.fromtimestamp(c.at, UTC).strftime("%Y-%m-%dT%H")
        for kind, count in zip(KINDS, c.counts(), strict=True):
            out[(f"{hour} {kind}", c.model)] += count
    return out


@pytest.fixture
def night(repo: Path, hermetic: Path) -> tuple[Path, Path, list[Call]]:
    """A session running across midnight UTC with streamed calls, calls without a request id, long-context
    and short calls mixed, and 5-minute and 1-hour cache writes; commits before and after it."""
    commit_at(repo, NIGHT - 7200, "before")
    calls = [
        Call(NIGHT + 600, "m1", 3, 410, read=40_000, write=2_000),
        Call(NIGHT + 900, "m2", 5, 900, read=150_000, write=30_000, write_1h=30_000),
        Call(NIGHT + 1200, "m3", 4, 2_100, read=205_000, write=4_000),  # over 200k: long context
        Call(NIGHT + 1500, "m4", 2, 260, read=120_000, write=9_000, write_1h=4_000),
        Call(NIGHT + 3300, "m5", 6, 700, read=180_000, write=25_000),  # 23:55, long context; then midnight
        Call(NIGHT + 3900, "m6", 1, 333, read=230_000, write=1_000, write_1h=1_000),
        Call(NIGHT + 4200, "m7", 7, 120, read=23_000, model=OPUS, session="S2"),
    ]
    lines = []
    for n, call in enumerate(calls):
        lines += streamed(call, repo, request=n % 2 == 0)  # newer versions write no requestId
    log = claude_file(hermetic, "-repo", "S1")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("\n".join(lines))  # the last line has no newline after it
    commit_at(repo, NIGHT + 5000, "after")
    return repo, log, calls


def test_every_token_lands_in_its_hour_and_day(night: tuple[Path, Path, list[Call]]) -> None:
    repo, _, calls = night
    run("capture", "--all-history")
    recs = records(repo)
    assert by_hour(recs) == expected_by_hour(calls)
    assert all(r.requests for r in recs)
    assert sum(r.requests or 0 for r in recs) == len(calls)
    days = Counter(r.ts[:10] for r in recs for _ in range(r.output_tokens))
    assert days == {"2025-10-09": 410 + 900 + 2_100 + 260 + 700, "2025-10-10": 333 + 120}


def test_each_models_cost_is_the_calls_cost(night: tuple[Path, Path, list[Call]]) -> None:
    repo, _, calls = night
    run("capture", "--all-history")
    pricer = Pricer(Config(), "calculate")
    for model in (SONNET, OPUS):
        ours = sum(pricer.cost(r).usd or 0 for r in records(repo) if r.model == model)
        theirs = sum(c.cost() for c in calls if c.model == model)
        assert ours == pytest.approx(theirs, rel=1e-12)
    report = json.loads(run("report", "--format", "json", "--cost-mode", "calculate").output)
    assert report["totals"]["cost_usd"] == pytest.approx(sum(c.cost() for c in calls), abs=1e-6)  # 6 places


def test_a_record_sums_calls_of_one_price_tier_only(night: tuple[Path, Path, list[Call]]) -> None:
    repo, _, calls = night
    run("capture", "--all-history")

    def prompt(inp: int, read: int, write: int) -> int:
        return inp + read + write

    long_records = [
        r
        for r in records(repo)
        if prompt(r.input_tokens, r.cache_read_tokens, r.cache_write_tokens) > 200_000 * (r.requests or 1)
    ]
    long_calls = [c for c in calls if prompt(c.inp, c.read, c.write) > 200_000]
    assert sum(r.requests or 0 for r in long_records) == len(long_calls) == 3
    assert sum(r.output_tokens for r in long_records) == sum(c.out for c in long_calls)
    # Unsplit, the short calls of 23:xx would add up to more than 200,000 tokens of input a record.
    assert sum(prompt(c.inp, c.read, c.write) for c in calls[:2]) > 200_000


def test_a_streamed_call_counts_its_final_usage_once(repo: Path, hermetic: Path) -> None:
    commit_at(repo, NIGHT - 7200, "before")
    call = Call(NIGHT + 60, "m1", 3, 1_628, read=23_000)
    write(claude_file(hermetic, "-repo", "S1"), streamed(call, repo, request=False))
    commit_at(repo, NIGHT + 600, "after")
    run("capture", "--all-history")
    (only,) = records(repo)
    assert (only.output_tokens, only.cache_read_tokens, only.requests) == (1_628, 23_000, 1)


def test_a_last_line_without_newline_counts_once_when_the_file_grows(repo: Path, hermetic: Path) -> None:
    commit_at(repo, NIGHT - 7200, "before")
    log = claude_file(hermetic, "-repo", "S1")
    first, second = Call(NIGHT + 60, "m1", 3, 100), Call(NIGHT + 120, "m2", 4, 200)
    log.parent.mkdir(parents=True)
    log.write_text(streamed(first, repo)[-1])
    run("capture", "--all-history")
    with open(log, "a") as handle:
        handle.write("\n" + streamed(second, repo)[-1][:50])  # the next line, still being written
    run("capture")
    with open(log, "a") as handle:
        handle.write(streamed(second, repo)[-1][50:] + "\n")
    run("capture")
    commit_at(repo, NIGHT + 600, "after")
    run("capture")
    recs = records(repo)
    assert (sum(r.output_tokens for r in recs), sum(r.requests or 0 for r in recs)) == (300, 2)


def test_usage_on_a_detached_head_goes_to_the_commit_made_there(repo: Path, hermetic: Path) -> None:
    commit_at(repo, NIGHT - 7200, "base")
    git(repo, "checkout", "-q", "--detach")
    log = claude_file(hermetic, "-repo", "S1")
    write(log, streamed(Call(NIGHT + 60, "m1", 3, 100), repo, branch="HEAD"))
    detached = commit_at(repo, NIGHT + 600, "detached")
    write(log, streamed(Call(NIGHT + 900, "m2", 4, 200), repo, branch="HEAD"), append=True)
    run("capture", "--all-history")
    assert [(e.attached, e.record.output_tokens) for e in store.load(open_repo(repo)).entries.values()] == [
        (detached, 100)
    ]
    assert capture_state.load(open_repo(repo)).pending  # m2 waits for the next commit in this work tree
    later = commit_at(repo, NIGHT + 1200, "later")
    run("capture")
    placed = {e.record.output_tokens: e.attached for e in store.load(open_repo(repo)).entries.values()}
    assert placed == {100: detached, 200: later}
    assert all(r.branch is None for r in records(repo))


def test_a_call_arriving_late_is_taken_and_a_replay_of_a_left_out_one_is_not(repo: Path, hermetic: Path) -> None:
    commit_at(repo, NIGHT - 7200, "old")
    commit_at(repo, NIGHT, "parent")
    head = commit_at(repo, NIGHT + 3600, "head")
    old = Call(NIGHT - 3000, "m0", 1, 50)  # before the first capture's horizon (the commit under HEAD)
    write(claude_file(hermetic, "-repo", "S1"), streamed(old, repo) + streamed(Call(NIGHT + 60, "m1", 3, 100), repo))
    run("capture")
    assert sorted(r.output_tokens for r in records(repo)) == [100]
    late = Call(NIGHT - 1000, "m9", 2, 70, session="S9")  # synced later from another machine
    write(claude_file(hermetic, "-other", "S9"), streamed(late, repo) + streamed(old, repo))  # with a replay
    run("capture")
    assert sorted(r.output_tokens for r in records(repo)) == [70, 100]
    assert head
    run("capture", "--all-history")
    assert sorted(r.output_tokens for r in records(repo)) == [50, 70, 100]


def old_rule_record(repo: Path, commit: str, session: str, out: int) -> None:
    """A record as captures wrote them before (one per commit, session and model; no requests)."""
    line = json.dumps(
        {
            "v": 1,
            "id": f"claude-code:{out:032x}",
            "ts": "2025-10-09T23:30:00Z",
            "source": "claude-code",
            "commit": commit,
            "branch": "main",
            "model": SONNET,
            "provider": "anthropic",
            "session": session,
            "input_tokens": 1,
            "output_tokens": out,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "reasoning_tokens": 0,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    git(repo, "notes", "--ref=tokens", "append", "-m", line, commit)


def test_a_recapture_replaces_records_of_the_old_rules_without_counting_twice(
    night: tuple[Path, Path, list[Call]],
) -> None:
    repo, _, calls = night
    after = git(repo, "rev-parse", "HEAD").strip()
    old_rule_record(repo, after, "S1", 5)  # what the old rules made of S1: its streamed calls undercounted
    old_rule_record(repo, after, "S-gone", 77)  # a session whose logs are gone: nothing replaces it
    doctor = run("doctor")
    assert "--recapture" in doctor.output
    result = run("capture", "--recapture")
    assert "replaced 1 record" in result.output
    recs = records(repo)
    assert [r.output_tokens for r in recs if r.session == "S-gone"] == [77]
    assert by_hour([r for r in recs if r.session != "S-gone"]) == expected_by_hour(calls)
    again = run("capture", "--recapture")
    assert "wrote 0 records" in again.output and records(repo) == recs


def test_a_call_naming_no_model_is_recorded_unpriced_and_said(repo: Path, hermetic: Path) -> None:
    commit_at(repo, NIGHT - 7200, "before")
    write(claude_file(hermetic, "-repo", "S1"), streamed(Call(NIGHT + 60, "m1", 3, 100, model=""), repo))
    commit_at(repo, NIGHT + 600, "after")
    result = run("capture", "--all-history")
    assert "1 call without a model" in result.output
    (only,) = records(repo)
    assert only.model is None and Pricer(Config(), "calculate").cost(only).usd is None
    report = run("report", "--format", "json").output
    assert "(unknown model)" in report


@pytest.mark.parametrize("when", ["1999-12-31T23:59:59.000Z", "9999-12-31T23:59:59.000Z"], ids=["1999", "9999"])
def test_a_call_dated_outside_the_ledgers_range_is_a_malformed_line(repo: Path, hermetic: Path, when: str) -> None:
    commit_at(repo, NIGHT - 7200, "before")
    good = streamed(Call(NIGHT + 60, "m1", 3, 100), repo)[-1]
    bad = good.replace('"msg_', '"bad_').replace(json.loads(good)["timestamp"], when)
    log = write(claude_file(hermetic, "-repo", "S1"), [good, bad])
    commit_at(repo, NIGHT + 600, "after")
    result = run("capture", "--all-history")
    assert f"skipped 1 malformed line: {log}:2" in result.output
    assert [r.output_tokens for r in records(repo)] == [100]


def test_a_codex_session_outside_any_branch_goes_to_the_commit_made_in_its_work_tree(
    repo: Path, hermetic: Path
) -> None:
    commit_at(repo, NIGHT - 7200, "base")
    git(repo, "checkout", "-q", "--detach")
    first = usage(5000, 1000, 300, 100)
    lines = [
        codex_session("X", repo, NIGHT, git=False),  # Codex leaves git out when it finds no branch
        codex_context("gpt-5-codex", NIGHT + 1, repo),
        codex_tokens(NIGHT + 60, first, first),
    ]
    write(codex_file(hermetic, "X", NIGHT), lines)
    detached = commit_at(repo, NIGHT + 600, "detached")
    run("capture", "--all-history")
    [entry] = store.load(open_repo(repo)).entries.values()
    assert (entry.attached, entry.record.branch, entry.record.input_tokens, entry.record.output_tokens) == (
        detached,
        None,
        4000,
        300,
    )
