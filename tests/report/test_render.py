"""Renderings of the report: golden files per format, and the promises about untrusted ledger text.

The golden report comes from a real repository built in tmp_path with fixed dates, identities, record ids
and price overrides, so neither the machine, the day nor the genai-prices data changes it. After an intended
change, regenerate the golden files and review their diff:

    GITOKENS_UPDATE_GOLDEN=1 pytest tests/test_render.py
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import difflib
import io
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest
from conftest import commit, git, run
from hypothesis import given, settings
from hypothesis import strategies as st

from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.ledger.record import Record
from gitokens.report import filters, pipeline, render
from gitokens.report.model import Report, Row

GOLDEN = Path(__file__).parent / "golden"
UPDATE = bool(os.environ.get("GITOKENS_UPDATE_GOLDEN"))
HOSTILE = "<script>alert(1)</script> [x](http://evil) ![i](http://evil/i.png) @everyone | pipe"
NOW = datetime(2025, 9, 30, 12, 0, tzinfo=UTC)
CONFIG = """\
default_branch: main
prices:
  claude-sonnet-4-5: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75, cache_write_1h: 6}
  gpt-4o: {input: 2.5, output: 10, cache_read: 1.25}
"""
# Commit ids end up in the golden files: no host configuration, fixed identities (and dates, per commit).
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
SONNET = "claude-sonnet-4-5"


def commit_at(cwd: Path, when: str, message: str, files: dict[str, str] | None = None) -> str:
    """A commit with a fixed date (``commit()`` dates commits by test order, which golden files cannot use)."""
    for name, text in (files or {f"{when[:10]}.txt": f"{message}\n"}).items():
        (cwd / name).write_text(text)
    git(cwd, "add", "-A", env=GIT_ENV)
    stamp = {"GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
    git(cwd, "commit", "-q", "-m", message, env={**GIT_ENV, **stamp})
    return git(cwd, "rev-parse", "HEAD").strip()


def merge_at(cwd: Path, when: str, branch: str, message: str) -> str:
    stamp = {"GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
    git(cwd, "merge", "-q", "--no-ff", "-m", message, branch, env={**GIT_ENV, **stamp})
    return git(cwd, "rev-parse", "HEAD").strip()


ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
SONNET, GPT = "claude-sonnet-4-5", "gpt-4o"
# (commit, ts, branch, fields): record n is rec-0n; the commit is named as in demo_repo.
RECORDS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("c0", "2025-09-01T08:40:00Z", "main", {"model": SONNET, "input_tokens": 12000, "output_tokens": 3000,
                                            "author": ALICE, "endpoint": "chat", "note": "Project skeleton"}),
    ("c1", "2025-09-03T10:15:00Z", "feature-x", {"model": SONNET, "input_tokens": 2000, "output_tokens": 4000,
                                                 "cache_read_tokens": 150000, "cache_write_tokens": 20000,
                                                 "cache_write_1h_tokens": 5000, "requests": 4,
                                                 "author": BOB, "source": "claude-code", "session": "s-1",
                                                 "endpoint": "messages"}),
    ("c1", "2025-09-03T10:50:00Z", "feature-x", {"model": GPT, "input_tokens": 8000, "output_tokens": 1200,
                                                 "author": BOB, "endpoint": "review"}),
    ("c2", "2025-09-05T14:00:00Z", "feature-x", {"model": SONNET, "total_tokens": 54161, "author": BOB,
                                                 "note": "OAuth2 integration"}),
    ("c3", "2025-09-08T09:30:00Z", "main", {"model": "acme-llm-9000", "input_tokens": 5000, "output_tokens": 500,
                                            "author": CAROL}),
    ("m1", "2025-09-10T16:55:00Z", "main", {"model": GPT, "input_tokens": 3000, "output_tokens": 400,
                                            "author": ALICE, "source": "ci", "endpoint": "review"}),
    ("c4", "2025-09-20T07:30:00Z", HOSTILE, {"model": GPT, "input_tokens": 1500, "output_tokens": 700,
                                             "author": CAROL, "note": HOSTILE}),
    ("c4", "2025-09-19T18:00:00Z", "fix/login", {"model": GPT, "input_tokens": 900, "output_tokens": 100,
                                                 "author": CAROL, "source": "api", "cost_usd": 0.42}),
    ("c5", "2025-09-24T12:00:00Z", "main", {"model": SONNET, "input_tokens": 4000, "output_tokens": 2500,
                                            "author": ALICE}),
    ("c5", "2025-09-29T16:00:00Z", "main", {"model": SONNET, "input_tokens": 9000, "output_tokens": 6000,
                                            "cache_read_tokens": 40000, "reasoning_tokens": 1000,
                                            "author": ALICE, "source": "claude-code", "session": "s-2",
                                            "requests": 6}),
    ("c6", "2025-09-30T10:00:00Z", "feature-y", {"model": SONNET, "input_tokens": 3000, "output_tokens": 900,
                                                 "author": BOB, "source": "claude-code", "endpoint": "messages",
                                                 "session": "s-2", "requests": 2}),
]  # fmt: skip


def demo_repo(path: Path) -> Path:
    """Four branches, a pull-request merge and a branch merge, an unpriced model, a total-only record,
    a record with a reported cost, hostile text and one invalid ledger line; HEAD on feature-y."""
    git(path.parent, "init", "-q", "-b", "main", str(path), env=GIT_ENV)
    c: dict[str, str] = {}
    c["c0"] = commit_at(path, "2025-09-01T09:00:00", "Initial commit", {".gitokens.yml": CONFIG})
    git(path, "checkout", "-q", "-b", "feature-x")
    c["c1"] = commit_at(path, "2025-09-03T11:00:00", "Add the X parser")
    c["c2"] = commit_at(path, "2025-09-05T15:00:00", "Test the X parser")
    git(path, "checkout", "-q", "main")
    c["c3"] = commit_at(path, "2025-09-08T10:00:00", "Tidy the README")
    c["m1"] = merge_at(path, "2025-09-10T17:00:00", "feature-x", "Merge pull request #12 from org/feature-x\n\nParse X")
    git(path, "checkout", "-q", "-b", "fix/login")
    c["c4"] = commit_at(path, "2025-09-20T08:00:00", "Fix the login form")
    git(path, "checkout", "-q", "main")
    c["m2"] = merge_at(path, "2025-09-21T09:00:00", "fix/login", "Merge branch 'fix/login'")
    c["c5"] = commit_at(path, "2025-09-29T16:30:00", "Speed up the report")
    git(path, "checkout", "-q", "-b", "feature-y")
    c["c6"] = commit_at(path, "2025-09-30T10:30:00", "Start feature Y")
    records: dict[str, list[Record]] = {}
    for n, (name, ts, branch, fields) in enumerate(RECORDS, start=1):
        data = {"id": f"rec-{n:02d}", "ts": ts, "branch": branch, "commit": c[name], "source": "manual", **fields}
        records.setdefault(c[name], []).append(Record.from_dict(data))
    repo = open_repo(path)
    store.append(repo, records, "gitokens: test records")
    repo.append_notes({c["c3"]: [b"this is not a record"]}, "a line written by hand", timeout=10.0)
    return path


def make(path: Path, **choices: Any) -> Report:
    """The report (with its records, for CSV) of the demo repository at ``path``, at NOW, in UTC."""
    repo = open_repo(path)
    report = pipeline.make(repo, store.load(repo), now=NOW, tz_name="UTC", with_records=True, **choices)
    assert report.records is not None
    report.records = list(report.records)  # the tests render one report several times
    return report


def demo_report(tmp_path: Path) -> Report:
    """The golden report of a fresh demo repository under ``tmp_path``."""
    return make(demo_repo(tmp_path / "demo-repo"))


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_repo(tmp_path_factory.mktemp("golden") / "demo-repo")


@pytest.fixture(scope="module")
def demo(demo_path: Path) -> Report:
    return make(demo_path)


def ragged_tables(markdown: str) -> list[str]:
    """Markdown tables whose lines do not all have the same number of cells (an unescaped | split one)."""
    tables = re.findall(r"(?m)(?:^\|.*\n)+", markdown)
    return [t for t in tables if len({len(re.findall(r"(?<!\\)\|", line)) for line in t.splitlines()}) != 1]


# -- golden files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("text", "report.txt"),
        ("markdown", "report.md"),
        ("html", "report.html"),
        ("json", "report.json"),
        ("csv", "report.csv"),
    ],
    ids=["text", "markdown", "html", "json", "csv"],
)
def test_golden(demo: Report, fmt: str, name: str) -> None:
    out = render.render(demo, fmt)
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(out, encoding="utf-8", newline="")
    expected = golden.read_bytes().decode() if golden.exists() else ""
    if out != expected:
        diff = difflib.unified_diff(expected.splitlines(True), out.splitlines(True), str(golden), "rendered", n=2)
        hint = "differs from its golden file; if intended: GITOKENS_UPDATE_GOLDEN=1 pytest tests/test_render.py"
        pytest.fail(f"{fmt} {hint}\n" + "".join(diff), pytrace=False)


def test_json_is_the_model(demo: Report) -> None:
    data = json.loads(render.render(demo, "json"))
    assert data == json.loads(json.dumps(demo.to_dict()))
    assert data["schema"] == "gitokens.report/2"
    assert data["totals"]["unpriced_sessions"] == 1 and data["unpriced_models"] == ["acme-llm-9000"]


# Values whose rendering orjson and the standard library could disagree on, by name.
AWKWARD = {
    "1e-05": 1e-05, "-1.5e-07": -1.5e-07, "9.9e-05": 9.9e-05, "1e-4": 0.0001, "1e16": 1e16, "subnormal": 5e-324,
    "-0": -0.0, "2^63": 2**63, "-2^63": -(2**63), "2^70": 2**70, "in-text": 'x": 0.00001', "surrogate": "\ud800",
    "int-key": {1: 2}, "10.00001": 10.00001, "1.5e-10": 1.5e-10, "text-e-5": "e-5",
}  # fmt: skip


@pytest.mark.parametrize("value", list(AWKWARD.values()), ids=list(AWKWARD))
def test_to_json_is_the_standard_library(value: Any) -> None:
    data = {"value": value, "list": [value, {"nested": value}], "empty": [], "none": {}}
    assert render.to_json(data) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


SCALARS = st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.text(max_size=20)
JSON_VALUES = st.recursive(
    SCALARS | st.floats(allow_nan=False, allow_infinity=False),  # a report holds no NaN or infinity
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_to_json_is_the_standard_library_on_anything(data: Any) -> None:
    assert render.to_json(data) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# -- untrusted text --------------------------------------------------------------------------------

PLACES = {
    "branch": lambda r: setattr(r.by_branch.rows[0], "key", HOSTILE),
    "note": lambda r: r.recent[0].update(note=HOSTILE),
    "model": lambda r: setattr(r.by_model.rows[0], "key", HOSTILE),
    "author": lambda r: setattr(r.by_author.rows[0], "key", HOSTILE),
    "merge title": lambda r: setattr(r.by_merge[0], "title", HOSTILE),
    "merge branch": lambda r: setattr(r.by_merge[0], "source_branch", HOSTILE),
    "unpriced model": lambda r: r.unpriced_models.append(HOSTILE),
    "repository": lambda r: setattr(r, "repository", HOSTILE),
    "session branches": lambda r: r.by_session.rows[0].extra.update(branches=[HOSTILE, "main"]),
    "session models": lambda r: r.by_session.rows[0].extra.update(models=[HOSTILE]),
    "session agent": lambda r: r.by_session.rows[0].extra.update(sources=[HOSTILE]),
}


@pytest.mark.parametrize("place", list(PLACES), ids=list(PLACES))
def test_markdown_never_injects(demo: Report, place: str) -> None:
    report = copy.deepcopy(demo)
    PLACES[place](report)
    out = render.render(report, "markdown")
    assert "alert\\(1\\)" in out, "the hostile text is shown, escaped"
    for raw in ("<script", "](http", "![", "](", "http://", "<"):
        assert raw not in out.replace("<sub>", "").replace("</sub>", ""), raw
    assert not re.search(r"@everyone", out)
    assert ragged_tables(out) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\nb\r\nc\td", "a b c d"),
        ("`code` *em* _u_ ~s~", "\\`code\\` \\*em\\* \\_u\\_ \\~s\\~"),
        ("a | b", "a \\| b"),
        ("<b>&amp;</b>", "&lt;b&gt;&amp;amp;&lt;/b&gt;"),
        ("@team see #12", "`@team see #12`"),
        ("https://x.io www.y.io", "`https://x.io www.y.io`"),
        ("dev@example.com", "`dev@example.com`"),
        ("a | b@c", "`a \\| b@c`"),
        ("<b>@team</b>", "&lt;b&gt;@\u200dteam&lt;/b&gt;"),
        ("$x^2$", "\\$x^2\\$"),
    ],
    ids=["newlines", "emphasis", "pipe", "html", "mention", "autolink", "email", "pipe-in-a-span", "markup", "math"],
)
def test_md_escapes(text: str, expected: str) -> None:
    assert filters.md(text) == expected


def test_markdown_comparison_never_injects(demo_path: Path) -> None:
    """The demo's hostile branch (rec-07, 2025-09-20) in a comparison of the weeks before and after."""
    out = render.render(make(demo_path, compare=("2025-09-14..2025-09-20", "2025-09-21..2025-09-27")), "markdown")
    assert "alert\\(1\\)" in out and "| 2,200 | 0 | -2,200 | -100.0% |" in out
    for raw in ("<script", "](http", "![", "http://"):
        assert raw not in out, raw
    assert not re.search(r"@everyone", out) and ragged_tables(out) == []
    html = render.render(make(demo_path, compare=("2025-09-14..2025-09-20",)), "html")
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<a " not in html and "<img" not in html and "src=" not in html


