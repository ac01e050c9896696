"""The report model built from real repositories: attribution, merges, windows, filters."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import commit, git

from gitokens.errors import UsageError
from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.ledger.record import Record, new_id
from gitokens.report import pipeline

NOW = datetime(2025, 10, 15, 12, 0, tzinfo=UTC)
PRICES = "prices:\n  m-priced: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}\n"


def put(commit_id: str, branch: str | None, ts: str, **fields: Any) -> Record:
    data = {"id": new_id(), "ts": ts, "branch": branch, "commit": commit_id, "model": "m-priced", **fields}
    if "total_tokens" not in data:
        data.setdefault("input_tokens", 1000)
        data.setdefault("output_tokens", 100)
    record = Record.from_dict(data)
    store.append(open_repo(), {commit_id: [record]}, "test")
    return record


def make(**choices: Any) -> dict[str, Any]:
    repo = open_repo()
    return pipeline.make(repo, store.load(repo), now=NOW, tz_name="UTC", **choices).to_dict()


@pytest.fixture
def history(repo: Path) -> dict[str, str]:
    """main with a PR merge of feature/a, a squash-like commit, an open branch b, and records on each."""
    (repo / ".gitokens.yml").write_text(PRICES)
    base = commit(repo, "base", {".gitokens.yml": PRICES})
    put(base, "main", "2025-10-01T10:00:00Z")
    git(repo, "switch", "-q", "-c", "feature/a")
    a1 = commit(repo, "a1")
    put(a1, "feature/a", "2025-10-10T10:00:00Z", input_tokens=5000, author="ann@example.com")
    a2 = commit(repo, "a2")
    put(a2, "feature/a", "2025-10-14T10:00:00Z", model="gpt-4o", provider="openai", input_tokens=2000)
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "feature/a", "-m", "Merge pull request #12 from acme/feature/a\n\nAdd A")
    merge = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "-q", "-c", "b")
    b1 = commit(repo, "b1")
    put(b1, "b", "2025-10-15T09:00:00Z", total_tokens=10000)
    git(repo, "switch", "-q", "main")
    return {"base": base, "a1": a1, "a2": a2, "merge": merge, "b1": b1}


def test_totals_and_branches(history: dict[str, str]) -> None:
    report = make()
    assert report["schema"] == "gitokens.report/2"
    assert report["totals"]["sessions"] == 4
    assert report["totals"]["total_tokens"] == 1100 + 5100 + 2100 + 10000
    assert report["totals"]["estimated_tokens"] == 10000
    assert [(r["branch"], r["total_tokens"], r["current"]) for r in report["by_branch"]] == [
        ("b", 10000, False),
        ("feature/a", 7200, False),
        ("main", 1100, True),
    ]


def test_merge_brings_in_its_branch(history: dict[str, str]) -> None:
    [merge] = make()["by_merge"]
    assert (merge["commit"], merge["pr"], merge["source_branch"], merge["title"], merge["kind"]) == (
        history["merge"],
        12,
        "feature/a",
        "Add A",
        "merge",
    )
    assert merge["total_tokens"] == 7200 and merge["sessions"] == 2
    assert {r["model"]: r["total_tokens"] for r in merge["by_model"]} == {"m-priced": 5100, "gpt-4o": 2100}


def test_costs_use_prices_and_list_unpriced(history: dict[str, str]) -> None:
    report = make()
    assert report["unpriced_models"] == []
    by_model = {r["model"]: r for r in report["by_model"]}
    # 1000 input at $3/M + 100 output at $15/M, three times over (one with 5000 input), plus the estimated total
    expected = (1000 * 3 + 100 * 15 + 5000 * 3 + 100 * 15 + 8000 * 3 + 2000 * 15) / 1e6
    assert by_model["m-priced"]["cost_usd"] == pytest.approx(expected)


def test_unknown_model_cost_is_null_never_zero(repo: Path) -> None:
    head = commit(repo)
    put(head, "main", "2025-10-15T10:00:00Z", model="no-such-model-xyz")
    report = make()
    assert report["unpriced_models"] == ["no-such-model-xyz"]
    assert report["totals"]["cost_usd"] is None and report["totals"]["unpriced_sessions"] == 1


def test_windows_projection_and_insights(history: dict[str, str]) -> None:
    report = make()
    assert report["windows"]["last_24h"]["total_tokens"] == 10000  # a2 was 26 hours before NOW
    assert report["windows"]["last_7d"]["total_tokens"] == 10000 + 2100 + 5100
    assert report["windows"]["last_30d"]["total_tokens"] == 18300
    assert report["projection"]["month_to_date_tokens"] == 18300
    assert report["projection"]["projected_month_tokens"] == 18300 * 31 // 15
    assert report["insights"]["peak_day"] == "2025-10-15"
    assert report["insights"]["most_active_branch"] == "b"


@pytest.mark.parametrize(
    ("choices", "sessions"),
    [
        ({"branch": "feature/a"}, 2),
        ({"author": "ANN@"}, 1),
        ({"model": "gpt"}, 1),
        ({"since": "2025-10-14"}, 2),
        ({"since": "20251010", "until": "2025-10-14"}, 2),
        ({"since": "2d"}, 2),
        ({"days": 1}, 1),
    ],
    ids=lambda v: str(v),
)
def test_filters(history: dict[str, str], choices: dict[str, Any], sessions: int) -> None:
    assert make(**choices)["totals"]["sessions"] == sessions


def test_author_falls_back_to_the_commit_author(history: dict[str, str]) -> None:
    authors = {r["author"]: r["sessions"] for r in make()["by_author"]}
    assert authors == {"test@example.com": 3, "ann@example.com": 1}


def test_records_on_gone_commits_still_count(repo: Path) -> None:
    commit(repo)
    git(repo, "switch", "-q", "-c", "gone")
    doomed = commit(repo)
    put(doomed, "gone", "2025-10-15T10:00:00Z")
    git(repo, "switch", "-q", "main")
    git(repo, "branch", "-q", "-D", "gone")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    report = make()
    assert [(r["branch"], r["sessions"]) for r in report["by_branch"]] == [("gone", 1)]
    assert report["by_author"][0]["author"] == "(unknown)"


def test_empty_ledger_is_an_empty_report(repo: Path) -> None:
    commit(repo)
    report = make()
    assert report["totals"]["sessions"] == 0 and report["by_merge"] == [] and report["recent"] == []


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({"sections": "overall,nope"}, "unknown section 'nope'"),
        ({"since": "someday"}, "is not a date"),
        ({"days": 3, "since": "2025-01-01"}, "give --days or --since"),
        ({"tz_name": "Mars/Olympus"}, "unknown time zone"),
    ],
    ids=["section", "since", "days+since", "timezone"],
)
def test_bad_choices(repo: Path, choices: dict[str, Any], message: str) -> None:
    commit(repo)
    with pytest.raises(UsageError, match=message):
        choices.setdefault("tz_name", "UTC")
        pipeline.make(open_repo(), store.load(open_repo()), now=NOW, **choices)


def test_timezone_moves_days(repo: Path) -> None:
    head = commit(repo)
    put(head, "main", "2025-10-14T23:30:00Z")
    utc = make()["daily"][0]["date"]
    repo_ = open_repo()
    paris = pipeline.make(repo_, store.load(repo_), now=NOW, tz_name="Europe/Paris").to_dict()["daily"][0]["date"]
    assert (utc, paris) == ("2025-10-14", "2025-10-15")


def test_the_current_branch_can_be_named(history: dict[str, str]) -> None:
    git(Path.cwd(), "checkout", "-q", "--detach", history["a2"])  # as a CI checkout leaves it
    detached = make()
    named = make(current_branch="feature/a")
    assert detached["current_branch"] is None and detached["branch"]["sessions"] == 0
    assert named["current_branch"] == "feature/a"
    assert named["branch"]["name"] == "feature/a" and named["branch"]["sessions"] == 2


@pytest.fixture
def sessions(repo: Path) -> dict[str, str]:
    """Three agent sessions of model m-priced, each spread over commits and hours (seven records, two on
    another branch), and two manual records without a session: five sessions, nine records."""
    (repo / ".gitokens.yml").write_text(PRICES)
    first = commit(repo, "first", {".gitokens.yml": PRICES})
    second = commit(repo, "second")
    spread = {"s-1": ["01T09", "01T10", "02T09"], "s-2": ["03T09", "03T11"], "s-3": ["05T09", "06T09"]}
    for session, hours in spread.items():
        for n, hour in enumerate(hours):
            branch = "side" if session == "s-3" else "main"
            put((first, second)[n % 2], branch, f"2025-10-{hour}:00:00Z", session=session, requests=4)
    put(second, "main", "2025-10-05T12:00:00Z")
    put(second, "main", "2025-10-06T12:00:00Z", total_tokens=5000)
    return {"first": first, "second": second}


def test_sessions_are_counted_not_records(sessions: dict[str, str]) -> None:
    report = make(top=0)
    assert (report["totals"]["records"], report["totals"]["sessions"]) == (9, 5)
    [model] = report["by_model"]
    assert (model["records"], model["sessions"]) == (9, 5)
    branches = {row["branch"]: (row["records"], row["sessions"]) for row in report["by_branch"]}
    assert branches == {"main": (7, 4), "side": (2, 1)}
    assert {row["date"]: row["sessions"] for row in report["daily"]}["2025-10-01"] == 1  # s-1, twice that day
    # s-3 runs from Sunday into Monday: a session of each week, and once in the month.
    assert [(row["week"], row["sessions"]) for row in report["weekly"]] == [("2025-W40", 4), ("2025-W41", 2)]
    assert [row["sessions"] for row in report["monthly"]] == [5]
    stats = report["session_stats"]
    assert (stats["average_tokens"], stats["largest_tokens"], stats["smallest_tokens"]) == (13800 // 5, 5000, 1100)


def test_requests_and_tokens_per_request_per_model(sessions: dict[str, str]) -> None:
    [model] = make()["by_model"]
    assert (model["requests"], model["tokens_per_request"]) == (28, 7 * 1100 // 28)


def test_a_report_from_kept_prices_is_the_one_genai_prices_gives(repo: Path) -> None:
    """The second report reads its prices from the cache file, without importing genai-prices; the same
    report, dated prices (claude-sonnet-4-6's tiers end on 2026-03-13) and long-context tiers included."""
    base = commit(repo, "base")
    long_request = {"input_tokens": 10, "cache_read_tokens": 230_000, "cache_write_tokens": 9_000}
    for ts, fields in [
        ("2026-03-12T23:00:00Z", {"model": "claude-sonnet-4-6", "cache_write_1h_tokens": 4_000, **long_request}),
        ("2026-03-14T01:00:00Z", {"model": "claude-sonnet-4-6", "cache_write_1h_tokens": 4_000, **long_request}),
        ("2026-03-14T02:00:00Z", {"model": "gemini-2.5-pro", "provider": "google", "input_tokens": 250_000}),
        ("2026-03-14T03:00:00Z", {"model": "gpt-4o", "provider": "azure", "total_tokens": 50_000}),
        ("2026-03-14T04:00:00Z", {"model": "no-such-model-anywhere"}),
    ]:
        put(base, "main", ts, **fields)
    code = (
        "import json, sys; from datetime import datetime; from gitokens.git.repo import open_repo; "
        "from gitokens.ledger import store; from gitokens.report import pipeline; repo = open_repo(); "
        "report = pipeline.make(repo, store.load(repo), now=datetime.fromisoformat(sys.argv[1]), tz_name='UTC'); "
        "print(json.dumps([report.to_dict(), 'genai_prices' in sys.modules]))"
    )
    now = "2026-03-20T12:00:00+00:00"
    first, second = (json.loads(subprocess.check_output([sys.executable, "-c", code, now])) for _ in range(2))
    assert (first[1], second[1]) == (True, False)  # genai-prices answered the first, the cache the second
    assert second[0] == first[0]
    costs = {line["model"]: line["cost_usd"] for line in first[0]["by_model"]}
    assert costs["no-such-model-anywhere"] is None and costs["claude-sonnet-4-6"] > 0
