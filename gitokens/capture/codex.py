"""Codex's rollout logs: ``${CODEX_HOME:-~/.codex}/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``.

What a rollout holds, as read in several versions (late 2025 to 2026) of openai/codex's ``codex-rs``: the
protocol types in ``protocol/src/protocol.rs``; the writer in ``core/src/rollout/recorder.rs`` (later
``rollout/src/recorder.rs``) and what it keeps in ``rollout/policy.rs``; ``core/src/git_info.rs``; forks in
``core/src/codex.rs`` (``record_initial_history``) and ``core/src/agent/control/spawn.rs``:

- Every line is ``{"timestamp", "type", "payload"}``. The timestamp is when the writer wrote the line
  (``now_utc`` in ``JsonlWriter``), not when its item first happened.
- ``session_meta`` (the first line) names the session ``id``, its ``cwd``, ``forked_from_id`` for a fork,
  ``source`` (``{"subagent": {"thread_spawn": {"parent_thread_id", "depth", ...}}}`` for a spawned
  sub-agent, else a word such as ``"cli"``) and ``git`` (``commit_hash``, ``branch``, ``repository_url``):
  ``git`` is left out when the cwd is in no repository, ``branch`` when HEAD is detached. The session is
  then kept with no branch but with its cwd, so that attribution can still place it by the work tree.
- ``turn_context`` (one per turn) gives the ``model`` and ``cwd`` of the calls that follow.
- An ``event_msg`` whose payload ``type`` is ``token_count`` has ``info`` null (a rate-limit update) or
  ``{total_token_usage, last_token_usage, model_context_window}``: the session so far and the last call,
  each ``input_tokens`` (of which ``cached_input_tokens`` were cache reads and, in later versions,
  ``cache_write_input_tokens`` cache writes), ``output_tokens`` (of which ``reasoning_output_tokens`` were
  reasoning) and ``total_tokens``. Codex writes the same ``info`` again when only ``rate_limits`` changed.
  Upstream writes no model on this event; other builds write ``info.model``, ``info.model_name`` or
  ``info.metadata.model`` (or the same on the payload), which ccusage reads as well: that model comes first,
  then the last ``turn_context``'s, else none (the report lists the call as unpriced). Never
  ``rate_limits.normal_model_slug``: a quota alias, "never a replacement for the request model".

Forks. A fork (``codex fork``, the TUI's backtrack, a sub-agent spawned with its parent's history) writes
its own session_meta (``forked_from_id``: the parent; a sub-agent also names it in ``source``) and then, in
the same burst, the parent's items as they were (``InitialHistory::Forked``, possibly cut to the last turns):
the parent's own session_meta (a fork of a fork: its ancestors' too), turn_contexts, and token_count events
with the parent's counts, all re-stamped with the time of the copy. The fork's session then continues the
parent's running totals (``last_token_info_from_rollout``). A sub-agent spawned without history names its
parent in ``source`` only and copies nothing; newer versions may keep a fork's history by reference.

So the replay is the run of lines written together right after the file's own session_meta (each of its
session_meta, turn_context and token_count lines within ``REPLAY_GAP`` of the one before: the fork's own
first call needs a model round trip after the copy), in a file whose session_meta has ``forked_from_id`` or
that copies another session's session_meta into that run. Its token_count events are the parent's calls,
counted from the parent's own log when it is there and never from this one; they only carry the running
totals on (an event with only totals counts the difference from the one before). ccusage skips a
sub-agent's token_count events that share the first one's second: the same idea, without cutting a long
copy at a second's edge. The fork's turn_contexts are read whether copied or not (the last one before a
call is the fork's own). A call is keyed by its session and its cumulative counts, so a repeated event, an
archived copy of the file or a file read again counts once, whatever the order the files come in; the key
does not depend on where a read stopped, and the context saved with the file's offset carries the run, the
totals and the model on to the next read.
"""

from __future__ import annotations

import json
from typing import Any

from gitokens.capture.model import Message, checked_epoch, digest, parse_time

SOURCE = "codex"
REPLAY_GAP = 1.0  # seconds between two lines of the burst in which a fork copies its parent's items
MAX_LINE = 8 << 20  # a session_meta carries the instructions (tens of KiB); a line past this is not Codex's
MAX_COUNT = 10**12  # a token count past this is not a count
_MARKERS = (b'"token_count"', b'"turn_context"', b'"session_meta"')
_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "cache_write_input_tokens",
)
_EMPTY = [0] * len(_FIELDS)


def parse(
    data: bytes, base: int, context: dict[str, Any] | None, parents: dict[str, str]
) -> tuple[list[tuple[Message, str | None]], list[int], dict[str, Any]]:
    """(message, cwd) pairs for the usage in ``data`` (complete lines found at offset ``base`` of the file),
    the offsets of the malformed lines, and the context to continue from. ``parents`` maps sessions to the
    session they were forked from or spawned by (extended with the edges the lines name)."""
    ctx = _restore(context)
    found: list[tuple[Message, str | None]] = []
    bad: list[int] = []
    offset = base
    for raw in data.split(b"\n"):
        line_at, offset = offset, offset + len(raw) + 1
        if not any(marker in raw for marker in _MARKERS):
            continue
        try:
            if len(raw) > MAX_LINE:
                raise ValueError("line too long")
            obj = json.loads(raw)
            kind = obj.get("type")
            payload = obj.get("payload")
            if not isinstance(payload, dict):
                continue
            if kind == "session_meta":
                _session(ctx, obj, payload, parents)
            elif kind == "turn_context":
                _in_run(ctx, _epoch(obj))
                model = _model(payload)
                if model is not None:
                    ctx["model"] = model
                if isinstance(payload.get("cwd"), str):
                    ctx["cwd"] = payload["cwd"]
            elif kind == "event_msg" and payload.get("type") == "token_count":
                message = _usage(ctx, obj, payload)
                if message is not None:
                    found.append((message, ctx.get("cwd")))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            bad.append(line_at)
    return found, bad, ctx