def test_html_escapes_hostile_text(demo: Report) -> None:
    out = render.render(demo, "html")
    assert "<script" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert 'http-equiv="Content-Security-Policy" content="default-src \'none\'' in out
    assert "<a " not in out and "<img" not in out and "src=" not in out


def test_templates_look_into_dicts_as_jinja_does() -> None:
    """A key is found as ``d.key``; ``dict``'s own attributes come first; a missing key is undefined."""
    env = render._environment()
    shadowed = {"total": 3, "keys": "a key named keys", "items": 1}
    assert env.from_string("{{ d.total }} {{ d.keys is callable }} {{ d.items()|list|length }}").render(d=shadowed) == (
        "3 True 3"
    )
    with pytest.raises(jinja2.UndefinedError, match="'dict object' has no attribute 'missing'"):
        env.from_string("{{ d.missing }}").render(d=shadowed)


def test_text_squeezes_control_characters(demo: Report) -> None:
    report = copy.deepcopy(demo)
    report.recent[0]["note"] = "line one\n\x1b[31mred\x1b[0m\rline two"
    out = render.render(report, "text", width=None)  # --wide: the Note column is the first to go at 80
    assert "\x1b" not in out and "\r" not in out
    assert "line one [31mred [0m line two" in out


# -- size, CSV, colour -----------------------------------------------------------------------------


