"""Claude Code's logs: one JSON object per line; assistant entries carry the API usage of one call.

An assistant entry has ``timestamp``, ``sessionId``, ``cwd``, ``gitBranch``, ``requestId``,
``isSidechain``, sometimes ``costUSD``, and ``message`` with ``id``, ``model`` and ``usage``
(``input_tokens``, ``output_tokens``, ``cache_creation_input_tokens``, ``cache_read_input_tokens``).
One call is written several times (a line per content block while streaming, again in a resumed
session, again in a side-chain that replays its parent): ``message.id`` + ``requestId`` name the call
(``message.id`` alone in newer versions, which write no ``requestId``). While streaming, the usage on a
call's lines grows (output 1, 1, 260): in one file the copy with the most tokens counts, as ccusage counts
it; across files and captures the first copy taken does. A side-chain copy of a parent's message (same
``message.id``, another ``requestId``) is the same call too. ``usage.cache_creation`` splits the cache
writes into 5-minute and 1-hour ones, priced apart.
"""

from __future__ import annotations

import json
import mmap
import struct
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
import orjson

from gitokens.capture.model import EARLIEST, Message, blake2b, digest, latest, out_of_range, started

SOURCE = "claude-code"


Buffer = bytes | mmap.mmap
_SIDE = 0x5EDE_C4A1_0000_0001  # turns a message id's digest into the mark its side-chain copies leave
_MAKE = tuple.__new__  # a named tuple from a plain one, without the keyword-argument constructor
# A call's key digests "claude:<message.id>:<requestId>"; the mark a call's other copies share digests
# "claude-message:<message.id>". Each copy of these starts fed its prefix (``model.digester``, inlined).
_CALL_START, _MESSAGE_START = started("claude:"), started("claude-message:")
_LOW = struct.Struct("<Q").unpack_from  # a digest's first 8 bytes as an int (little-endian): a seen-mark
_ISO = datetime.fromisoformat


_Count = Annotated[int, msgspec.Meta(ge=0)] | None


class _Split(msgspec.Struct, gc=False):
    ephemeral_5m_input_tokens: _Count = None
    ephemeral_1h_input_tokens: _Count = None


class _Usage(msgspec.Struct, gc=False):
    """A call's usage as the decoder checked it: each count a JSON integer, not negative, or absent or
    ``null``; ``cache_creation`` an object of such counts, or absent or ``null``. A usage of another shape
    sends the line to the decoder of any values (``_LooseLine``: the counts checked in ``_counts``)."""

    input_tokens: _Count = None
    output_tokens: _Count = None
    cache_creation_input_tokens: _Count = None
    cache_read_input_tokens: _Count = None
    cache_creation: _Split | None = None


class _Message(msgspec.Struct, gc=False):
    id: Any = None
    model: Any = None
    usage: _Usage | None = None


class _Line(msgspec.Struct, gc=False):
    """The fields of a log line that a call's usage needs; the rest (a line's content: most of its bytes)
    is skipped over, not decoded. The fields keep the log's own names."""

    type: Any = "assistant"
    timestamp: Any = None
    sessionId: Any = None
    cwd: Any = None
    gitBranch: Any = None
    requestId: Any = None
    isSidechain: Any = None
    costUSD: Any = None
    uuid: Any = None
    message: _Message | None = None


class _LooseUsage(_Usage):
    """A usage as the standard library read it, any values: checked when counted."""

    input_tokens: Any = None
    output_tokens: Any = None
    cache_creation_input_tokens: Any = None
    cache_read_input_tokens: Any = None
    cache_creation: Any = None


class _LooseMessage(_Message):
    usage: _LooseUsage | None = None


class _LooseLine(_Line):
    message: _LooseMessage | None = None


_DECODE = msgspec.json.Decoder(_Line).decode
_LOOSE = msgspec.json.Decoder(_LooseLine).decode


Candidate = tuple[Message, str | None, int, int | None, tuple[int, ...]]
"""A parsed call: the message, its cwd, its key, the mark a copy of the other kind (main conversation or
side-chain) of the same message id would have left, and the marks this copy leaves once taken."""


