"""Plain-text formatting for the terminal: numbers, times, aligned tables, and the guard every text passes on
its way to a terminal (ledger text is untrusted: an escape sequence in a model name must not reach the screen)."""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal

from gitokens.dates import in_zone


def tokens(n: int) -> str:
    return f"{n:,}"


_COUNT = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:,\d{3})+|\d{1,3}(?:_\d{3})+)", re.ASCII)


def parse_tokens(text: str) -> int:
    """A whole number as people write counts: ASCII digits, optionally in groups of three separated by commas
    or underscores (``54161``, ``54,161``, ``54_161``; not ``1,2,3``); raises ValueError for anything else."""
    stripped = text.strip()
    if len(stripped) > 40 or not _COUNT.fullmatch(stripped):
        raise ValueError(f"not a whole number: {text!r}")
    return int(stripped.replace(",", "").replace("_", ""))


def usd(value: float) -> str:
    """A cost as every table and command shows it: to the ten-thousandth of a dollar under $1, to the cent
    from $1 up, rounded half up from the millionth of a dollar that reports keep (so ``report``, ``check``
    and the Action's summary show one amount the same way)."""
    if not math.isfinite(value):
        return f"${value}"
    amount = Decimal(repr(round(value, 6)))
    shown = amount.quantize(_TEN_THOUSANDTH, ROUND_HALF_UP, _WIDE)
    if abs(shown) >= 1:
        shown = amount.quantize(_CENT, ROUND_HALF_UP, _WIDE)
    return f"-${shown.copy_abs():,}" if shown < 0 else f"${shown.copy_abs():,}"  # exact; -0.0000 is $0.0000


def rate(value: float | None, missing: str = "-") -> str:
    """A price in USD per million tokens: two decimals, more only when the rate has them (``$3.00``,
    ``$0.30``, ``$0.075``); ``missing`` for None."""
    if value is None:
        return missing
    text = f"{value:,.6f}".rstrip("0")
    return "$" + (text if len(text.split(".")[1]) >= 2 else f"{value:,.2f}")


_TEN_THOUSANDTH, _CENT = Decimal("0.0001"), Decimal("0.01")
_WIDE = Context(prec=400)  # any float's digits to the ten-thousandth (the default 28 digits end at 1e24)


def local_time(ts: str | None) -> str:
    if ts is None:
        return "-"
    return in_zone(datetime.fromisoformat(ts)).strftime("%Y-%m-%d %H:%M")


def one_line(text: str | None, width: int = 40) -> str:
    """Untrusted free text squeezed onto one short line (control characters removed)."""
    if not text:
        return ""
    clean = text if text.isprintable() else "".join(ch if ch.isprintable() else " " for ch in text)
    clean = " ".join(clean.split())
    return clean if len(clean) <= width else clean[: width - 1] + "…"


_SGR = re.compile(r"(\x1b\[[0-9;]*m)")


def terminal(text: str, *, colour: bool = False) -> str:
    """``text`` safe to show on a terminal: every character that is not printable (escape, bell, backspace,
    a carriage return, bidirectional overrides, surrogates...) but a newline or a tab is shown as its escape
    (``\\u001b``), which inside JSON strings is still JSON. ``colour``: keep SGR colour sequences, for text whose
    untrusted parts went through ``one_line`` before it was coloured."""
    if colour:
        parts = _SGR.split(text)
        return "".join(part if i % 2 else terminal(part) for i, part in enumerate(parts))
    text = text.replace("\r\n", "\n")
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n\t" else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