def huge(report: Report, part: str, n: int) -> Report:
    big = copy.deepcopy(report)
    if part in ("merges", "everything"):
        big.by_merge = [dataclasses.replace(big.by_merge[1], title=f"{HOSTILE} {i}" * 5) for i in range(n)]
    if part in ("branches", "everything"):
        row = big.by_branch.rows[0]
        big.by_branch.rows = [Row(f"b{i}-" + "x" * 300, row.totals, row.extra) for i in range(n)]
    if part in ("models", "everything"):
        big.unpriced_models = [f"model-{i}-" + "y" * 60 for i in range(n)]
        big.by_model.rows = [Row(name, big.by_model.rows[0].totals) for name in big.unpriced_models]
    if part == "everything":
        split = [{"provider": f"p{i}", "total_tokens": 1, "share": 0.0} for i in range(n * 5)]
        big.merge_totals["provider_split"] = split
    return big


@pytest.mark.parametrize("part", ["merges", "branches", "models", "everything"])
def test_markdown_stays_under_one_mebibyte(demo: Report, part: str) -> None:
    out = render.render(huge(demo, part, 20_000), "markdown")
    assert len(out.encode()) <= render.MARKDOWN_LIMIT
    assert re.search(r"… and 19,?9\d0 ", out), "says how many rows it left out"
    assert ragged_tables(out) == [] and "### Trends" in out


