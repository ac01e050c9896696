"""One message read from an agent log: its key, when, where, and the tokens it reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

try:  # hashlib's own blake2b, without hashlib loading OpenSSL (~4 ms of a capture with nothing new)
    from _blake2 import blake2b as blake2b
except ImportError:  # pragma: no cover - an interpreter built without it: hashlib's, whatever it is
    from hashlib import blake2b as blake2b


class Message(NamedTuple):
    """One model call as an agent logged it, in Anthropic semantics (input excludes cache reads/writes).

    ``key`` is the digest of the source's stable key for the call (Claude: ``message.id`` and
    ``requestId``, or ``message.id`` alone where the log has no ``requestId``; Codex: the session and the
    cumulative counts), so copies of one call share it. ``ts`` is the time as the log wrote it (ISO-8601);
    ``epoch`` the same in seconds.
    """

    key: bytes
    epoch: float
    ts: str
    source: str
    session: str | None
    model: str | None
    branch: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float | None
    cache_write_1h_tokens: int = 0  # the part of cache_write_tokens written to the 1-hour cache
    worktree: str | None = None  # a call without a branch, waiting: the work tree whose next commit takes it
    provider: str | None = None  # who served the call, when the log says so (Claude's and Codex's: by source)

    @property
    def prompt(self) -> int:
        """The request's whole input, cache included: what decides its long-context price tier."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def seen_key(self) -> int:
        return int.from_bytes(self.key[:8], "little")

    def to_json(self) -> list[Any]:
        return [self.key.hex(), *self[1:]]

    @classmethod
    def from_json(cls, row: Any) -> Message | None:
        try:
            key, *rest = row
            message = cls(bytes.fromhex(key), *rest)
        except (TypeError, ValueError):
            return None
        return message if len(message.key) == 16 else None


def digester(prefix: str) -> Callable[[str], bytes]:
    """``digest(prefix + text)`` as a function of ``text``, with the prefix hashed once (and a hash's
    parameters parsed once: a third of the cost of a short key)."""
    start = started(prefix)

    def digest_of(text: str) -> bytes:
        state = start.copy()
        state.update(text.encode("utf-8", "surrogatepass"))
        return state.digest()

    return digest_of


def started(prefix: str) -> blake2b:
    """The hash of every text that starts with ``prefix``, that far (``digester``'s): copied and fed the
    rest's UTF-8 (``surrogatepass``) bytes, it gives ``digester``'s digest of the rest, for a reader whose
    keys share a longer start than the source (a session) and end in a few bytes it writes itself."""
    return blake2b(prefix.encode("utf-8", "surrogatepass"), digest_size=16)


digest = digester("")
digest.__doc__ = "128 bits of BLAKE2b of a message's key."


def seen_int(text: str) -> int:
    return int.from_bytes(digest(text)[:8], "little")


def parse_time(text: Any) -> datetime:
    """A log's ISO-8601 timestamp as an aware datetime (naive means UTC); ValueError when it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


EARLIEST = 946_684_800.0  # 2000-01-01T00:00:00Z: no agent logged usage before; the ledger takes no earlier time


def latest() -> float:
    """The latest time a call may have: a day ahead of now. A line dated before ``EARLIEST`` or after this is
    reported as malformed: no ledger record may carry its time (a parser takes this once, not per line)."""
    return time.time() + 86_400


def out_of_range(epoch: float) -> ValueError:
    """The error of a line whose time is out of range (see ``latest``)."""
    return ValueError(f"time out of range: {epoch} s since 1970")
