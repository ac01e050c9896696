"""Dates and moments typed on the command line (``2025-09-29``, ``20250929``, ``2025-09-29T14:03``), the
range of times a new record may carry, and moments shown in a time zone without leaving the calendar."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo

from gitokens.errors import InvalidRecord, UsageError

_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$", re.ASCII)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# A moment this close to either end of the calendar can leave it when shown in a zone: it is shown in UTC.
_EDGE = timedelta(days=2)


def parse_date(text: str, option: str) -> date:
    """A calendar day written YYYY-MM-DD or YYYYMMDD."""
    match = _COMPACT.match(text.strip())
    candidate = f"{match[1]}-{match[2]}-{match[3]}" if match else text.strip()
    try:
        return date.fromisoformat(candidate)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a date", hint="write it as YYYY-MM-DD or YYYYMMDD") from None


def parse_moment(text: str, option: str, *, recordable: bool = False) -> datetime:
    """A moment: an ISO-8601 date or date-time; without an offset it is local time. Returned in UTC.

    ``recordable``: also refuse a moment a new record may not carry (``check_recordable``).
    """
    stripped = text.strip()
    if stripped.endswith("z"):
        stripped = stripped[:-1] + "Z"
    try:
        if _COMPACT.match(stripped) or _DAY.match(stripped):
            day = parse_date(stripped, option)
            moment = datetime(day.year, day.month, day.day)
        else:
            moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise UsageError(
            f"{option}: {text!r} is not a date or time",
            hint="write it as 2025-09-29, 2025-09-29T14:03 or 2025-09-29T14:03:00Z",
        ) from None
    try:
        utc: datetime | None = (moment.astimezone() if moment.tzinfo is None else moment).astimezone(UTC)
    except (OverflowError, ValueError, OSError):
        utc = None  # beyond year 1 or 9999 once in UTC
    if recordable or utc is None:
        return check_recordable(utc, option, text)
    return utc


def check_recordable(moment: datetime | None, field: str, typed: object, *, now: datetime | None = None) -> datetime:
    """``moment`` when a new record may carry it: from 2000-01-01 to one day ahead of now. Else an error
    quoting ``typed``, what was given (None: a moment that could not be placed on the calendar)."""
    latest = (now or datetime.now(UTC)) + timedelta(days=1)
    if moment is None or not EARLIEST <= moment <= latest:
        raise InvalidRecord(
            f"{field}: {typed!r} is out of range: a record's time is from 2000-01-01 to {latest:%Y-%m-%d}",
            hint="give the time the tokens were spent, e.g. 2025-09-29T14:03",
        )
    return moment


def in_zone(moment: datetime, tz: tzinfo | None = None) -> datetime:
    """``moment`` in ``tz`` (None: local time); within two days of either end of the calendar, in UTC, where
    every zone's offset would leave years 1 to 9999."""
    if not datetime.min.replace(tzinfo=UTC) + _EDGE < moment < datetime.max.replace(tzinfo=UTC) - _EDGE:
        return moment.astimezone(UTC)
    return moment.astimezone(tz)


_RELATIVE = re.compile(r"^(\d+)\s*([dw])$", re.ASCII)


def parse_since(text: str, option: str, today: date) -> date:
    """A day as ``parse_date`` takes it, or relative to ``today``: ``7d`` (the last 7 days), ``2w``."""
    match = _RELATIVE.match(text.strip().lower())
    if not match:
        return parse_date(text, option)
    digits = match[1].lstrip("0") or "0"
    count = int(digits) if len(digits) <= 12 else 10**12
    return last_days(count * (7 if match[2] == "w" else 1), option, today, text)


def last_days(count: int, option: str, today: date, typed: object = None) -> date:
    """The first of the last ``count`` days up to ``today`` (0 or 1: today); ``typed`` is quoted in errors."""
    most = (today - date.min).days + 1
    if count > most:
        raise UsageError(
            f"{option}: {count if typed is None else typed!r} reaches back past year 1",
            hint=f"give at most {most:,} days, or leave {option} out for every record",
        )
    return today - timedelta(days=max(count - 1, 0))


_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.ASCII | re.IGNORECASE)
_PERIOD_HINT = "write a month 2025-10, an ISO week 2025-W41, a day 2025-10-07, a range 2025-10-01..2025-10-15, or 30d"


def parse_period(text: str, option: str, today: date) -> tuple[date, date]:
    """A period of whole days, first and last included: a month (``2025-10``), an ISO week (``2025-W41``), a
    day (``2025-10-07`` or ``20251007``), a range of two days (``2025-10-01..2025-10-15``, each end as
    ``parse_since`` takes it), or the last days up to ``today`` (``30d``, ``2w``)."""
    stripped = text.strip()
    if ".." in stripped:
        start_text, _, end_text = stripped.partition("..")
        start, end = parse_since(start_text, option, today), parse_since(end_text, option, today)
        if start > end:
            raise UsageError(f"{option}: {text!r} ends before it starts", hint="write the earlier day first")
        return start, end
    if _RELATIVE.match(stripped.lower()):
        return parse_since(stripped, option, today), today
    month, week = _MONTH.match(stripped), _WEEK.match(stripped)
    try:
        if month:
            first = date(int(month[1]), int(month[2]), 1)
            return first, _next_month(first) - timedelta(days=1)
        if week:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
            return monday, monday + timedelta(days=6)
    except (ValueError, OverflowError):
        raise UsageError(f"{option}: {text!r} is not a period", hint=_PERIOD_HINT) from None
    if _COMPACT.match(stripped) or _DAY.match(stripped):
        day = parse_date(stripped, option)
        return day, day
    raise UsageError(f"{option}: {text!r} is not a period", hint=_PERIOD_HINT)


def period_before(start: date, end: date, option: str) -> tuple[date, date]:
    """The period just before ``start..end`` and as long: the month before a whole calendar month, else as
    many days ending the day before ``start``."""
    try:
        if start.day == 1 and end == _next_month(start) - timedelta(days=1):
            previous = (start - timedelta(days=1)).replace(day=1)
            return previous, start - timedelta(days=1)
        length = end - start
        return start - length - timedelta(days=1), start - timedelta(days=1)
    except (OverflowError, ValueError):
        raise UsageError(f"{option}: no period before {start.isoformat()}", hint="give two periods") from None


def _next_month(first: date) -> date:
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