def test_markdown_is_cut_as_a_last_resort(demo: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "MARKDOWN_LIMIT", 4000)
    out = render.render(demo, "markdown")
    assert len(out.encode()) <= 4000 and out.endswith("Use `--top` or `--since`.*\n")
    assert ragged_tables(out) == []


@pytest.mark.parametrize(
    "value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"], ids=["eq", "plus", "minus", "at", "tab", "cr"]
)
def test_csv_defuses_formulas(demo: Report, value: str) -> None:
    report = copy.deepcopy(demo)
    assert report.records is not None
    report.records[0].update(note=value, branch=value, model=value)
    rows = list(csv.DictReader(io.StringIO(render.render(report, "csv"))))
    assert [rows[0][k] for k in ("note", "branch", "model")] == ["'" + value] * 3
    assert rows[0]["total_tokens"] == "15000" and rows[0]["estimated"] == "false"
    assert len(rows) == 11 and list(rows[0]) == list(render.CSV_COLUMNS)


@pytest.mark.parametrize(
    ("fmt", "color", "ansi"),
    [("text", True, True), ("text", False, False), ("markdown", True, False), ("html", True, False)],
    ids=["text colour", "text plain", "markdown never", "html never"],
)
def test_colour_only_when_asked(demo: Report, fmt: str, color: bool, ansi: bool) -> None:
    out = render.render(demo, fmt, color=color)
    assert ("\x1b[" in out) == ansi
    if ansi:
        assert "\x1b[1mOverall\x1b[0m" in out and "\x1b[33mwarning: no price" in out


