"""Plain-text formatting for the terminal: numbers, times and aligned tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gitokens.dates import in_zone


def tokens(n: int) -> str:
    return f"{n:,}"


def rate(value: float | None) -> str:
    """A price per million tokens; None (a cache rate with no price of its own) costs the input rate."""
    return "=input" if value is None else f"${value:,.4g}"


def local_time(ts: str | None) -> str:
    if ts is None:
        return "-"
    return in_zone(datetime.fromisoformat(ts)).strftime("%Y-%m-%d %H:%M")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; column indexes in ``right`` are right-aligned (numbers)."""
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))]
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


def one_line(text: str | None, width: int = 40) -> str:
    """Untrusted free text squeezed onto one short line (control characters removed)."""
    if not text:
        return ""
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    clean = " ".join(clean.split())
    return clean if len(clean) <= width else clean[: width - 1] + "…"
