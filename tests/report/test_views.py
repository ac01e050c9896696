"""The report's newer views, from real repositories: sessions, the per-model breakdown of the trend tables,
hours of the day, two periods compared, --order and --color."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import commit, git, run
from test_fmt import on_a_terminal

from gitokens.errors import UsageError
from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.ledger.record import Record
from gitokens.report import filters, pipeline, render
from gitokens.report.model import Report

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
PRICES = (
    "prices:\n  m-one: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}\n  m-two: {input: 1, output: 2}\n"
)


def put(commit_id: str, n: int, ts: str, branch: str = "feat", **fields: Any) -> None:
    data = {"id": f"rec-{n:02d}", "ts": ts, "branch": branch, "commit": commit_id, "model": "m-one", **fields}
    store.append(open_repo(), {commit_id: [Record.from_dict(data)]}, "test")


@pytest.fixture
def ledger(repo: Path) -> dict[str, str]:
    """Session s-a (claude-code) over two commits and models on feat, session s-b (codex) on main, a record
    without a session in November and a session s-c in November on main."""
    base = commit(repo, "base", {".gitokens.yml": PRICES})
    git(repo, "switch", "-q", "-c", "feat")
    c1, c2 = commit(repo, "one"), commit(repo, "two")
    put(c1, 1, "2025-10-10T14:10:00Z", source="claude-code", session="s-a", input_tokens=1000, output_tokens=100)
    put(c1, 2, "2025-10-10T14:50:00Z", source="claude-code", session="s-a", model="m-two", input_tokens=4000,
        output_tokens=500, cache_read_tokens=0)  # fmt: skip
    put(c2, 3, "2025-10-10T15:20:00Z", source="claude-code", session="s-a", input_tokens=2000, output_tokens=200,
        cache_read_tokens=10000, cache_write_tokens=1000)  # fmt: skip
    git(repo, "switch", "-q", "main")
    put(base, 4, "2025-10-12T09:00:00Z", branch="main", source="codex", session="s-b", model="m-two",
        input_tokens=6000, output_tokens=1000)  # fmt: skip
    put(base, 5, "2025-11-03T22:00:00Z", branch="main", input_tokens=500, output_tokens=50)
    put(base, 6, "2025-11-18T10:30:00Z", branch="main", source="claude-code", session="s-c", input_tokens=3000,
        output_tokens=300)  # fmt: skip
    return {"base": base, "c1": c1, "c2": c2}


def make(**choices: Any) -> Report:
    repo = open_repo()
    return pipeline.make(repo, store.load(repo), now=NOW, tz_name="UTC", **choices)


def cost(inp: int, out: int, read: int = 0, write: int = 0, model: str = "m-one") -> float:
    """The price overrides above, per token."""
    rates = {"m-one": (3, 15, 0.3, 3.75), "m-two": (1, 2, 1, 1)}[model]
    return sum(n * r for n, r in zip((inp, out, read, write), rates, strict=True)) / 1e6


# -- sessions --------------------------------------------------------------------------------------


def test_sessions_newest_first_with_what_each_did(ledger: dict[str, str]) -> None:
    rows = make(sections="sessions").to_dict()["by_session"]
    assert [r["session"] for r in rows] == ["s-c", None, "s-b", "s-a"]
    a = rows[3]
    assert a["sources"] == ["claude-code"] and a["branches"] == ["feat"] and a["models"] == ["m-one", "m-two"]
    assert a["commits"] == [ledger["c1"], ledger["c2"]]
    assert (a["first"], a["last"]) == ("2025-10-10T14:10:00Z", "2025-10-10T15:20:00Z")
    assert (a["records"], a["input_tokens"], a["output_tokens"]) == (3, 7000, 800)
    assert (a["cache_read_tokens"], a["cache_write_tokens"], a["total_tokens"]) == (10000, 1000, 18800)
    expected = cost(1000, 100) + cost(4000, 500, model="m-two") + cost(2000, 200, 10000, 1000)
    assert a["cost_usd"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("choices", "sessions", "omitted"),
    [
        ({"order": "asc"}, ["s-a", "s-b", None, "s-c"], 0),
        ({"top": 2}, ["s-c", None], 2),
        ({"top": 2, "order": "asc"}, [None, "s-c"], 2),
        ({"branch": "feat"}, ["s-a"], 0),
        ({"since": "2025-10-11", "until": "2025-11-10"}, [None, "s-b"], 0),
    ],
    ids=["asc", "top", "top-asc", "branch", "since-until"],
)
def test_sessions_order_top_and_filters(
    ledger: dict[str, str], choices: dict[str, Any], sessions: list[str | None], omitted: int
) -> None:
    data = make(sections="sessions", **choices).to_dict()
    assert [r["session"] for r in data["by_session"]] == sessions
    assert data["omitted"].get("by_session", 0) == omitted


def test_sessions_in_text_markdown_and_csv(ledger: dict[str, str]) -> None:
    report = make(sections="sessions")
    text = render.render(report, "text", width=None)
    line = next(line for line in text.splitlines() if line.startswith("  2025-10-10 14:10"))
    assert line.split()[2:5] == ["1h", "10m", "claude-code"] and "m-one, m-two" in line and "18,800" in line
    assert f"{ledger['c1'][:10]} +1" in line
    assert "| 2025-10-10 14:10-15:20 | claude-code | feat |" in render.render(report, "markdown")
    rows = list(csv.DictReader(io.StringIO(render.render(report, "csv"))))
    assert [r["session"] for r in rows] == ["s-c", "", "s-b", "s-a"]
    assert rows[3]["commits"] == f"{ledger['c1']} {ledger['c2']}" and rows[3]["total_tokens"] == "18800"


# -- the per-model breakdown -----------------------------------------------------------------------


def test_breakdown_gives_each_period_its_models(ledger: dict[str, str]) -> None:
    data = make(breakdown=True).to_dict()
    day = next(r for r in data["daily"] if r["date"] == "2025-10-10")
    assert [(m["model"], m["records"], m["total_tokens"]) for m in day["models"]] == [
        ("m-one", 2, 14300),
        ("m-two", 1, 4500),
    ]
    october = next(r for r in data["monthly"] if r["month"] == "2025-10")
    assert [(m["model"], m["sessions"], m["total_tokens"]) for m in october["models"]] == [
        ("m-one", 1, 14300),
        ("m-two", 2, 11500),
    ]
    assert "models" not in make().to_dict()["daily"][0]


def test_breakdown_in_text_markdown_and_csv(ledger: dict[str, str]) -> None:
    report = make(breakdown=True, by="month", sections="trends")
    text = render.render(report, "text").splitlines()
    at = text.index(next(line for line in text if line.startswith("  2025-10 ")))
    assert text[at + 1].split() == ["└", "m-one", "1", "14,300", filters.usd(cost(3000, 300, 10000, 1000))]
    assert text[at + 2].split()[:4] == ["└", "m-two", "2", "11,500"]
    assert "| ↳ m-two | 2 | 11,500 |" in render.render(report, "markdown")
    rows = list(csv.DictReader(io.StringIO(render.render(report, "csv"))))
    assert [(r["month"], r["model"], r["total_tokens"]) for r in rows] == [
        ("2025-10", "", "25800"),
        ("2025-10", "m-one", "14300"),
        ("2025-10", "m-two", "11500"),
        ("2025-11", "", "3850"),
        ("2025-11", "m-one", "3850"),
    ]


@pytest.mark.parametrize(("order", "first"), [(None, "2025-10-10"), ("asc", "2025-10-10"), ("desc", "2025-11-18")])
def test_order_of_the_trend_table(ledger: dict[str, str], order: str | None, first: str) -> None:
    data = make(order=order).to_dict()
    assert data["daily"][0]["date"] == first
    text = render.render(make(order=order, sections="trends"), "text")
    assert text.split("Trends (daily)")[1].splitlines()[2].startswith(f"  {first}")


# -- hours of the day ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "busy", "span"),
    [("UTC", {14: 5600, 15: 13200, 9: 7000, 22: 550, 10: 3300}, ("14:00", "16:00")),
     ("Asia/Tokyo", {23: 5600, 0: 13200, 18: 7000, 7: 550, 19: 3300}, ("23:00", "01:00"))],
    ids=["utc", "tokyo"],
)  # fmt: skip
def test_hours_in_the_report_zone(ledger: dict[str, str], zone: str, busy: dict[int, int], span: tuple) -> None:
    repo = open_repo()
    report = pipeline.make(repo, store.load(repo), now=NOW, tz_name=zone, sections="hours")
    hours = report.to_dict()["hours"]
    assert {r["hour"]: r["total_tokens"] for r in hours["rows"] if r["total_tokens"]} == busy
    assert hours["busiest"]["total_tokens"] == 18800 and hours["busiest"]["hours"] == 2
    text = render.render(report, "text")
    share = f"{100 * 18800 / 29650:.1f}%"
    assert f"Most tokens between {span[0]} and {span[1]}: {share} of them (18,800 tokens)" in text
    bars = next(line for line in text.splitlines() if line.startswith("  Tokens"))
    assert len(bars) <= 80 and bars.count("██") == 1


def test_hours_count_sessions_per_hour(ledger: dict[str, str]) -> None:
    rows = make(sections="hours").to_dict()["hours"]["rows"]
    assert (rows[14]["sessions"], rows[14]["records"], rows[15]["sessions"]) == (1, 2, 1)
    assert sum(r["records"] for r in rows) == 6 and len(rows) == 24


# -- comparing two periods -------------------------------------------------------------------------


def test_compare_two_months(ledger: dict[str, str]) -> None:
    data = make(compare=("2025-10", "2025-11")).to_dict()
    c = data["compare"]
    assert [(p["label"], p["since"], p["until"], p["days"]) for p in c["periods"]] == [
        ("2025-10", "2025-10-01", "2025-10-31", 31),
        ("2025-11", "2025-11-01", "2025-11-30", 30),
    ]
    t = c["totals"]
    assert (t["a"]["total_tokens"], t["b"]["total_tokens"], t["change"]["total_tokens"]) == (25800, 3850, -21950)
    assert t["change"]["total_tokens_pct"] == round(-21950 / 25800 * 100, 1)
    assert (t["a"]["sessions"], t["b"]["sessions"]) == (2, 2)
    assert [(r["model"], r["a"]["total_tokens"], r["b"]["total_tokens"]) for r in c["by_model"]] == [
        ("m-one", 14300, 3850),
        ("m-two", 11500, 0),
    ]
    feat = next(r for r in c["by_branch"] if r["branch"] == "feat")
    assert feat["b"]["cost_usd"] == 0 and feat["change"]["total_tokens_pct"] == -100.0
    assert data["sections"] == ["overall", "models", "branches", "authors"]


def test_compare_one_period_with_the_one_before(ledger: dict[str, str]) -> None:
    c = make(compare=("30d",)).to_dict()["compare"]
    assert [(p["label"], p["since"], p["until"]) for p in c["periods"]] == [
        ("before 30d", "2025-09-22", "2025-10-21"),
        ("30d", "2025-10-22", "2025-11-20"),
    ]
    assert (c["totals"]["a"]["total_tokens"], c["totals"]["b"]["total_tokens"]) == (25800, 3850)
    month = make(compare=("2025-11",)).to_dict()["compare"]["periods"][0]
    assert (month["label"], month["since"], month["until"]) == ("2025-10", "2025-10-01", "2025-10-31")


def test_compare_in_text_and_markdown(ledger: dict[str, str]) -> None:
    report = make(compare=("2025-10", "2025-11"))
    text = render.render(report, "text")
    assert "2025-10 against 2025-11" in text
    assert "  Total tokens          25,800          3,850        -21,950   -85.1%" in text
    assert "Branches" in text and "Recent activity" not in text and "Trends" not in text
    markdown = render.render(report, "markdown")
    assert "| Total tokens | 25,800 | 3,850 | -21,950 | -85.1% |" in markdown
    html = render.render(report, "html")
    cells = ["Total tokens", "25,800", "3,850", "-21,950", "-85.1%"]
    assert "<td>" + '</td><td class="num">'.join(cells) + "</td>" in html
    assert 'id="branches"' in html and 'id="recent"' not in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compare", "2025-10", "--since", "7d"], "give --compare or --since/--until/--days, not both"),
        (["--compare", "2025-13"], "--compare: '2025-13' is not a period"),
        (["--compare", "2025-11-05..2025-11-01"], "ends before it starts"),
        (["--compare", "2025-10", "--format", "csv"], "--compare has no csv rendering"),
        (["--compare", "2025-10", "--sections", "recent"], "unknown section 'recent' under --compare"),
        (["2025-10"], "unexpected argument '2025-10'"),
    ],
    ids=["with-since", "bad-month", "backwards", "csv", "section", "no-compare"],
)
def test_compare_refuses_bad_input(ledger: dict[str, str], args: list[str], message: str) -> None:
    result = run("report", *args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_compare_on_the_command_line(ledger: dict[str, str]) -> None:
    data = json.loads(run("report", "--compare", "2025-10", "2025-11", "--format", "json").output)
    assert data["compare"]["totals"]["change"]["records"] == -2
    assert data["filters"] == {"compare": "2025-10 2025-11"}


def test_compare_with_nothing_in_either_period(ledger: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        make(compare=("2025-10", "2025-11", "2025-12"))
    text = render.render(make(compare=("2024-01", "2024-02")), "text")
    assert "No token records in either period." in text


# -- colour ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "no_color", "ansi"),
    [([], False, False), (["--color", "always"], True, True), (["--color", "never"], False, False),
     (["--color", "auto"], False, False)],
    ids=["default-not-a-tty", "always-despite-no-color", "never", "auto-not-a-tty"],
)  # fmt: skip
def test_color_option(
    ledger: dict[str, str], monkeypatch: pytest.MonkeyPatch, args: list[str], no_color: bool, ansi: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    out = run("report", "--sections", "overall", *args).output
    assert ("\x1b[1mOverall\x1b[0m" in out) == ansi


@pytest.mark.parametrize(
    ("args", "no_color", "ansi"),
    [([], False, True), ([], True, False), (["--color", "auto"], True, False), (["--color", "never"], False, False),
     (["--color", "always"], True, True)],
    ids=["auto", "auto-no-color", "explicit-auto-no-color", "never", "always-no-color"],
)  # fmt: skip
def test_color_on_a_terminal(
    ledger: dict[str, str], repo: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], no_color: bool, ansi: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    code, out = on_a_terminal(repo, "report", "--sections", "overall", *args)
    assert code == 0 and (b"\x1b[1mOverall\x1b[0m" in out) == ansi
