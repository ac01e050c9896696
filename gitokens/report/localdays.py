"""Local calendar days of UTC timestamps, for whole columns at once (the report's daily, weekly and monthly
tables and its --since/--until filters)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

import numpy as np

from gitokens.dates import in_zone
from gitokens.report.columns import factorize

HOUR, DAY = 3_600_000, 86_400_000  # in milliseconds
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def local_days(ts: np.ndarray, tz: tzinfo) -> np.ndarray:
    """The local day (days since 1970-01-01) of each timestamp (milliseconds, UTC) in ``tz``."""
    return local_times(ts, tz) // DAY


def local_times(ts: np.ndarray, tz: tzinfo) -> np.ndarray:
    """Each timestamp (milliseconds, UTC) as the milliseconds since 1970-01-01 00:00 of its wall clock in ``tz``.

    The zone's offset is looked up once per distinct UTC day; in a day where it changes (a daylight-saving
    switch), once per UTC hour; in an hour where it changes, per timestamp.
    """
    local = np.empty_like(ts)
    todo = np.arange(len(ts))
    for unit in (DAY, HOUR, 1):
        if not len(todo):
            break
        spans, inverse = factorize(ts[todo] // unit)
        starts = np.array([_offset_ms(span * unit, tz) for span in spans.tolist()], dtype=np.int64)
        ends = np.array([_offset_ms(span * unit + unit - 1, tz) for span in spans.tolist()], dtype=np.int64)
        steady = (starts == ends)[inverse]
        local[todo[steady]] = ts[todo[steady]] + starts[inverse[steady]]
        todo = todo[~steady]
    return local


def day_number(day: date) -> int:
    """A date as days since 1970-01-01, the unit of ``local_days``."""
    return day.toordinal() - EPOCH_ORDINAL


def from_day_number(number: int) -> date:
    return date.fromordinal(EPOCH_ORDINAL + number)


def ms(moment: datetime) -> int:
    """An aware datetime as milliseconds since the epoch."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _offset_ms(at: int, tz: tzinfo) -> int:
    offset = in_zone(EPOCH + timedelta(milliseconds=at), tz).utcoffset() or timedelta(0)
    return offset // timedelta(milliseconds=1)
