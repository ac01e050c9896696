"""Text tables that fit the terminal: the text report's layout of a table's cells, not what is in them.

A template writes each row's cells already formatted, separated by ``SEP``, and names its columns with
``Column``; ``lay_out`` measures them and, when the table is wider than the terminal, first shortens the
columns that may be shortened (names, titles: elided in the middle, where two long branch names that share
a prefix still differ), then drops the columns a reader can live without, least needed first, and gives
the shortened columns back what a dropped one freed. Numbers are never cut: a column that cannot be shown
whole is dropped or kept whole. ``width=None`` (``--wide``) keeps every column whole.

Widths are display widths: ANSI colour takes none, East Asian wide characters two, combining marks none.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

SEP = "\x1f"  # between a row's cells: a control character, so none can come from ledger text (squeezed)
ELLIPSIS = "…"
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_BREAK = re.compile(r"(?<=\S) (?=\S)")


@dataclass(frozen=True)
class Column:
    """One column of a text table.

    ``right``: aligned right (numbers). ``drop``: 0 never dropped; otherwise the highest is dropped first
    when the table does not fit. ``shrink``: the narrowest the column may be elided to (0: never shortened).
    ``cap``: the widest a shortenable column is shown on a terminal of any width (not under ``--wide``).
    ``gap``: spaces before it (0 for a mark that hangs on the column before it)."""

    header: str
    right: bool = False
    drop: int = 0
    shrink: int = 0
    cap: int = 60
    gap: int = 2


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal."""
    plain = _SGR.sub("", text) if "\x1b" in text else text
    if plain.isascii():
        return len(plain)
    # Every ASCII character takes one column: only the others (a report's "·", "…" and "†", names) are
    # measured, each distinct one once (a text report measures ~1,800 cells).
    return len(plain) + sum(_char_width(ch) - 1 for ch in _NON_ASCII.findall(plain))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@functools.lru_cache(maxsize=4096)
def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def elide(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns: the middle replaced by ``…`` when it is longer (the end, the
    part of a branch or title that tells two apart, is kept). Colour is dropped from a shortened cell."""
    if display_width(text) <= width:
        return text
    plain = _SGR.sub("", text)
    if width <= 1:
        return ELLIPSIS[:width]
    head_room = width // 2
    tail_room = width - 1 - head_room
    head = _take(plain, head_room)
    tail = _take(plain[::-1], tail_room)[::-1] if tail_room else ""
    return head + ELLIPSIS + tail


def _take(text: str, width: int) -> str:
    """The longest start of ``text`` that fits in ``width`` columns."""
    used = 0
    for index, ch in enumerate(text):
        used += _char_width(ch)
        if used > width:
            return text[:index]
    return text


def pad(text: str, width: int, right: bool = False) -> str:
    room = width - display_width(text)
    if room <= 0:
        return text
    return " " * room + text if right else text + " " * room


def widths(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None, indent: int
) -> list[int | None]:
    """Each column's width; None for a column dropped to fit ``width`` (None: keep every column whole)."""
    natural = []
    for i, column in enumerate(columns):
        widest = max([display_width(column.header)] + [display_width(row[i]) for row in rows if i < len(row)])
        natural.append(min(column.cap, widest) if column.shrink and width is not None else widest)
    if width is None:
        return list(natural)
    shown = [True] * len(columns)
    while True:
        kept = [i for i in range(len(columns)) if shown[i]]
        gaps = sum(columns[i].gap for i in kept[1:])
        fixed = indent + gaps + sum(natural[i] for i in kept if not columns[i].shrink)
        elastic = [i for i in kept if columns[i].shrink]
        least = sum(min(natural[i], columns[i].shrink) for i in elastic)
        droppable = [i for i in kept if columns[i].drop]
        if fixed + least <= width or not droppable:
            return _share(natural, shown, elastic, columns, width - fixed)
        victim = max(droppable, key=lambda i: (columns[i].drop, i))
        shown[victim] = False


def _share(
    natural: list[int], shown: list[bool], elastic: list[int], columns: Sequence[Column], room: int
) -> list[int | None]:
    """The widths, the shortenable columns sharing ``room``: each its natural width if all fit, else the
    widest cut first, never below its ``shrink``."""
    result: list[int | None] = [natural[i] if shown[i] else None for i in range(len(natural))]
    sizes = {i: natural[i] for i in elastic}
    over = sum(sizes.values()) - room
    while over > 0:
        candidates = [i for i in elastic if sizes[i] > min(natural[i], columns[i].shrink)]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: (sizes[i], -i))
        sizes[widest] -= 1
        over -= 1
    for i, size in sizes.items():
        result[i] = size
    return result


def lay_out(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None, indent: int = 2, header: bool = True
) -> list[str]:
    """The table's lines (the header first when ``header``): cells padded, or elided in the columns that may
    be shortened, to the widths that fit ``width``; dropped columns left out; trailing spaces stripped."""
    sizes = widths(columns, rows, width, indent)
    body = [list(row[: len(columns)]) + [""] * (len(columns) - len(row)) for row in rows]
    lines = []
    for cells in ([[column.header for column in columns]] if header else []) + body:
        parts: list[str] = []
        for column, size, cell in zip(columns, sizes, cells, strict=True):
            if size is None:
                continue
            if parts:
                parts.append(" " * column.gap)
            parts.append(pad(elide(cell, size) if column.shrink else cell, size, column.right))
        lines.append((" " * indent + "".join(parts)).rstrip())
    return lines


def split_rows(text: str) -> list[list[str]]:
    """The rows a template's call block wrote: one per line, cells separated by ``SEP``; a line of separators
    alone is an empty row (a blank line in the table), a line of spaces none."""
    return [line.split(SEP) for line in text.split("\n") if SEP in line or line.strip()]


def wrap(text: str, width: int | None, indent: int = 2, hang: int = 4) -> str:
    """Prose on lines of at most ``width`` columns, ``indent`` spaces before the first and ``hang`` before the
    others; broken after a `` · `` where one fits, else between words (a run of spaces, which aligns a
    label, is never a break). As it is when ``width`` is None or it fits."""
    if width is None or indent + display_width(text) <= width:
        return " " * indent + text
    lines: list[str] = []
    line = " " * indent
    for number, part in enumerate(text.split(" · ")):
        piece = part if number == 0 else "· " + part
        started = bool(line.strip())
        if display_width(line) + started + display_width(piece) <= width:
            line = f"{line} {piece}" if started else line + piece
            continue
        if started and display_width(" " * hang + part) <= width:  # the part whole on a line of its own
            lines.append(line + " ·" if number else line)
            line = " " * hang + part
            continue
        for word in _BREAK.split(piece):  # at single spaces
            if line.strip() and display_width(line) + 1 + display_width(word) > width:
                lines.append(line)
                line = " " * hang + word
            else:
                line = f"{line} {word}" if line.strip() else line + word
    lines.append(line)
    return "\n".join(lines)
