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
import mmap
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from gitokens.capture.model import EARLIEST, Message, latest, out_of_range, parse_time, started

SOURCE = "codex"
REPLAY_GAP = 1.0  # seconds between two lines of the burst in which a fork copies its parent's items
MAX_LINE = 8 << 20  # a session_meta carries the instructions (tens of KiB); a line past this is not Codex's
MAX_COUNT = 10**12  # a token count past this is not a count
# The lines read: those with ``"token_count"``, ``"turn_context"`` or ``"session_meta"`` in them, found by one
# search. CPython's re scans for a pattern's first byte and tries the rest there; the underscore is rarer in
# a rollout than the quote (1.0 against 3.8 million in 105 MB), and at an underscore the bytes after it are
# tested first (``_co``, ``_me``: few others go past them), the word before it looked behind at only then
# (the search of ``parse`` over 105 MB: 52 ms, where looking behind first took 55 ms and
# ``"(?:token_count|turn_context|session_meta)"`` about 80 ms, itself faster than three ``bytes.find`` scans).
# Lines are read from a newline (or a complete last line): no marker starts before the search does.
_MARKER = re.compile(rb'_(?:co(?:unt"(?<="token_count")|ntext"(?<="turn_context"))|meta"(?<="session_meta"))')
_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "cache_write_input_tokens",
)
_EMPTY = [0] * len(_FIELDS)
_MAKE = tuple.__new__  # a named tuple from a plain one, without the keyword-argument constructor
_ISO = datetime.fromisoformat
_HASH = started("")  # ``model.digest``'s, copied per call
_Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]


class _Counts(msgspec.Struct):
    """Counts as the decoder checked them: each a JSON integer in range, absent as 0 (``null``, a float or
    anything else sends the line to the standard library's reading, into ``_Loose``)."""

    input_tokens: _Count = 0
    cached_input_tokens: _Count = 0
    output_tokens: _Count = 0
    reasoning_output_tokens: _Count = 0
    cache_write_input_tokens: _Count = 0


class _Loose(_Counts):
    """Counts as the standard library read them: checked when used (``_vector``)."""

    input_tokens: Any = None
    cached_input_tokens: Any = None
    output_tokens: Any = None
    reasoning_output_tokens: Any = None
    cache_write_input_tokens: Any = None


class _Info(msgspec.Struct):
    total_token_usage: _Counts | None = None
    last_token_usage: _Counts | None = None
    model: Any = None
    model_name: Any = None
    metadata: Any = None


class _Payload(msgspec.Struct):
    """The payload fields of the three kinds of line read (the rest, such as a session_meta's instructions or
    a token_count's rate limits, is skipped over, not decoded)."""

    type: Any = None
    id: Any = None
    cwd: Any = None
    forked_from_id: Any = None
    source: Any = None
    git: Any = None
    model: Any = None
    model_name: Any = None
    metadata: Any = None
    info: _Info | None = None


class _Line(msgspec.Struct):
    timestamp: Any = None
    type: Any = None
    payload: _Payload | None = None


_DECODE = msgspec.json.Decoder(_Line).decode


