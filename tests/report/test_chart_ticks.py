"""The dashboard charts' date labels: spaced by the days the chart spans, the last day always labelled."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from gitokens.report.render import daily_chart

LAST = date(2025, 9, 30)


@pytest.mark.parametrize(
    ("span", "every"), [(1, 1), (5, 1), (7, 1), (12, 2), (14, 2), (30, 7), (49, 7), (60, 14), (90, 14)]
)
def test_labels_are_spaced_by_span_and_end_on_the_last_day(span: int, every: int) -> None:
    days = [LAST - timedelta(days=span - 1), LAST]
    data = {"daily": [{"date": d.isoformat(), "total_tokens": 100} for d in dict.fromkeys(days)]}
    ticks = daily_chart(data, "total_tokens")["xticks"]
    assert ticks[-1]["label"] == "Sep 30" and len(ticks) <= 7
    dated = [datetime.strptime(f"{t['label']} 2025", "%b %d %Y").date() for t in ticks]
    assert all((later - earlier).days == every for earlier, later in itertools.pairwise(dated))
    assert ticks[-1]["anchor"] == ("end" if span > 1 else "middle")