def _restore(context: dict[str, Any] | None) -> dict[str, Any]:
    """The saved context, with anything of the wrong shape dropped (it comes back from a state file)."""
    saved = context or {}
    ctx: dict[str, Any] = {k: saved[k] for k in ("session", "cwd", "branch", "model") if isinstance(saved.get(k), str)}
    for flag in ("forked", "run"):
        if saved.get(flag) is True:
            ctx[flag] = True
    at = saved.get("run_at")
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        ctx["run_at"] = float(at)
    total = saved.get("total")
    if isinstance(total, list) and len(total) <= len(_FIELDS) and all(type(n) is int and n >= 0 for n in total):
        ctx["total"] = total + _EMPTY[len(total) :]  # saved before cache writes were read: none
    return ctx


def _session(ctx: dict[str, Any], obj: dict[str, Any], payload: dict[str, Any], parents: dict[str, str]) -> None:
    session = payload.get("id")
    if not isinstance(session, str) or not session:
        raise ValueError("session_meta without an id")
    forked_from = payload.get("forked_from_id")
    forked_from = forked_from if isinstance(forked_from, str) and forked_from else None
    parent = forked_from or _dig(payload, "source", "subagent", "thread_spawn", "parent_thread_id")
    if isinstance(parent, str) and parent and parent != session:
        parents[session] = parent
    own = ctx.get("session")
    if own is None:  # the file's own session_meta: the run written with it starts at the next line
        git = payload.get("git")
        branch = git.get("branch") if isinstance(git, dict) else None
        cwd = payload.get("cwd")
        ctx.update(
            session=session,
            cwd=cwd if isinstance(cwd, str) and cwd else None,
            branch=branch if isinstance(branch, str) and branch and branch != "HEAD" else None,
            run=True,
        )
        if forked_from is not None and forked_from != session:
            ctx["forked"] = True
    elif _in_run(ctx, _epoch(obj)) and session != own:
        ctx["forked"] = True  # another session's session_meta copied in: the run is a replay


def _in_run(ctx: dict[str, Any], epoch: float | None) -> bool:
    """Whether a line written at ``epoch`` belongs to the run written with the file's session_meta; the run
    ends at the first line written more than ``REPLAY_GAP`` after the one before."""
    if not ctx.get("run"):
        return False
    last = ctx.get("run_at")
    if epoch is None:
        return True
    if last is not None and epoch - last > REPLAY_GAP:
        ctx.pop("run")
        ctx.pop("run_at")
        return False
    ctx["run_at"] = epoch if last is None else max(last, epoch)
    return True


def _epoch(obj: dict[str, Any]) -> float | None:
    try:
        return parse_time(obj.get("timestamp")).timestamp()
    except ValueError:
        return None


def _dig(value: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _model(value: dict[str, Any]) -> str | None:
    """``model``, ``model_name`` or ``metadata.model``: the first that is a non-empty string."""
    metadata = value.get("metadata")
    nested = metadata.get("model") if isinstance(metadata, dict) else None
    for text in (value.get("model"), value.get("model_name"), nested):
        if isinstance(text, str) and text.strip():
            return text.strip()
    return None


def _vector(value: Any) -> list[int] | None:
    if not isinstance(value, dict):
        return None
    out = []
    for name in _FIELDS:
        count = value.get(name) or 0
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            raise ValueError(f"{name}: not a token count")
        out.append(count)
    return out


def _counts(value: Any) -> Any:
    """A vector as keys show it: the four counts of the first versions, cache writes only when there are any
    (so the keys of calls captured before cache writes were read stay the same)."""
    if not isinstance(value, list):
        return value
    return value[:4] if not value[4] else value


def _usage(ctx: dict[str, Any], obj: dict[str, Any], payload: dict[str, Any]) -> Message | None:
    moment = parse_time(obj["timestamp"])
    replayed = _in_run(ctx, moment.timestamp()) and ctx.get("forked")
    info = payload.get("info")
    if not isinstance(info, dict):
        return None  # a rate-limit update without usage
    total = _vector(info.get("total_token_usage"))
    last = _vector(info.get("last_token_usage"))
    previous = ctx.get("total")
    if total is not None:
        ctx["total"] = total
        if total == previous:
            return None  # written again when only the rate limits changed
    if replayed:
        return None  # the parent's call, copied into the fork: its own log counts it
    if last is None:
        if total is None:
            return None
        last = [max(a - b, 0) for a, b in zip(total, previous or _EMPTY, strict=True)]
    if not any(last):
        return None
    session = ctx.get("session")
    where = total if total is not None else obj["timestamp"]
    key = f"codex:{session or 'unknown'}:{_counts(where)}:{_counts(last)}"
    uncached, cached, output, reasoning, written = last
    cached = min(cached, uncached)
    written = min(written, uncached - cached)
    return Message(
        key=digest(key),
        epoch=checked_epoch(moment),
        ts=obj["timestamp"],
        source=SOURCE,
        session=session,
        model=_model(info) or _model(payload) or ctx.get("model"),
        branch=ctx.get("branch"),
        input_tokens=uncached - cached - written,
        output_tokens=output,
        cache_read_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=min(reasoning, output),
        cost_usd=None,
    )
