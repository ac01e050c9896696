"""The parsers' fast decoders, which check a usage's counts as they decode it, read every line as the slower
reading they fall back on does: the same calls, keys, times and malformed lines, whatever the counts hold
(absent, ``null``, booleans, floats, text, negative or huge numbers, a key given twice)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from agentlogs import T0, codex_session, iso
from hypothesis import given, settings
from hypothesis import strategies as st

from gitokens.capture import claude, codex

ABSENT = object()
COUNT = st.one_of(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([0, -1, 10**12, 10**12 + 1, 2**63, 2**64 + 5, 10**30]),
    st.none(),
    st.booleans(),
    st.sampled_from([0.0, 1.0, 2.5, -0.0, 1e300]),
    st.sampled_from(["", "5", "x"]),
    st.just(ABSENT),
)


def _object(fields: dict[str, Any], twice: dict[str, Any]) -> str:
    """A JSON object of ``fields`` (an ``ABSENT`` value left out), then the keys of ``twice`` again: the
    standard library keeps the last value of a key given twice."""
    parts = [f"{json.dumps(k)}:{_value(v)}" for k, v in [*fields.items(), *twice.items()] if v is not ABSENT]
    return "{" + ",".join(parts) + "}"


def _value(value: Any) -> str:
    return value if isinstance(value, _Raw) else json.dumps(value)


class _Raw(str):
    """JSON text already."""


@st.composite
def _counts(draw: st.DrawFn, names: tuple[str, ...]) -> _Raw | None:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([None, _Raw("[]"), _Raw("7")]))
    fields = {name: draw(COUNT) for name in names}
    twice = {name: draw(COUNT) for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True))}
    return _Raw(_object(fields, twice))


CODEX_COUNTS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


@st.composite
def _codex_event(draw: st.DrawFn, at: float) -> str:
    names = (*CODEX_COUNTS, "cache_write_input_tokens")
    total, last = draw(_counts(names)), draw(_counts(names))
    info = (
        None
        if total is None and last is None
        else _Raw(_object({"total_token_usage": total, "last_token_usage": last}, {}))
    )
    payload = _Raw(_object({"type": "token_count", "info": info, "rate_limits": {"primary": None}}, {}))
    return _object({"timestamp": iso(at), "type": "event_msg", "payload": payload}, {})


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_codex_reads_any_counts_as_the_standard_library_does(data: st.DataObject) -> None:
    events = [data.draw(_codex_event(T0 + 10 + n)) for n in range(data.draw(st.integers(1, 6)))]
    blob = "".join(line + "\n" for line in [codex_session("S", "/w", T0), *events]).encode()
    fast = codex.parse(blob, 0, None, {})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(codex, "_DECODE", _refuse)
        slow = codex.parse(blob, 0, None, {})
    assert fast == slow


def _refuse(raw: bytes) -> Any:
    raise msgspec.DecodeError("read by the standard library")


@st.composite
def _claude_line(draw: st.DrawFn, at: float) -> str:
    usage = {name: draw(COUNT) for name in ("input_tokens", "output_tokens", "cache_read_input_tokens")}
    usage["cache_creation_input_tokens"] = draw(COUNT)
    usage["cache_creation"] = draw(_counts(("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")))
    if usage["cache_creation"] is None and draw(st.booleans()):
        usage["cache_creation"] = ABSENT
    twice = {name: draw(COUNT) for name in draw(st.lists(st.sampled_from(sorted(usage)), max_size=2, unique=True))}
    message = {"id": f"msg_{draw(st.integers(0, 3))}", "model": "m", "usage": _Raw(_object(usage, twice))}
    line = {"type": "assistant", "timestamp": iso(at), "sessionId": "s", "cwd": "/w", "requestId": "r"}
    return _object({**line, "message": _Raw(_object(message, {}))}, {})


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_claude_reads_any_counts_as_the_decoder_of_any_values_does(data: st.DataObject) -> None:
    """The decoder of any values is what read every line before counts were checked in decoding."""
    lines = [data.draw(_claude_line(T0 + n)) for n in range(data.draw(st.integers(1, 6)))]
    blob = "".join(line + "\n" for line in lines).encode()
    fast = claude.parse(blob, 0, len(blob))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(claude, "_DECODE", claude._LOOSE)
        slow = claude.parse(blob, 0, len(blob))
    assert fast == slow


@st.composite
def _streamed(draw: st.DrawFn, at: float) -> str:
    """A line of a call streamed over several lines, named by ids that may run into each other (``a:b`` and
    ``b`` against ``a`` and ``b:b``), or by its uuid alone."""
    line: dict[str, Any] = {"type": "assistant", "timestamp": iso(at), "sessionId": "s", "cwd": "/w"}
    mid = draw(st.sampled_from(["a", "a:b", "b", ABSENT]))
    rid = draw(st.sampled_from(["b", "b:b", "", ABSENT]))
    if rid is not ABSENT:
        line["requestId"] = rid
    line["uuid"] = draw(st.sampled_from(["u1", "u2", ABSENT]))
    counts = {name: draw(st.integers(0, 3)) for name in ("input_tokens", "output_tokens", "cache_read_input_tokens")}
    line["message"] = _Raw(_object({"id": mid, "model": "m", "usage": counts}, {}))
    return _object(line, {})


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_claude_keeps_the_copy_of_a_call_with_the_most_tokens_first_written(data: st.DataObject) -> None:
    """Copies are found by the text their key digests before any key is made; they are the lines whose keys
    are equal, and the one kept is the first of those with the most tokens."""
    lines = [data.draw(_streamed(T0 + n)) for n in range(data.draw(st.integers(1, 8)))]
    blob = "".join(line + "\n" for line in lines).encode()
    kept: dict[int, Any] = {}
    for line in lines:
        alone = (line + "\n").encode()
        for entry in claude.parse(alone, 0, len(alone))[0]:
            if entry[2] not in kept or entry[0].tokens > kept[entry[2]][0].tokens:
                kept[entry[2]] = entry
    entries, bad, copies = claude.parse(blob, 0, len(blob))
    assert bad == []
    assert entries == list(kept.values())
    assert copies == sum(len(claude.parse(b := (x + "\n").encode(), 0, len(b))[0]) for x in lines) - len(kept)
