"""The ledger line's field rules, and a fast reader of the lines that follow them all.

A ledger of 300,000 lines is read whole on a fresh clone, and checking each line field by field in Python
was most of that read. ``values`` decodes a line into a typed msgspec struct, so the JSON and nearly every
field rule are checked in compiled code, and leaves in Python only the rules between fields. It accepts a
subset of what ``record.checked_values`` accepts and gives the same values for it; for anything else
(an error, a missing ``id`` or ``commit``, a rule it cannot check) it returns None and the caller's
validation decides and words the error. The rules' patterns live here so that both readers share them.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from operator import attrgetter, gt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

SCHEMA_VERSION = 1
MAX_TOKENS = 10**12
MAX_LINE = 64 * 1024  # bytes in one ledger line
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
_DECODE_LINES = msgspec.json.Decoder(_Line).decode_lines
_astuple = msgspec.structs.astuple
FIELD_NAMES = _Line.__struct_fields__
_GETTERS = tuple(attrgetter(name) for name in FIELD_NAMES)
_ID_AT, _TS_AT, _SOURCE_AT, _KIND_AT, _COMMIT_AT = range(5)
_SPLIT_AT, _W1H_AT, _TOTAL_AT = 9, 14, 16  # the first of the five split counts, the 1h writes, the total
_TARGET_AT = FIELD_NAMES.index("target")
_OUTPUT_AT, _CACHE_WRITE_AT, _REASONING_AT = 10, 12, 13
_SHARED_AT = tuple(FIELD_NAMES.index(name) for name in ("branch", "author", "model", "provider", "endpoint", "session"))
_NAMED_AT = tuple(FIELD_NAMES.index(name) for name in ("author", "model", "provider"))  # never blank
# Patterns of ``_ID_TS`` and ``_known`` for many values at once, each followed by a NUL (which none may hold).
_ID_BYTES = bytes(range(0x21, 0x7F))  # what an id is made of
_SOURCE_LIST = re.compile(r"(?:[a-z0-9][a-z0-9._-]{0,39}\x00)*")
_COMMIT_LIST = re.compile(r"(?:[0-9a-f]{40}(?:[0-9a-f]{24})?\x00)*")
# Canonical timestamps in the years of ``TS_WINDOW`` naming a real moment (29 February: ``_leap_days``).
_STAMPS = re.compile(
    r"(?:(?:19[7-9][0-9]|[2-8][0-9]{3}|9000)-"
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31|02-29)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.][0-9]{3})?Z\x00)*"
)


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


def columns_of(notes: list[tuple[str, bytes]]) -> tuple[list[str], list[list[Any]]] | None:
    """The records of whole notes read at once, as ``values`` reads each line: the commit whose note holds each
    record, and each field of ``Record.values()`` as a list (a row per line, in order). None when any line
    needs more than ``values`` gives (a blank or bad line, a line ``values`` leaves to the full validation,
    a line over ``MAX_LINE`` bytes, a note not ending in a newline): the caller reads those notes line by line.

    One C call decodes every line, and the rules ``values`` checks per line are checked per field over all
    the lines (patterns over the joined values, each distinct source, commit and name once). Rows share the
    strings of the fields many lines repeat, as ``values`` makes them.
    """
    blobs = [blob for _, blob in notes]
    joined = b"".join(blobs)
    per_note = list(map(bytes.count, blobs, itertools.repeat(b"\n")))
    count = sum(per_note)
    # Every line one JSON object alone: each newline but the last between a "}" and a "{" (none may stand in
    # a string), so the decoder, which reads values one after another, meets one per line; the count proves it.
    if joined[:1] != b"{" or joined[-2:] != b"}\n" or joined.count(b"}\n{") != count - 1:
        return None
    if max(map(len, blobs)) > MAX_LINE and any(len(line) > MAX_LINE for blob in blobs for line in blob.split(b"\n")):
        return None
    try:
        lines = _DECODE_LINES(joined)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if len(lines) != count:
        return None
    fields = [list(map(getter, lines)) for getter in _GETTERS]
    if not _valid(fields, count):
        return None
    _share(fields)
    attached = list(itertools.chain.from_iterable(map(itertools.repeat, (commit for commit, _ in notes), per_note)))
    return attached, fields


def _valid(fields: list[list[Any]], n: int) -> bool:
    """Whether every row passes ``values``' checks (and the totals its split makes moot are unset)."""
    if UNSET in fields[_COMMIT_AT]:
        return False
    if not _ids_valid(fields[_ID_AT]):
        return False
    stamps = "\0".join(fields[_TS_AT]) + "\0"
    if _STAMPS.fullmatch(stamps) is None or ("-02-29T" in stamps and not _leap_days(fields[_TS_AT])):
        return False
    if not _known_all(fields, _SOURCE_AT, _SOURCE_LIST) or not _known_all(fields, _COMMIT_AT, _COMMIT_LIST):
        return False
    for at in _NAMED_AT:
        if any(not name.strip() for name in set(fields[at]) if name is not None):
            return False
    if any(map(gt, fields[_W1H_AT], fields[_CACHE_WRITE_AT])):
        return False
    kinds, targets, totals = fields[_KIND_AT], fields[_TARGET_AT], fields[_TOTAL_AT]
    if totals.count(None) != n:
        splits = fields[_SPLIT_AT : _SPLIT_AT + 5]
        for row, total in enumerate(totals):
            if total is not None and any(split[row] for split in splits):
                totals[row] = None  # the split is the truth
    if any(map(gt, fields[_REASONING_AT], fields[_OUTPUT_AT])):
        outputs, reasoning = fields[_OUTPUT_AT], fields[_REASONING_AT]
        for row in range(n):
            if reasoning[row] > outputs[row] and totals[row] is None and kinds[row] == "usage":
                return False
    if kinds.count("usage") != n or targets.count(None) != n:
        for kind, target in zip(kinds, targets, strict=True):
            if kind == "tombstone":
                if target is None or _ID.fullmatch(target) is None:
                    return False
            elif target is not None:
                return False
    return True