# -- empty and filtered reports, time zones --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_empty_ledger_is_friendly(repo: Path, fmt: str) -> None:
    commit(repo)
    opened = open_repo(repo)
    out = pipeline.run(opened, store.load(opened), fmt=fmt, tz_name="UTC")
    assert "No token records yet" in out and "git tokens add" in out
    assert "Overall" not in out and "$0" not in out.replace("not $0", "")


def test_filters_that_match_nothing(demo_path: Path) -> None:
    out = render.render(make(demo_path, branch="no-such-branch"), "text")
    assert "No token records match these filters." in out and "branch no-such-branch" in out
    assert "Overall" not in out


def test_times_are_in_the_report_time_zone(demo_path: Path) -> None:
    repo = open_repo(demo_path)
    report = pipeline.make(repo, store.load(repo), now=NOW, tz_name="Asia/Tokyo")
    out = render.render(report, "text")
    assert "2025-09-30 21:00 Asia/Tokyo" in out  # generated at 12:00Z
    assert "2025-09-30 19:00  feature-y" in out  # rec-11 at 10:00Z


HEADINGS = {
    "overall": "Total tokens",
    "branch": "Current branch: feature-y",
    "time": "Last 24 hours",
    "branches": "Branches",
    "merges": "Merges and pull requests into main",
    "models": "Provider",
    "authors": "Authors",
    "recent": "Recent activity",
    "costs": "Cost analysis",
    "trends": "Trends (daily)",
    "sessions": "Commits",
    "hours": "Hours of the day",
}


@pytest.mark.parametrize("section", list(HEADINGS))
def test_each_section_alone(demo_path: Path, section: str) -> None:
    report = make(demo_path, sections=section)
    for fmt in ("text", "markdown", "html"):
        out = render.render(report, fmt, width=None)
        assert HEADINGS[section] in out, fmt
        others = [heading for name, heading in HEADINGS.items() if name != section and heading in out]
        assert others == [], f"{fmt} shows sections that were not asked for"


@pytest.mark.parametrize(
    ("by", "header"),
    [("day", "Trends (daily)"), ("week", "Trends (weekly)"), ("month", "Trends (monthly)")],
    ids=["day", "week", "month"],
)
def test_by_picks_the_trend_table(demo_path: Path, by: str, header: str) -> None:
    out = render.render(make(demo_path, by=by), "text")
    assert header in out
    assert ("2025-W40" in out) == (by == "week")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "unknown"), (0.0, "$0.0000"), (0.12345, "$0.1235"), (1.5, "$1.50"), (1234.5, "$1,234.50")],
    ids=["unknown", "zero", "cents", "dollars", "thousands"],
)
def test_usd(value: float | None, expected: str) -> None:
    assert filters.usd(value) == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"cost_usd": None, "unpriced_sessions": 2}, "unknown"),
        ({"cost_usd": 0.5, "unpriced_sessions": 1}, "$0.5000+"),
        ({"cost_usd": 2.0, "estimated_tokens": 10}, "$2.00†"),
        ({"cost_usd": 0.1, "estimated": True}, "$0.1000†"),
    ],
    ids=["unknown", "partly unpriced", "estimated", "estimated record"],
)
def test_cost_marks(row: dict[str, Any], expected: str) -> None:
    assert filters.cost(row) == expected


@pytest.mark.parametrize(("value", "expected"), [(12.5, "+12.5%"), (-3.0, "-3.0%"), (0.0, "+0.0%"), (None, "n/a")])
def test_signed_pct(value: float | None, expected: str) -> None:
    assert filters.signed_pct(value) == expected


# -- through the command line ----------------------------------------------------------------------


def test_cli_report_json(repo: Path) -> None:
    commit(repo)
    run("add", "54161", "OAuth2 integration")
    data = json.loads(run("report", "--format", "json").output)
    assert data["schema"] == "gitokens.report/2"
    assert data["totals"]["total_tokens"] == 54161 and data["totals"]["estimated_tokens"] == 54161


@pytest.mark.parametrize(
    ("fmt", "start"),
    [
        ("text", "Token usage in repo"),
        ("markdown", "## Token usage in repo"),
        ("html", "<!doctype html>"),
        ("csv", "ts,commit,branch"),
    ],
    ids=["text", "markdown", "html", "csv"],
)
def test_cli_report_output_file(repo: Path, tmp_path: Path, fmt: str, start: str) -> None:
    commit(repo)
    run("add", "--input", "1200", "--output", "300", "--model", "gpt-4o")
    target = tmp_path / f"report.{fmt}"
    result = run("report", "--format", fmt, "-o", str(target))
    assert result.output == "" or "wrote" in result.output
    assert target.read_text(encoding="utf-8").startswith(start)
    assert "\x1b[" not in target.read_text(encoding="utf-8")
