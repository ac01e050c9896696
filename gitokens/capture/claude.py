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
from typing import Any

from gitokens.capture.model import Message, digest, parse_time, seen_int
from gitokens.records import format_timestamp

SOURCE = "claude-code"


class Entry:
    """What dedupe needs besides the message: the call's own message id and whether it is a side-chain."""

    __slots__ = ("cwd", "message", "message_id", "sidechain")

    def __init__(self, message: Message, cwd: str | None, message_id: str | None, sidechain: bool) -> None:
        self.message = message
        self.cwd = cwd
        self.message_id = message_id
        self.sidechain = sidechain

    def duplicate_keys(self) -> tuple[int, int | None]:
        """(key of this copy, key of the message id as the other kind of copy would have marked it)."""
        if self.message_id is None:
            return self.message.seen_key, None
        other = "claude-main:" if self.sidechain else "claude-side:"
        return self.message.seen_key, seen_int(other + self.message_id)

    def mark_keys(self) -> list[int]:
        keys = [self.message.seen_key]
        if self.message_id is not None:
            keys.append(seen_int(("claude-side:" if self.sidechain else "claude-main:") + self.message_id))
        return keys


def parse(data: bytes, first_line: int) -> tuple[list[Entry], list[int]]:
    """The usage entries in ``data`` (complete lines) and the numbers of the lines that are malformed.

    Lines that cannot carry usage (no ``"usage"`` in them) are not parsed at all: most of a log.
    """
    entries: list[Entry] = []
    bad: list[int] = []
    loads = json.loads
    number = first_line - 1
    for raw in data.split(b"\n"):
        number += 1
        if b'"usage"' not in raw:
            continue
        try:
            entry = _entry(loads(raw), raw)
        except (ValueError, TypeError, KeyError, AttributeError):
            bad.append(number)
            continue
        if entry is not None:
            entries.append(entry)
    return entries, bad


def _entry(obj: Any, raw: bytes) -> Entry | None:
    message = obj.get("message")
    if not isinstance(message, dict):
        return None
    usage = message.get("usage")
    if not isinstance(usage, dict) or obj.get("type", "assistant") != "assistant":
        return None
    moment = parse_time(obj["timestamp"])
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
            ts=format_timestamp(moment),
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
