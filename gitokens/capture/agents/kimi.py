"""Kimi CLI's wire logs: ``${KIMI_SHARE_DIR:-~/.kimi}/sessions/<md5(work dir)>/<session>/wire.jsonl``.

Facts relied on, read in MoonshotAI/kimi-cli (HEAD 4a550ef, 2026-07; ``src/kimi_cli/share.py``,
``metadata.py``, ``session.py``, ``session_fork.py``, ``config.py``, ``wire/file.py``, ``wire/types.py``,
``soul/kimisoul.py``, ``subagents/runner.py``, ``packages/kosong/src/kosong/chat_provider/__init__.py``):

- ``wire.jsonl`` is append-only. Line 1 may be ``{"type": "metadata", "protocol_version": ...}``; every other
  line is ``{"timestamp": <unix seconds>, "message": {"type": <class name>, "payload": {...}}}`` written by
  Python's ``json.dumps`` (spaces after separators).
- Usage is in ``StatusUpdate`` payloads, one per LLM step: ``token_usage`` = ``{input_other, output,
  input_cache_read, input_cache_creation}`` (``TokenUsage``: input without cache; output is all output, so
  reasoning is inside it with no separate count) and ``message_id`` (the provider's response id, may be
  null). Other StatusUpdates have ``token_usage: null``. Counts are per call.
- A foreground sub-agent's StatusUpdates are forwarded into the parent's wire wrapped in a
  ``SubagentEvent`` (``payload.event``) and also written to ``subagents/<id>/wire.jsonl``; ``fork_session``
  copies a wire's lines verbatim into a new session. Both wires are read and the key is the
  ``message_id`` (else the time and the four counts), so each call counts once.
- The wire holds no working directory: it is recovered from ``<share>/kimi.json``
  (``work_dirs[].path``, whose md5 names the session group); a group it does not list has cwd None.
- The wire holds no model either: the model is ``default_model`` of ``<share>/config.toml`` (its
  ``[models.<key>]`` ``model`` and ``provider``) at the time of reading, so a ``/model`` switch
  mid-session is not seen. No branch, no cost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitokens.capture.agents.base import (
    MAKE,
    Agent,
    AgentCall,
    Position,
    Reading,
    count,
    epoch_of,
    home_of,
    key_of,
    read_json,
    read_jsonl,
    setting,
    settled,
    text,
    walk,
)

SOURCE = "kimi-cli"


class Kimi(Agent):
    name = "kimi"
    source = SOURCE
    variable = "KIMI_SHARE_DIR"
    default = "~/.kimi/sessions/<md5 of dir>/<session>/wire.jsonl"
    reads = "StatusUpdate token_usage, once per message_id (sub-agent copies and forks counted once)"
    unknown = (
        "the model per call (the configured default model is used); branch; cost; "
        "the directory of a session group kimi.json does not list"
    )

    def root(self, env: Mapping[str, str] | None = None) -> Path:
        env, home = home_of(env)
        return setting(env, "KIMI_SHARE_DIR") or home / ".kimi"

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return [self.root(env) / "sessions"]

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return walk(self.root(env) / "sessions", lambda name: name == "wire.jsonl", depth=4)

    def read(self, path: Path, position: Position | None = None) -> Reading:
        return read_jsonl(path, position, _line, _begin)


def _begin(path: Path) -> dict[str, Any]:
    """The session, directory and model of a wire read from its start: its share folder is the parent of the
    nearest folder above it named ``sessions``."""
    parts = path.parts
    at = next((i for i in range(len(parts) - 2, -1, -1) if parts[i] == "sessions"), None)
    if at is None:
        return {"session": None, "cwd": None, "model": None, "provider": None}
    listed, configured = _settings(parts[:at])
    rest = parts[at + 1 :]
    group, session = (rest[0], rest[1]) if len(rest) >= 3 else (None, None)
    model, provider = _model(configured)
    return {
        "session": session,
        "cwd": _work_dir(listed, group) if group else None,
        "model": model,
        "provider": provider,
    }


def _settings(share: tuple[str, ...]) -> tuple[Path, Path]:
    """The share folder's ``kimi.json`` and ``config.toml``, made once for the many wires under it."""
    paths = _SHARES.get(share)
    if paths is None:
        folder = Path(*share)
        paths = _SHARES[share] = (folder / "kimi.json", folder / "config.toml")
    return paths


_SHARES: dict[tuple[str, ...], tuple[Path, Path]] = {}


def _work_dir(listed: Path, group: str) -> str | None:
    """The directory whose md5 names the group, from ``kimi.json`` (a non-local KAOS prefixes it)."""
    found: str | None = settled(listed, _work_dirs).get(group.rsplit("_", 1)[-1])
    return found


def _work_dirs(path: Path) -> dict[str, str]:
    """The directories ``kimi.json`` lists by their md5 (the first of those with the same md5)."""
    listed = read_json(path)
    dirs = listed.get("work_dirs") if isinstance(listed, dict) else None
    found: dict[str, str] = {}
    for item in dirs if isinstance(dirs, list) else []:
        where = item.get("path") if isinstance(item, dict) else None
        if isinstance(where, str):
            found.setdefault(hashlib.md5(where.encode("utf-8", "surrogatepass")).hexdigest(), where)
    return found


def _model(configured: Path) -> tuple[str | None, str | None]:
    """The configured default model and its provider, from ``config.toml``."""
    found: tuple[str | None, str | None] = settled(configured, _configured)
    return found


def _configured(path: Path) -> tuple[str | None, str | None]:
    import tomllib  # here: a capture without Kimi's logs does without it

    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None, None
    chosen = config.get("default_model")
    models = config.get("models")
    entry = models.get(chosen) if isinstance(models, dict) and isinstance(chosen, str) else None
    if not isinstance(entry, dict):
        return text(chosen), None
    return text(entry.get("model")) or text(chosen), text(entry.get("provider"))


def _line(entry: Any, context: dict[str, Any]) -> AgentCall | None:
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    message = entry.get("message")
    if not isinstance(message, dict):
        return None
    if message.get("type") == "SubagentEvent" and isinstance(message.get("payload"), dict):
        message = message["payload"].get("event")
        if not isinstance(message, dict):
            return None
    payload = message.get("payload")
    if message.get("type") != "StatusUpdate" or not isinstance(payload, dict):
        return None
    usage = payload.get("token_usage")
    if not isinstance(usage, dict):
        return None
    when = epoch_of(entry.get("timestamp"))
    if when is None:
        raise ValueError("no timestamp")
    counts = [count(usage.get(k)) for k in ("input_other", "output", "input_cache_read", "input_cache_creation")]
    if not any(counts):
        return None
    mid = text(payload.get("message_id"))
    key = key_of(SOURCE, "id", mid) if mid else key_of(SOURCE, "at", entry.get("timestamp"), *counts)
    return MAKE(
        AgentCall,
        (
            key,
            when,
            SOURCE,
            context.get("session"),
            context.get("cwd"),
            None,
            context.get("model"),
            context.get("provider"),
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            0,
            None,
        ),
    )
