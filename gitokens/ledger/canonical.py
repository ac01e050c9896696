"""The ledger line's field rules, and a fast reader of the lines that follow them all.

A ledger of 300,000 lines is read whole on a fresh clone, and checking each line field by field in Python
was most of that read. ``values`` decodes a line into a typed msgspec struct, so the JSON and nearly every
field rule are checked in compiled code, and leaves in Python only the rules between fields. It accepts a
subset of what ``record.checked_values`` accepts and gives the same values for it; for anything else
(an error, a missing ``id`` or ``commit``, a rule it cannot check) it returns None and the caller's
validation decides and words the error. The rules' patterns live here so that both readers share them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

SCHEMA_VERSION = 1
MAX_TOKENS = 10**12
ID_PATTERN = r"^[\x21-\x7e]{1,200}$"
SOURCE_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,39}$"
CANONICAL_TS_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$"
COMMIT_PATTERN = r"^[0-9a-f]{40}([0-9a-f]{24})?$"
TS_WINDOW = (1970, 9000)  # UTC years a ledger record may carry
_YEARS = (f"{TS_WINDOW[0]:04d}", f"{TS_WINDOW[1]:04d}")

_Count = Annotated[int, Meta(ge=0, le=MAX_TOKENS)]
# Stricter forms of the patterns above (no ``$`` before a final newline, ASCII digits only), which only
# send those rare lines to the full validation. Id and ts joined by a NUL (neither may hold one): one regex
# call where msgspec would make one per field.
_ID_TS = re.compile(
    r"[\x21-\x7e]{1,200}\x00[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](?:[.][0-9]{3})?Z"
)
_ID = re.compile(r"[\x21-\x7e]{1,200}")
# Sources and commits found valid before, by pattern (a note's lines share them; bounded): each kept once.
_SOURCES = (re.compile(r"[a-z0-9][a-z0-9._-]{0,39}"), dict[str, str]())
_COMMITS = (re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?"), dict[str, str]())
# The values of the fields many lines repeat (branch, author, model, ...), one string object each: 300,000
# lines name a few dozen branches and models, and rows that share their strings are read again (deduplicated,
# coded into the report's columns, cached) at a fraction of the cost of rows holding a copy each, scattered
# over the heap; the notes cache (``marshal``) keeps them shared too. Bounded.
_SHARED: dict[str, str] = {}


class _Line(msgspec.Struct, kw_only=True, gc=False, forbid_unknown_fields=True):
    """A ledger line, its fields in ``Record``'s order (``astuple`` gives ``Record.values()``).

    Unknown fields are refused: so every value is a scalar, and no line deeper than one level gets here.
    """

    id: str
    ts: str
    source: str = "manual"
    kind: Literal["usage", "tombstone"] = "usage"
    commit: str | UnsetType | None = UNSET
    branch: str | None = None
    author: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: _Count = 0
    output_tokens: _Count = 0
    cache_read_tokens: _Count = 0
    cache_write_tokens: _Count = 0
    reasoning_tokens: _Count = 0
    cache_write_1h_tokens: _Count = 0
    requests: Annotated[int, Meta(ge=1, le=MAX_TOKENS)] | None = None
    total_tokens: _Count | None = None
    endpoint: str | None = None
    session: str | None = None
    note: str | None = None
    cost_usd: Annotated[float, Meta(ge=0)] | None = None
    target: str | None = None
    v: Literal[1] = 1


_DECODE = msgspec.json.Decoder(_Line).decode
_astuple = msgspec.structs.astuple
FIELD_NAMES = _Line.__struct_fields__


def values(text: str | bytes) -> tuple[Any, ...] | None:
    """``Record.values()`` of a valid ledger line, or None where the full validation has to decide.

    Strings holding a lone surrogate fail to decode here (msgspec refuses them), so no text needs the
    replacement the full validation makes. The caller refuses a line over ``record.MAX_LINE`` bytes before
    this.
    """
    try:
        line = _DECODE(text)
    except Exception:  # any refusal, for any reason: the full validation decides
        return None
    commit = line.commit
    if commit is UNSET:
        return None  # the note's commit fills it: left to the full validation
    ts = line.ts
    if _ID_TS.fullmatch(f"{line.id}\0{ts}") is None:
        return None
    source = _known(line.source, _SOURCES)
    if source is None or not _YEARS[0] <= ts[:4] <= _YEARS[1]:
        return None  # a year outside the window is refused by the full validation, which words why
    if commit is not None:
        commit = _known(commit, _COMMITS)
        if commit is None:
            return None
    try:
        datetime.fromisoformat(ts[:-1])
    except ValueError:
        return None
    author, model, provider = line.author, line.model, line.provider
    if (author is not None and not author.strip()) or (model is not None and not model.strip()):
        return None
    if provider is not None and not provider.strip():
        return None
    shared = _SHARED
    if len(shared) > 65536:
        shared.clear()
    line.source, line.commit = source, commit
    if author is not None:
        line.author = shared.setdefault(author, author)
    if model is not None:
        line.model = shared.setdefault(model, model)
    if provider is not None:
        line.provider = shared.setdefault(provider, provider)
    if (branch := line.branch) is not None:
        line.branch = shared.setdefault(branch, branch)
    if (endpoint := line.endpoint) is not None:
        line.endpoint = shared.setdefault(endpoint, endpoint)
    if (session := line.session) is not None:
        line.session = shared.setdefault(session, session)
    found = _astuple(line)
    (inp, out, cache_read, cache_write, reasoning, write_1h, _, total) = found[9:17]
    if total is not None and (inp or out or cache_read or cache_write or reasoning):
        total = None  # the split is the truth
        found = (*found[:16], None, *found[17:])
    if (reasoning > out and total is None and line.kind == "usage") or write_1h > cache_write:
        return None
    if line.kind == "tombstone":
        target = line.target
        return found if target is not None and _ID.fullmatch(target) else None
    return found if line.target is None else None


def _known(value: str, rule: tuple[re.Pattern[str], dict[str, str]]) -> str | None:
    """``value`` if ``pattern.fullmatch(value)`` for a rule's pattern, else None; the string kept for the
    values it found valid before (one object for all the lines that name it)."""
    pattern, seen = rule
    kept = seen.get(value)
    if kept is not None:
        return kept
    if pattern.fullmatch(value) is None:
        return None
    if len(seen) > 4096:
        seen.clear()
    seen[value] = value
    return value
