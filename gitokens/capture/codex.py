"""Codex's rollout logs: ``${CODEX_HOME:-~/.codex}/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``.

Each line is ``{"timestamp", "type", "payload"}``. ``session_meta`` (the first line) gives the session
``id``, ``cwd`` and ``git.branch`` / ``git.commit_hash``, and for a forked or spawned sub-agent the
session it came from (``forked_from_id``, or ``source.subagent.thread_spawn.parent_thread_id``);
``turn_context`` gives the ``model`` (and ``cwd``) of the turns that follow; an ``event_msg`` whose
payload ``type`` is ``token_count`` has ``info.last_token_usage`` (this call) and
``info.total_token_usage`` (the session so far): ``input_tokens`` of which ``cached_input_tokens`` were
cache reads, ``output_tokens`` of which ``reasoning_output_tokens`` were reasoning.

A call is keyed by the session family it belongs to (the session at the root of its forks) and its
cumulative counts: a sub-agent's log replays its parent's ``token_count`` events with the parent's
counts, so the replayed copies share the parent's keys and count once; a repeated event (Codex writes
one again when only rate limits changed) does too. Events with only ``last_token_usage`` are keyed by
session, time and counts.
"""

from __future__ import annotations

import json
from typing import Any

from gitokens.capture.model import Message, digest, parse_time

SOURCE = "codex"
_MARKERS = (b'"token_count"', b'"turn_context"', b'"session_meta"')
_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


def parse(
    data: bytes, base: int, context: dict[str, Any] | None, parents: dict[str, str]
) -> tuple[list[tuple[Message, str | None]], list[int], dict[str, Any]]:
    """(message, cwd) pairs for the usage in ``data`` (complete lines found at offset ``base`` of the file),
    the offsets of the malformed lines, and the context to continue from. ``parents`` maps sessions to the
    session they were forked from (read and extended)."""
    ctx: dict[str, Any] = dict(context or {})
    found: list[tuple[Message, str | None]] = []
    bad: list[int] = []
    offset = base
    for raw in data.split(b"\n"):
        line_at, offset = offset, offset + len(raw) + 1
        if not any(marker in raw for marker in _MARKERS):
            continue
        try:
            obj = json.loads(raw)
            kind = obj.get("type")
            payload = obj.get("payload")
            if not isinstance(payload, dict):
                continue
            if kind == "session_meta":
                _session(ctx, payload, parents)
            elif kind == "turn_context":
                if isinstance(payload.get("model"), str):
                    ctx["model"] = payload["model"]
                if isinstance(payload.get("cwd"), str):
                    ctx["cwd"] = payload["cwd"]
            elif kind == "event_msg" and payload.get("type") == "token_count":
                message = _usage(ctx, obj, payload)
                if message is not None:
                    found.append((message, ctx.get("cwd")))
        except (ValueError, TypeError, KeyError, AttributeError):
            bad.append(line_at)
    return found, bad, ctx


def _session(ctx: dict[str, Any], payload: dict[str, Any], parents: dict[str, str]) -> None:
    if ctx.get("session"):
        return  # a sub-agent's log repeats its parent's session_meta after its own: the first one is the file's
    session = payload.get("id")
    if not isinstance(session, str) or not session:
        raise ValueError("session_meta without an id")
    parent = payload.get("forked_from_id")
    if not isinstance(parent, str) or not parent:
        parent = _dig(payload, "source", "subagent", "thread_spawn", "parent_thread_id")
    if isinstance(parent, str) and parent and parent != session:
        parents[session] = parent
    root, hops = session, 0
    while root in parents and hops < 100:
        root, hops = parents[root], hops + 1
    git = payload.get("git")
    branch = git.get("branch") if isinstance(git, dict) else None
    ctx.update(
        session=session,
        root=root,
        cwd=payload.get("cwd") if isinstance(payload.get("cwd"), str) else None,
        branch=branch if isinstance(branch, str) and branch else None,
    )


def _dig(value: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _vector(value: Any) -> list[int] | None:
    if not isinstance(value, dict):
        return None
    out = []
    for name in _FIELDS:
        count = value.get(name) or 0
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{name}: not a token count")
        out.append(count)
    return out


def _usage(ctx: dict[str, Any], obj: dict[str, Any], payload: dict[str, Any]) -> Message | None:
    info = payload.get("info")
    if not isinstance(info, dict):
        return None  # a rate-limit update without usage
    moment = parse_time(obj["timestamp"])
    total = _vector(info.get("total_token_usage"))
    last = _vector(info.get("last_token_usage"))
    previous = ctx.get("total")
    if total is not None:
        ctx["total"] = total
    if last is None:
        if total is None:
            return None
        last = [max(a - b, 0) for a, b in zip(total, previous or [0, 0, 0, 0], strict=True)]
    if not any(last):
        return None
    session = ctx.get("session") or "unknown"
    if total is not None:
        key = f"codex:{ctx.get('root') or session}:{total}:{last}"
    else:
        key = f"codex:{session}:{obj['timestamp']}:{last}"
    uncached, cached, output, reasoning = last
    cached = min(cached, uncached)
    return Message(
        key=digest(key),
        epoch=moment.timestamp(),
        ts=obj["timestamp"],
        source=SOURCE,
        session=ctx.get("session"),
        model=ctx.get("model"),
        branch=ctx.get("branch"),
        input_tokens=uncached - cached,
        output_tokens=output,
        cache_read_tokens=cached,
        cache_write_tokens=0,
        reasoning_tokens=min(reasoning, output),
        cost_usd=None,
    )
