from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import commit, git, run

from gitokens import dates
from gitokens.cli import cli
from gitokens.errors import InvalidRecord, UsageError
from gitokens.git.repo import open_repo
from gitokens.ledger import edits, store
from gitokens.ledger.record import format_timestamp


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "-q", "--verify", "refs/notes/tokens", check=False).strip()


AHEAD = format_timestamp(datetime.now(UTC) + timedelta(days=2))


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("9999-12-31T23:59:59Z", "'9999-12-31T23:59:59Z' is out of range"),
        ("9999-12-31T23:59:59-01:00", "'9999-12-31T23:59:59-01:00' is out of range"),
        ("0999-06-01", "'0999-06-01' is out of range"),
        ("1999-12-31T23:59:59Z", "'1999-12-31T23:59:59Z' is out of range"),
        (AHEAD, f"'{AHEAD}' is out of range"),
        ("", "'' is not a date or time"),
        ("   ", "'   ' is not a date or time"),
    ],
    ids=["year-9999", "past-9999-in-utc", "year-999", "before-2000", "two-days-ahead", "empty", "blank"],
)
def test_add_refuses_a_time_outside_the_range_quoting_it(repo: Path, typed: str, message: str) -> None:
    commit(repo)
    code, output = invoke("add", "5", "--at", typed)
    assert code == 2 and f"error: --at: {message}" in output and "hint:" in output
    assert "Traceback" not in output and tip(repo) == ""


@pytest.mark.parametrize("typed", ["2000-01-01T00:00:00Z", "2025-09-29T14:03", "20250929"], ids=str)
def test_add_accepts_a_time_inside_the_range(repo: Path, typed: str) -> None:
    commit(repo)
    assert run("add", "5", "--at", typed).exit_code == 0


@pytest.mark.parametrize(
    ("at", "field"),
    [(datetime(1999, 12, 31, tzinfo=UTC), "ts"), (datetime.now(UTC) + timedelta(days=3), "ts")],
    ids=["before-2000", "three-days-ahead"],
)
def test_build_refuses_a_time_outside_the_range(repo: Path, at: datetime, field: str) -> None:
    commit(repo)
    with pytest.raises(InvalidRecord, match=f"^{field}: .* is out of range"):
        edits.build(open_repo(), total=5, at=at)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "timestamp,tokens\n9999-12-31T23:59:59-01:00,5\n", "timestamp: '9999-12-31T23:59:59-01:00'"),
        ("b.csv", "timestamp,tokens\n1999-06-01T00:00:00,5\n", "timestamp: '1999-06-01T00:00:00' is out of range"),
        ("c.jsonl", '{"id":"abcdef","ts":"9999-12-31T23:59:59Z","total_tokens":5}\n', "ts: '9999-12-31T23:59:59Z'"),
        ("d.jsonl", '{"id":"abcdef","ts":"9999-12-31T23:59:59-01:00","total_tokens":5}\n', "is out of range"),
    ],
    ids=["legacy-past-9999", "legacy-before-2000", "export-year-9999", "export-past-9999"],
)
def test_import_refuses_a_row_time_outside_the_range(
    repo: Path, tmp_path: Path, name: str, text: str, message: str
) -> None:
    commit(repo)
    (tmp_path / name).write_text(text)
    code, output = invoke("import", str(tmp_path / name), "--commit", "HEAD")
    assert code == 2 and f"{name} line" in output and message in output and "Traceback" not in output
    assert tip(repo) == ""