def parse(
    data: bytes | mmap.mmap,
    base: int,
    context: dict[str, Any] | None,
    parents: dict[str, str],
    *,
    start: int = 0,
    end: int | None = None,
) -> tuple[list[tuple[Message, str | None]], list[int], dict[str, Any]]:
    """(message, cwd) pairs for the usage in ``data[start:end]`` (complete lines; ``data`` is found at offset
    ``base`` of the file), the offsets of the malformed lines, and the context to continue from. ``parents``
    maps sessions to the session they were forked from or spawned by (extended with the edges the lines
    name). ``data`` may be a mapping of the whole file: only the lines read are copied out of it.

    Only the lines with one of the three markers in them are looked at (a few percent of a rollout's
    bytes: its response items, most of it, are never split off or decoded); they are taken in order."""
    ctx = _restore(context)
    found: list[tuple[Message, str | None]] = []
    bad: list[int] = []
    size = len(data) if end is None else end
    find, rfind, search, decode = data.find, data.rfind, _MARKER.search, _DECODE
    newest = latest()
    low = start  # the start of the line after the last one read
    hit = search(data, low, size)
    while hit is not None:
        at = hit.start()
        first = rfind(b"\n", low, at) + 1 or low
        last = find(b"\n", at, size)
        if last < 0:
            last = size
        low = last + 1
        hit = search(data, low, size)
        try:
            if last - first > MAX_LINE:
                raise ValueError("line too long")
            raw = data[first:last]
            if raw.isascii():  # ``_decode``'s usual case, inline
                try:
                    line: _Line | None = decode(raw)
                except msgspec.MsgspecError:
                    line = _decode(raw)
            else:
                line = _decode(raw)
            if line is None or (payload := line.payload) is None:
                continue
            kind = line.type
            if kind == "event_msg":  # the most common first: kinds are exclusive
                if payload.type == "token_count":
                    message = _usage(ctx, line, payload, newest)
                    if message is not None:
                        found.append((message, ctx.get("cwd")))
            elif kind == "turn_context":
                _in_run(ctx, _epoch(line))
                model = _model(payload.model, payload.model_name, payload.metadata)
                if model is not None:
                    ctx["model"] = model
                if isinstance(payload.cwd, str):
                    ctx["cwd"] = payload.cwd
            elif kind == "session_meta":
                _session(ctx, line, payload, parents)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            bad.append(base + first)
    return found, bad, ctx


def _decode(raw: bytes) -> _Line | None:
    """The fields of one line as a ``_Line`` whose ``payload`` is set, or None when the line has no payload
    object (nothing to read); ValueError when it is not a JSON object.

    Decoded straight into ``_Line`` when the line has the usual shape and is valid UTF-8 (the decoder does
    not check the text it skips); otherwise read whole by the standard library, whose reading decides, and
    a value of an unusual shape where an object is looked for counts as absent. Either way every field has
    the same value."""
    if raw.isascii() or _utf8(raw):
        try:
            line = _DECODE(raw)
        except msgspec.MsgspecError:
            pass
        else:
            return line if line.payload is not None else None
    obj = json.loads(raw)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        return None
    info = payload.get("info")
    return _Line(
        timestamp=obj.get("timestamp"),
        type=obj.get("type"),
        payload=_Payload(
            **{name: payload.get(name) for name in _Payload.__struct_fields__ if name != "info"},
            info=_Info(
                total_token_usage=_counts_of(info.get("total_token_usage")),
                last_token_usage=_counts_of(info.get("last_token_usage")),
                model=info.get("model"),
                model_name=info.get("model_name"),
                metadata=info.get("metadata"),
            )
            if isinstance(info, dict)
            else None,
        ),
    )


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _counts_of(value: Any) -> _Loose | None:
    return _Loose(**{name: value.get(name) for name in _FIELDS}) if isinstance(value, dict) else None


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


def _session(ctx: dict[str, Any], line: _Line, payload: _Payload, parents: dict[str, str]) -> None:
    session = payload.id
    if not isinstance(session, str) or not session:
        raise ValueError("session_meta without an id")
    forked_from = payload.forked_from_id
    forked_from = forked_from if isinstance(forked_from, str) and forked_from else None
    parent = forked_from or _dig(payload.source, "subagent", "thread_spawn", "parent_thread_id")
    if isinstance(parent, str) and parent and parent != session:
        parents[session] = parent
    own = ctx.get("session")
    if own is None:  # the file's own session_meta: the run written with it starts at the next line
        git = payload.git
        branch = git.get("branch") if isinstance(git, dict) else None
        cwd = payload.cwd
        ctx.update(
            session=session,
            cwd=cwd if isinstance(cwd, str) and cwd else None,
            branch=branch if isinstance(branch, str) and branch and branch != "HEAD" else None,
            run=True,
        )
        if forked_from is not None and forked_from != session:
            ctx["forked"] = True
    elif _in_run(ctx, _epoch(line)) and session != own:
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


def _epoch(line: _Line) -> float | None:
    try:
        return parse_time(line.timestamp).timestamp()
    except ValueError:
        return None