# Ends in ':', rarer in JSON text than '"': the search skips ahead on its last byte (~12% faster over
# 500 MB of logs). Claude Code writes compact JSON: a usage key is always followed by its colon.
_USAGE = b'"usage":'


def parse(data: Buffer, begin: int, stop: int) -> tuple[list[Candidate], list[int], int]:
    """The usage entries in ``data[begin:stop]`` (complete lines), the offsets of the lines that are
    malformed, and how many lines were further copies of a call found there.

    Lines that cannot carry usage (no ``"usage":`` in them) are not parsed at all: most of a log. A call
    streamed on several lines (one per content block, the usage growing as it streams: output 1, 1, 260)
    is the copy with the most tokens, as the last line written holds the call's final usage.
    """
    entries: list[Candidate] = []
    most: list[int] = []  # the tokens of each entry
    bad: list[int] = []
    calls: dict[Name, int] = {}  # a call's name -> its entry
    copies = 0
    newest = latest()
    find, rfind, decode, failure = data.find, data.rfind, _DECODE, msgspec.MsgspecError
    at = find(_USAGE, begin, stop)
    while at >= 0:  # only the lines with "usage" in them: most of the bytes are never looked at in Python
        start = rfind(b"\n", begin, at) + 1 or begin
        end = find(b"\n", at, stop)
        if end < 0:
            end = stop
        at = find(_USAGE, end, stop)
        raw = data[start:end]
        try:
            try:  # the usual line straight into its fields; the others as _decode reads them
                line: _Line | None = decode(raw)
            except failure as error:
                line = _decode(raw, error)
            call = None if line is None else _call(line, raw, newest)
        except (ValueError, TypeError, KeyError, AttributeError):
            bad.append(start)
            continue
        if call is None or line is None:
            continue
        name = call[0]
        index = calls.get(name)
        if index is None:
            calls[name] = len(entries)
            entries.append(_entry(line, call))
            most.append(call[2])
            continue
        copies += 1  # a copy's key and entry are made only when it has more tokens than the one kept
        if call[2] > most[index]:
            entries[index] = _entry(line, call)
            most[index] = call[2]
    return entries, bad, copies


def _decode(raw: bytes, error: msgspec.MsgspecError) -> _Line | None:
    """The fields of a line the typed decoder (``_DECODE``) refused with ``error``, or None when it has no
    ``message.usage`` object; ValueError when the line is not a JSON object.

    Into ``_LooseLine`` (the counts checked later) when only the counts were not counts; otherwise read
    whole (the standard library deciding what orjson refuses), and a line whose ``message`` or ``usage`` is
    not an object has no usage. Either way every field has the value the typed decoder would have given."""
    if isinstance(error, msgspec.ValidationError):
        try:
            return _LOOSE(raw)
        except msgspec.MsgspecError:
            pass
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = json.loads(raw.decode("utf-8"))  # what orjson refuses and json reads, or the real error
    if type(obj) is not dict:
        raise ValueError("not a JSON object")
    message = obj.get("message")
    if type(message) is not dict or type(message.get("usage")) is not dict:
        return None
    return msgspec.convert(obj, _LooseLine)


Name = str | tuple[str, str]
"""What names a call in one parse, so that its copies are found before their keys are made: the text its key
is the digest of after ``claude:`` (``<message.id>:<requestId>``), or ``("entry", uuid)`` or ``("line", the
digest of the line)``. Two calls have the same name exactly when they have the same key."""


Call = tuple[Name, float, int, tuple[int, int, int, int, int]]
"""A usage line's call: its name, time, tokens (the four counts added up) and counts (input, output, cache
read, cache write and the 1-hour part of it)."""