LINES = [
    '{"v":1,"id":"farfuture1","ts":"9999-12-31T23:59:59Z","source":"manual","branch":"main","total_tokens":7}',
    '{"v":1,"id":"yearone001","ts":"0001-01-01T00:00:00Z","source":"manual","branch":"main","total_tokens":3}',
]


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Pacific/Kiritimati", "Etc/GMT+12"], ids=str)
def test_records_at_the_ends_of_the_calendar_are_kept_and_break_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    head = commit(repo)
    git(repo, "notes", "--ref", "tokens", "add", "-m", "\n".join(LINES), head)
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        for args in (
            ["log"],
            ["log", "--since", "2000-01-01"],
            ["show"],
            ["show", "HEAD"],
            ["export", "--since", "2d"],
        ):
            assert invoke(*args)[0] == 0, args
        for fmt in ("text", "html", "json", "csv", "markdown"):
            code, output = invoke("report", "--timezone", zone, "--format", fmt, "--by", "month")
            assert code == 0, output
        # Outside the reader's window (years 1970 to 9000): reported, kept, and inert in every command.
        assert "skipped 2 ledger line(s)" in invoke("log")[1]
        assert git(repo, "notes", "--ref", "tokens", "show", head).splitlines() == LINES
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
    assert len(store.load(open_repo()).invalid) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--days", "99999999999"], "error: --days: 99999999999 reaches back past year 1"),
        (["report", "--since", "999999w"], "error: --since: '999999w' reaches back past year 1"),
        (["report", "--since", "9" * 5000 + "d"], "reaches back past year 1"),
        (["check", "--since", "99999999d", "--budget-usd", "1"], "error: --since: '99999999d' reaches back"),
        (["export", "--until", "99999999d"], "error: --until: '99999999d' reaches back"),
    ],
    ids=["report-days", "report-weeks", "report-5000-digits", "check-days", "export-until"],
)
def test_relative_days_past_year_one_are_refused(repo: Path, args: list[str], message: str) -> None:
    commit(repo)
    run("add", "5")
    code, output = invoke(*args)
    assert code == 2 and message in output and "hint: give at most" in output


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), ZoneInfo("Pacific/Kiritimati"), "9999-12-31T23:59:00+00:00"),
        (datetime(1, 1, 1, 0, 0, tzinfo=UTC), ZoneInfo("Etc/GMT+12"), "0001-01-01T00:00:00+00:00"),
        (datetime(2025, 1, 1, 0, 0, tzinfo=UTC), ZoneInfo("Asia/Tokyo"), "2025-01-01T09:00:00+09:00"),
    ],
    ids=["last-minute-east", "first-minute-west", "ordinary"],
)
def test_in_zone_keeps_the_edges_of_the_calendar_in_utc(moment: datetime, zone: ZoneInfo, expected: str) -> None:
    assert dates.in_zone(moment, zone).isoformat() == expected


@pytest.mark.parametrize(
    ("moment", "text"),
    [(datetime(999, 6, 1, tzinfo=UTC), "0999-06-01T00:00:00Z"), (datetime(2025, 1, 2, 3, 4, 5, 6000, UTC), None)],
    ids=["four-digit-year", "milliseconds"],
)
def test_format_timestamp_is_canonical(moment: datetime, text: str | None) -> None:
    assert format_timestamp(moment) == (text or "2025-01-02T03:04:05.006Z")


TODAY = date(2025, 11, 20)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2025-10", date(2025, 10, 1), date(2025, 10, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2025-W41", date(2025, 10, 6), date(2025, 10, 12)),
        ("2025-10-07", date(2025, 10, 7), date(2025, 10, 7)),
        ("20251007", date(2025, 10, 7), date(2025, 10, 7)),
        ("2025-10-01..2025-10-15", date(2025, 10, 1), date(2025, 10, 15)),
        ("2025-11-01..7d", date(2025, 11, 1), date(2025, 11, 14)),
        ("30d", date(2025, 10, 22), date(2025, 11, 20)),
        (" 2w ", date(2025, 11, 7), date(2025, 11, 20)),
    ],
    ids=["month", "leap-february", "iso-week", "day", "compact-day", "range", "range-to-relative", "days", "weeks"],
)
def test_parse_period(text: str, first: date, last: date) -> None:
    assert dates.parse_period(text, "--compare", TODAY) == (first, last)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-13", "is not a period"),
        ("2025-W60", "is not a period"),
        ("9999-12", "is not a period"),
        ("october", "is not a period"),
        ("2025-10-15..2025-10-01", "ends before it starts"),
        ("2025-10-01..soon", "is not a date"),
    ],
    ids=["month-13", "week-60", "last-month-of-the-calendar", "words", "backwards", "bad-end"],
)
def test_parse_period_refuses(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        dates.parse_period(text, "--compare", TODAY)
    assert caught.value.hint


@pytest.mark.parametrize(
    ("first", "last", "before"),
    [
        (date(2025, 3, 1), date(2025, 3, 31), (date(2025, 2, 1), date(2025, 2, 28))),
        (date(2025, 1, 1), date(2025, 1, 31), (date(2024, 12, 1), date(2024, 12, 31))),
        (date(2025, 10, 7), date(2025, 10, 7), (date(2025, 10, 6), date(2025, 10, 6))),
        (date(2025, 10, 22), date(2025, 11, 20), (date(2025, 9, 22), date(2025, 10, 21))),
        (date(2025, 3, 1), date(2025, 3, 15), (date(2025, 2, 14), date(2025, 2, 28))),
    ],
    ids=["month", "january", "day", "thirty-days", "half-month"],
)
def test_period_before(first: date, last: date, before: tuple[date, date]) -> None:
    assert dates.period_before(first, last, "--compare") == before


def test_no_period_before_the_calendar() -> None:
    with pytest.raises(UsageError, match="no period before 0001-01-01"):
        dates.period_before(date(1, 1, 1), date(1, 1, 31), "--compare")
