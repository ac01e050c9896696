"""Claude Code's logs: one JSON object per line; assistant entries carry the API usage of one call.

An assistant entry has ``timestamp``, ``sessionId``, ``cwd``, ``gitBranch``, ``requestId``,
``isSidechain``, sometimes ``costUSD``, and ``message`` with ``id``, ``model`` and ``usage``
(``input_tokens``, ``output_tokens``, ``cache_creation_input_tokens``, ``cache_read_input_tokens``).
One call is written several times (a line per content block while streaming, again in a resumed
session, again in a side-chain that replays its parent): ``message.id`` + ``requestId`` name the call,
and the first line of a call counts, as ccusage counts it. A side-chain copy of a parent's message (same
``message.id``, another ``requestId``) is the same call too.
"""

from __future__ import annotations

import hashlib
import json
import mmap
from typing import Any

from gitokens.capture.model import Message, digest, parse_time, seen_int

SOURCE = "claude-code"


Buffer = bytes | mmap.mmap
_SIDE = 0x5EDE_C4A1_0000_0001  # turns a message id's digest into the mark its side-chain copies leave


class Entry:
    """What dedupe needs besides the message: the digests of its message id as a main-conversation copy
    and as a side-chain copy."""

    __slots__ = ("cwd", "main", "message", "side", "sidechain")

    def __init__(self, message: Message, cwd: str | None, message_id: str | None, sidechain: bool) -> None:
        self.message = message
        self.cwd = cwd
        self.sidechain = sidechain
        self.main = seen_int("claude-message:" + message_id) if message_id is not None else None
        self.side = self.main ^ _SIDE if self.main is not None else None

    def duplicate_keys(self) -> tuple[int, int | None]:
        """(key of this copy, the mark a copy of the other kind would have left)."""
        return self.message.seen_key, self.main if self.sidechain else self.side

    def mark_keys(self) -> list[int]:
        mark = self.side if self.sidechain else self.main
        return [self.message.seen_key] if mark is None else [self.message.seen_key, mark]


_USAGE = b'"usage"'
_MESSAGE_ID = b'"message":{"id":"'
_REQUEST_ID = b'"requestId":"'


def parse(data: Buffer, begin: int, stop: int) -> tuple[list[Entry], list[int], int]:
    """The usage entries in ``data[begin:stop]`` (complete lines), the offsets of the lines that are
    malformed, and how many lines were skipped as further copies of a call already seen there.

    Lines that cannot carry usage (no ``"usage"`` in them) are not parsed at all: most of a log. The
    further lines of one streamed call (same ``message.id`` and ``requestId``, found as the raw
    ``"message":{"id":"`` and ``"requestId":"`` that Claude Code writes) are not parsed either.
    """
    entries: list[Entry] = []
    bad: list[int] = []
    calls: set[bytes] = set()
    copies = 0
    decode = _DECODER.raw_decode
    find, rfind = data.find, data.rfind
    at = find(_USAGE, begin, stop)
    while at >= 0:  # only the lines with "usage" in them: most of the bytes are never looked at in Python
        start = max(rfind(b"\n", begin, at) + 1, begin)
        end = find(b"\n", at, stop)
        end = stop if end < 0 else end
        at = find(_USAGE, end, stop)
        raw = data[start:end]
        call = _call(raw)
        if call is not None and call in calls:
            copies += 1
            continue
        try:
            text = raw.decode("utf-8")
            try:
                obj, parsed = decode(text)
                if parsed != len(text) and text[parsed:].strip():
                    raise ValueError("extra data")
            except ValueError:
                obj = json.loads(text)  # leading blanks, or the real error to report
            entry = _entry(obj, raw)
        except (ValueError, TypeError, KeyError, AttributeError):
            bad.append(start)
            continue
        if entry is not None:
            entries.append(entry)
            if call is not None:
                calls.add(call)
    return entries, bad, copies


_DECODER = json.JSONDecoder()


def _call(raw: bytes) -> bytes | None:
    """The raw ``message.id`` and ``requestId`` of a line, when both are written the usual way."""
    start = raw.find(_MESSAGE_ID)
    request = raw.rfind(_REQUEST_ID)
    if start < 0 or request < 0:
        return None
    start += len(_MESSAGE_ID)
    request += len(_REQUEST_ID)
    return raw[start : raw.find(b'"', start)] + b" " + raw[request : raw.find(b'"', request)]


def _entry(obj: Any, raw: bytes) -> Entry | None:
    message = obj.get("message")
    if not isinstance(message, dict):
        return None
    usage = message.get("usage")
    if not isinstance(usage, dict) or obj.get("type", "assistant") != "assistant":
        return None
    ts = obj["timestamp"]
    moment = parse_time(ts)
    message_id = message.get("id")
    request_id = obj.get("requestId")
    if isinstance(message_id, str) and isinstance(request_id, str):
        key = f"claude:{message_id}:{request_id}"
    elif isinstance(obj.get("uuid"), str):
        key = f"claude-entry:{obj['uuid']}"
    else:
        key = "claude-line:" + hashlib.blake2b(raw, digest_size=16).hexdigest()
    cost = obj.get("costUSD")
    branch = obj.get("gitBranch")
    model = message.get("model")
    session = obj.get("sessionId")
    cwd = obj.get("cwd")
    return Entry(
        Message(
            key=digest(key),
            epoch=moment.timestamp(),
            ts=ts,
            source=SOURCE,
            session=session if isinstance(session, str) and session else None,
            model=model if isinstance(model, str) and model.strip() else None,
            branch=branch if isinstance(branch, str) and branch and branch != "HEAD" else None,
            input_tokens=_count(usage.get("input_tokens")),
            output_tokens=_count(usage.get("output_tokens")),
            cache_read_tokens=_count(usage.get("cache_read_input_tokens")),
            cache_write_tokens=_count(usage.get("cache_creation_input_tokens")),
            reasoning_tokens=0,
            cost_usd=float(cost)
            if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0
            else None,
        ),
        cwd if isinstance(cwd, str) else None,
        message_id if isinstance(message_id, str) else None,
        obj.get("isSidechain") is True,
    )


def _count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"not a token count: {value!r}")
    return value
