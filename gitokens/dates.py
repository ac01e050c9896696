"""Dates and moments typed on the command line: ``2025-09-29``, ``20250929``, ``2025-09-29T14:03``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from gitokens.errors import UsageError

_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(text: str, option: str) -> date:
    """A calendar day written YYYY-MM-DD or YYYYMMDD."""
    match = _COMPACT.match(text.strip())
    candidate = f"{match[1]}-{match[2]}-{match[3]}" if match else text.strip()
    try:
        return date.fromisoformat(candidate)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a date", hint="write it as YYYY-MM-DD or YYYYMMDD") from None


def parse_moment(text: str, option: str) -> datetime:
    """A moment: an ISO-8601 date or date-time; without an offset it is local time. Returned in UTC."""
    stripped = text.strip()
    if stripped.endswith("z"):
        stripped = stripped[:-1] + "Z"
    if _COMPACT.match(stripped) or re.match(r"^\d{4}-\d{2}-\d{2}$", stripped):
        day = parse_date(stripped, option)
        return datetime(day.year, day.month, day.day).astimezone().astimezone(UTC)
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise UsageError(
            f"{option}: {text!r} is not a date or time",
            hint="write it as 2025-09-29, 2025-09-29T14:03 or 2025-09-29T14:03:00Z",
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(UTC)


_RELATIVE = re.compile(r"^(\d+)\s*([dw])$")


def parse_since(text: str, option: str, today: date) -> date:
    """A day as ``parse_date`` takes it, or relative to ``today``: ``7d`` (the last 7 days), ``2w``."""
    match = _RELATIVE.match(text.strip().lower())
    if match:
        days = int(match[1]) * (7 if match[2] == "w" else 1)
        return today - timedelta(days=max(days - 1, 0))
    return parse_date(text, option)
