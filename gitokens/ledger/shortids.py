"""Short forms of record ids: how ``log``, ``show`` and ``rm`` print them, and how a typed one is matched.

A record made by hand, through the API or by import has a 32-hex-digit id; a captured one is
``<source>:<32 hex digits>`` (``claude-code:3fa9c1e2…``), whose first characters are the same for every
record of that source. So a record is shown by its *distinguishing part* (the part after ``source:``, else
the whole id), cut to the shortest prefix, at least 8 characters as git shortens commit ids, that names no
other record. What is typed back may be a prefix of either: ``3fa9c1e2`` or ``claude-code:3fa9c1e2``.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable

MIN_SHOWN = 8
MIN_TYPED = 4


def distinguishing(record_id: str) -> str:
    """The part of an id that tells records apart: what follows ``source:`` in a captured id, else the id."""
    _, colon, rest = record_id.partition(":")
    return rest if colon and rest else record_id


def names(record_id: str) -> set[str]:
    """What a typed prefix of may name the record: its id and its distinguishing part."""
    return {record_id, distinguishing(record_id)}


def matches(record_id: str, typed: str) -> bool:
    """Whether ``typed`` names the record: a prefix of its id or of its distinguishing part."""
    return record_id.startswith(typed) or distinguishing(record_id).startswith(typed)


class Shortener:
    """The short form of any of a set of record ids (every record in the ledger, removed ones included)."""

    def __init__(self, ids: Iterable[str]) -> None:
        owners: Counter[str] = Counter()
        for record_id in ids:
            owners.update(names(record_id))
        self._owners = owners
        self._sorted = sorted(owners)

    def __call__(self, record_id: str) -> str:
        """The shortest prefix (at least ``MIN_SHOWN`` characters) of the distinguishing part that only this
        record's names start with; the whole id when no prefix is unique (another id contains it)."""
        part = distinguishing(record_id)
        own = names(record_id)
        if self._owners.get(part, 0) > 1:
            return record_id
        common = 0
        at = bisect.bisect_left(self._sorted, part)
        for step, start in ((-1, at - 1), (1, at)):
            i = start
            while 0 <= i < len(self._sorted) and self._sorted[i] in own:
                i += step
            if 0 <= i < len(self._sorted):
                common = max(common, _common_prefix(part, self._sorted[i]))
        if common >= len(part):
            return record_id
        return part[: max(common + 1, MIN_SHOWN)]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