def _dig(value: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _model(model: Any, model_name: Any, metadata: Any) -> str | None:
    """``model``, ``model_name`` or ``metadata.model``: the first that is a non-empty string."""
    if model is None and model_name is None and metadata is None:
        return None  # upstream writes none on a token_count
    nested = metadata.get("model") if isinstance(metadata, dict) else None
    for text in (model, model_name, nested):
        if isinstance(text, str) and text.strip():
            return text.strip()
    return None


def _vector(value: _Counts | None) -> list[int] | None:
    """A usage's counts in ``_FIELDS`` order; checked here when the standard library read them (``_Loose``:
    an absent or falsy count is 0, anything else not a count in range is a ValueError), by the decoder
    otherwise."""
    if value is None:
        return None
    out = [
        value.input_tokens or 0,
        value.cached_input_tokens or 0,
        value.output_tokens or 0,
        value.reasoning_output_tokens or 0,
        value.cache_write_input_tokens or 0,
    ]
    if type(value) is not _Counts:
        for count in out:
            if type(count) is not int or not 0 <= count <= MAX_COUNT:
                raise ValueError(f"not a token count: {count!r}")
    return out


def _usage(ctx: dict[str, Any], line: _Line, payload: _Payload, newest: float) -> Message | None:
    """The call a token_count event reports, or None (a rate-limit update, the same totals again, a fork's
    copy of its parent's call, no tokens). ``newest``: the latest time a call may have (``model.latest``)."""
    ts = line.timestamp
    if type(ts) is not str:
        raise ValueError(f"not a timestamp: {ts!r}")
    moment = _ISO(ts)
    epoch = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()
    replayed = ctx.get("run") and _in_run(ctx, epoch) and ctx.get("forked")
    info = payload.info
    if info is None:
        return None  # a rate-limit update without usage
    # Counts the decoder checked (the usual case) read straight off; others checked by ``_vector``.
    counts = info.total_token_usage
    if type(counts) is _Counts:
        total: list[int] | None = [
            counts.input_tokens,
            counts.cached_input_tokens,
            counts.output_tokens,
            counts.reasoning_output_tokens,
            counts.cache_write_input_tokens,
        ]
    else:
        total = _vector(counts)
    counts = info.last_token_usage
    if type(counts) is _Counts:
        last: list[int] | None = [
            counts.input_tokens,
            counts.cached_input_tokens,
            counts.output_tokens,
            counts.reasoning_output_tokens,
            counts.cache_write_input_tokens,
        ]
    else:
        last = _vector(counts)
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
    uncached, cached, output, reasoning, written = last
    if not (uncached or cached or output or reasoning or written):
        return None
    if not EARLIEST <= epoch <= newest:
        raise out_of_range(epoch)
    session = ctx.get("session")
    # Vectors as keys show them (``str`` of the list): the four counts of the first versions, cache writes only
    # when there are any (so the keys of calls captured before cache writes were read stay the same).
    shown = (
        f"[{uncached}, {cached}, {output}, {reasoning}, {written}]"
        if written
        else f"[{uncached}, {cached}, {output}, {reasoning}]"
    )
    if total is None:
        whole = ts
    else:
        a, b, c, d, e = total
        whole = f"[{a}, {b}, {c}, {d}, {e}]" if e else f"[{a}, {b}, {c}, {d}]"
    key = _HASH.copy()  # ``digest(f"codex:{session or 'unknown'}:{whole}:{shown}")``, inline
    key.update(f"codex:{session or 'unknown'}:{whole}:{shown}".encode("utf-8", "surrogatepass"))
    if cached > uncached:
        cached = uncached
    if written > uncached - cached:
        written = uncached - cached
    if (
        info.model is None
        and info.model_name is None
        and info.metadata is None
        and payload.model is None
        and payload.model_name is None
        and payload.metadata is None
    ):
        model = ctx.get("model")  # upstream writes no model on the event
    else:
        model = (
            _model(info.model, info.model_name, info.metadata)
            or _model(payload.model, payload.model_name, payload.metadata)
            or ctx.get("model")
        )
    return _MAKE(
        Message,
        (
            key.digest(),
            epoch,
            ts,
            SOURCE,
            session,
            model,
            ctx.get("branch"),
            uncached - cached - written,
            output,
            cached,
            written,
            reasoning if reasoning < output else output,
            None,
            0,
            None,
            None,
        ),
    )
