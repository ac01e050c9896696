"""The report's windows and averages: "the last 7 days" is one set of calendar days (today and the 6 before,
in the report's time zone) in the Time section and the trends alike, and a daily average divides by the
days it looked at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import commit
from test_report import NOW, PRICES, make, put

from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.report import pipeline


@pytest.fixture
def spread(repo: Path) -> str:
    """Records on the 40 days up to NOW (2025-10-15 12:00 UTC), 1,100 tokens each, one more at 20:00 UTC on
    2025-10-08: within 7x24 hours of NOW, but on the 8th calendar day back."""
    (repo / ".gitokens.yml").write_text(PRICES)
    base = commit(repo, "base", {".gitokens.yml": PRICES})
    for back in range(40):
        put(base, "main", f"{(NOW - timedelta(days=back)).date().isoformat()}T09:00:00Z")
    put(base, "main", "2025-10-08T20:00:00Z", input_tokens=90_000, output_tokens=0)
    return base


def tokens(report: dict[str, Any], window: str) -> int:
    return int(report["windows"][window]["total_tokens"])


def test_the_last_7_days_are_calendar_days_everywhere(spread: str) -> None:
    report = make()
    assert tokens(report, "last_7d") == 7 * 1100  # 10-09 to 10-15; the 10-08 record is out
    assert report["insights"]["this_week_tokens"] == tokens(report, "last_7d")
    assert tokens(report, "last_30d") == 30 * 1100 + 90_000  # 09-16 to 10-15
    assert tokens(report, "last_24h") == 1100


def test_the_days_follow_the_report_time_zone(spread: str) -> None:
    # In Asia/Tokyo (UTC+9) 2025-10-08 20:00 UTC is on the 9th: inside the last 7 days there.
    repo = open_repo()
    report = pipeline.make(repo, store.load(repo), now=NOW, tz_name="Asia/Tokyo").to_dict()
    assert tokens(report, "last_7d") == 7 * 1100 + 90_000
    assert report["insights"]["this_week_tokens"] == tokens(report, "last_7d")


@pytest.mark.parametrize(
    ("choices", "days", "first", "total"),
    [
        ({}, 30, "2025-09-16", 30 * 1100 + 90_000),
        ({"since": "7d"}, 7, "2025-10-09", 7 * 1100),
        ({"days": 3}, 3, "2025-10-13", 3 * 1100),
        ({"since": "2025-09-07", "until": "2025-09-16"}, 10, "2025-09-07", 10 * 1100),
    ],
    ids=["all", "since-7d", "days-3", "past-range"],
)
def test_the_daily_average_divides_by_the_days_of_the_window(
    spread: str, choices: dict[str, Any], days: int, first: str, total: int
) -> None:
    projection = make(**choices)["projection"]
    assert (projection["average_days"], projection["average_first_day"]) == (days, first)
    assert projection["daily_average_tokens"] == total // days
    assert projection["monthly_tokens"] == total * 30 // days


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_the_labels_say_which_days(spread: str, fmt: str, repo: Path) -> None:
    opened = open_repo(repo)
    out = pipeline.run(opened, store.load(opened), fmt=fmt, now=NOW, tz_name="UTC", since="7d")
    assert "Daily average over 7 days (2025-10-09 to 2025-10-15)" in out
    assert "Daily average (last 30 days)" not in out
    assert "calendar days in UTC: the last 7 are today and the 6 before" in out