def _ids_valid(ids: list[str]) -> bool:
    """Whether every id is 1 to 200 printable ASCII characters, without a space (``_ID``)."""
    if not ids or min(map(len, ids)) < 1 or max(map(len, ids)) > 200:
        return False
    joined = "\0".join(ids)
    # With the allowed bytes deleted, only the n - 1 separators may be left.
    return joined.isascii() and len(joined.encode("ascii").translate(None, _ID_BYTES)) == len(ids) - 1


def _leap_days(stamps: list[str]) -> bool:
    """Whether every 29 February among ``stamps`` falls in a leap year."""
    for year in {stamp[:4] for stamp in stamps if stamp[4:11] == "-02-29T"}:
        number = int(year)
        if number % 4 or (number % 100 == 0 and number % 400):
            return False
    return True


def _known_all(fields: list[list[Any]], at: int, pattern: re.Pattern[str]) -> bool:
    """Whether each value of one field is None or one of ``pattern``'s values, each distinct value checked
    once; the field's rows then share one string per value."""
    column = fields[at]
    kept: dict[str | None, str | None] = dict.fromkeys(column)
    kept.pop(None, None)
    if kept and pattern.fullmatch("\0".join(kept) + "\0") is None:  # type: ignore[arg-type]
        return False
    for value in kept:
        kept[value] = value
    kept[None] = None
    fields[at] = list(map(kept.__getitem__, column))
    return True


def _share(fields: list[list[Any]]) -> None:
    """The fields many rows repeat, one string object per value (see ``_SHARED``)."""
    shared = _SHARED
    if len(shared) > 65536:
        shared.clear()
    for at in _SHARED_AT:
        fields[at] = list(map(shared.setdefault, fields[at], fields[at]))