def _call(line: _Line, raw: bytes, newest: float) -> Call | None:
    """A usage line's call; None when the line is no call (not the assistant's, no tokens); ValueError when
    its time or counts are not ones."""
    message = line.message
    if message is None or line.type != "assistant":
        return None
    usage = message.usage
    if usage is None:
        return None
    ts = line.timestamp
    if type(ts) is not str:
        raise ValueError(f"not a timestamp: {ts!r}")
    moment = _ISO(ts)
    epoch = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()  # naive: UTC
    if not EARLIEST <= epoch <= newest:
        raise out_of_range(epoch)
    if type(usage) is _Usage:  # the counts checked by the decoder: each an int or None
        inp, out, read = usage.input_tokens or 0, usage.output_tokens or 0, usage.cache_read_input_tokens or 0
        write, split = usage.cache_creation_input_tokens, usage.cache_creation
        one_hour = 0 if split is None else split.ephemeral_1h_input_tokens or 0
        if write is None:  # older logs: the split alone
            write = one_hour + (0 if split is None else split.ephemeral_5m_input_tokens or 0)
        counts = inp, out, read, write, min(one_hour, write)
    else:
        counts = _loose_counts(usage)
        inp, out, read, write, _ = counts
    tokens = inp + out + read + write
    if not tokens:
        return None  # a synthetic message (an API error, an interruption): no tokens were spent
    message_id = message.id
    if type(message_id) is str:
        request_id = line.requestId
        if type(request_id) is str:
            return message_id + ":" + request_id, epoch, tokens, counts
        return message_id + ":", epoch, tokens, counts  # newer versions write no requestId: the id alone
    if type(line.uuid) is str:
        return ("entry", line.uuid), epoch, tokens, counts
    return ("line", blake2b(raw, digest_size=16).hexdigest()), epoch, tokens, counts


def _entry(line: _Line, call: Call) -> Candidate:
    """The candidate of a call: its message, cwd, key and marks."""
    message = line.message
    assert message is not None
    name, epoch, _, (inp, out, read, write, write_1h) = call
    if type(name) is str:
        hashing = _CALL_START.copy()
        hashing.update(name.encode("utf-8", "surrogatepass"))
        key = hashing.digest()
    else:
        key = digest(f"claude-{name[0]}:{name[1]}")
    cost, branch, model, session, cwd = line.costUSD, line.gitBranch, message.model, line.sessionId, line.cwd
    entry: Message = _MAKE(
        Message,
        (
            key,
            epoch,
            line.timestamp,
            SOURCE,
            session if type(session) is str and session else None,
            model if type(model) is str and model.strip() else None,
            branch if type(branch) is str and branch and branch != "HEAD" else None,
            inp,
            out,
            read,
            write,
            0,
            float(cost) if type(cost) in (int, float) and cost >= 0 else None,
            write_1h,
            None,
            None,
        ),
    )
    own: int = _LOW(key)[0]
    if type(cwd) is not str:
        cwd = None
    message_id = message.id
    if type(message_id) is not str:
        return entry, cwd, own, None, (own,)
    hashing = _MESSAGE_START.copy()
    hashing.update(message_id.encode("utf-8", "surrogatepass"))
    main: int = _LOW(hashing.digest())[0]
    side = main ^ _SIDE
    if line.isSidechain is True:
        return entry, cwd, own, main, (own, side)
    return entry, cwd, own, side, (own, main)


def _loose_counts(usage: _Usage) -> tuple[int, int, int, int, int]:
    """Input, output, cache read, cache write and its 1-hour part of a usage the standard library read:
    ``cache_creation_input_tokens`` is all the writes, ``cache_creation`` splits them into 5-minute and
    1-hour ones (older logs lack one or the other). An absent or falsy count is 0; ValueError when a count
    is not a count (the typed decoder checked the others: ``_call``)."""
    write, split = usage.cache_creation_input_tokens, usage.cache_creation
    five = one_hour = 0
    if isinstance(split, dict):  # a _LooseUsage's: any value
        five = split.get("ephemeral_5m_input_tokens") or 0
        one_hour = split.get("ephemeral_1h_input_tokens") or 0
    values = (
        usage.input_tokens or 0,
        usage.output_tokens or 0,
        usage.cache_read_input_tokens or 0,
        write or 0,
        five,
        one_hour,
    )
    for value in values:
        if type(value) is not int or value < 0:
            raise ValueError(f"not a token count: {value!r}")
    inp, out, read, write, five, one_hour = values
    if usage.cache_creation_input_tokens is None:
        write = five + one_hour
    return inp, out, read, write, min(one_hour, write)
