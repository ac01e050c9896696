"""Activity by hour of the day: when, on the report's wall clock, the tokens are spent.

Each record falls in the hour of its timestamp in the report's time zone (a captured record covers at most
one UTC hour, so this is exact for whole-hour zones). The busiest span is the shortest run of consecutive
hours, midnight wrapping round, that holds at least half of all tokens: "half of all tokens between 14:00
and 16:00" says more than the single busiest hour when work spreads over an afternoon.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import numpy as np

from gitokens.report.aggregate import Records, share, split_by
from gitokens.report.localdays import DAY, HOUR, local_times


def hours(records: Records, tz: tzinfo) -> dict[str, Any]:
    """``rows``: a totals object per hour 0 to 23 (with ``hour``); ``busiest``: the span that holds half of all
    tokens, or None when there are none."""
    hour = (local_times(records.ts, tz) % DAY) // HOUR
    members = split_by(hour, np.arange(len(records)))
    groups = {h: members.get(h, np.zeros(0, dtype=np.intp)) for h in range(24)}
    rows = [{"hour": h, **t.to_dict()} for h, t in zip(groups, records.sums_by(groups), strict=True)]
    return {"rows": rows, "busiest": busiest([row["total_tokens"] for row in rows])}


def busiest(tokens: list[int]) -> dict[str, Any] | None:
    """The shortest run of consecutive hours (wrapping past midnight) holding at least half of ``tokens``'
    sum; of runs as short, the one holding the most, then the earliest. ``end`` is the hour it stops at."""
    whole = sum(tokens)
    if not whole:
        return None
    runs = ((width, _heaviest(tokens, width)) for width in range(1, 25))
    width, (start, held) = next((width, run) for width, run in runs if 2 * run[1] >= whole)  # 24 hold all
    return {"start": start, "end": (start + width) % 24, "hours": width, "total_tokens": held,
            "share": share(held, whole)}  # fmt: skip


def _heaviest(tokens: list[int], width: int) -> tuple[int, int]:
    """The run of ``width`` consecutive hours holding the most tokens (the earliest of equals): start, tokens."""
    sums = [sum(tokens[(start + i) % 24] for i in range(width)) for start in range(24)]
    best = max(range(24), key=lambda start: (sums[start], -start))
    return best, sums[best]
