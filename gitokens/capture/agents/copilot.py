"""GitHub Copilot CLI's session store: ``${COPILOT_HOME:-~/.copilot}/session-store.db``.

The CLI is closed source. Facts relied on: its event types as published in github/copilot-sdk
(``nodejs/src/generated/session-events.ts``: ``session.start`` with ``context.cwd``/``branch``;
``assistant.usage`` is ephemeral, never written to ``events.jsonl``), github/copilot-cli's changelog
(v1.0.69, 2026-07: "exact local assistant usage ... in session SQL"; "input token usage includes cached";
``COPILOT_HOME``) and two independent inspections of the store (schema_version 8): confidence medium.

- Per-call usage exists on disk only in the SQLite table ``assistant_usage_events`` (filled since about
  v1.0.69; older sessions have no rows there and are not read): ``id`` (AUTOINCREMENT), ``session_id``,
  ``model``, ``input_tokens`` (cache reads and writes included), ``output_tokens`` (reasoning included),
  ``cache_read_tokens``, ``cache_write_tokens``, ``reasoning_tokens`` (a part of the output),
  ``total_nano_aiu`` (AI credits x 1e9; a credit is $0.01), ``created_at`` (ISO). So our input = input -
  cache read - cache write; output = output; reasoning = reasoning; cost = total_nano_aiu / 1e11 USD.
- ``sessions.cwd`` and ``branch`` are NULL for most sessions since about v1.0.13 (copilot-cli #2655), so the
  directory and branch come from the first ``session.start`` event of
  ``session-state/<session>/events.jsonl`` (``data.context.cwd``, ``data.context.branch``), else from the
  ``sessions`` row; a later ``session.context_changed`` (a ``cd`` mid-session) is not followed.
- The provider is GitHub Copilot; models are Copilot catalogue ids (``claude-sonnet-4.5``, ``gpt-5``).
- Reading: the rows after the saved ``id``; ids are scoped to one store (a rebuilt store reuses them, and a
  largest id below the watermark means the store was rebuilt: it is read again), so the key is the
  session, the id and ``created_at``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitokens.capture.agents.base import (
    MAKE,
    Agent,
    AgentCall,
    Database,
    Position,
    Reading,
    count,
    epoch_of,
    home_of,
    key_of,
    loads,
    setting,
    text,
)

SOURCE = "copilot-cli"
PROVIDER = "github-copilot"
_EVENTS_HEAD = 1 << 20  # session.start is the first event; it carries the instructions, not the history
_WANTED = ("created_at", "model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_OPTIONAL = ("reasoning_tokens", "total_nano_aiu")


class Copilot(Agent):
    name = "copilot"
    source = SOURCE
    variable = "COPILOT_HOME"
    default = "~/.copilot/session-store.db (and session-state/<session>/events.jsonl for the directory)"
    reads = "the assistant_usage_events rows (one per call, Copilot CLI 1.0.69 and later)"
    unknown = "calls of sessions before Copilot CLI 1.0.69 (no per-call usage on disk); a mid-session cd"

    def home(self, env: Mapping[str, str] | None = None) -> Path:
        env, home = home_of(env)
        return setting(env, "COPILOT_HOME") or home / ".copilot"

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return [self.home(env)]

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        path = self.home(env) / "session-store.db"
        return [path] if path.is_file() else []

    def watch(self, env: Mapping[str, str] | None = None) -> list[tuple[Path, bool]]:
        """The store and its write-ahead log, not the whole folder (it holds the installed CLI and its logs)."""
        store = self.home(env) / "session-store.db"
        return [(store, False), (Path(f"{store}-wal"), False)]

    def read(self, path: Path, position: Position | None = None) -> Reading:
        mark = (position or {}).get("id", 0)
        mark = mark if isinstance(mark, int) else 0
        reading = Reading(position={"id": mark})
        with Database(path) as db:
            columns = db.columns("assistant_usage_events")
            if db.problem is None and not {"id", "session_id", *_WANTED} <= columns:
                reading.warnings.append(
                    f"{path}: no assistant_usage_events table (Copilot CLI before 1.0.69); nothing read"
                )
                return reading
            top = next(db.rows("SELECT max(id) FROM assistant_usage_events"), (0,))[0] or 0
            if top < mark:
                mark = 0
            places = _Places(path.parent, db)
            fields = ", ".join((*_WANTED, *(c if c in columns else "NULL" for c in _OPTIONAL)))
            query = f"SELECT id, session_id, {fields} FROM assistant_usage_events WHERE id > ? ORDER BY id"
            for row in db.rows(query, (mark,)):
                reading.position["id"] = row[0]
                call = _call(row, places)
                if call is None:
                    reading.malformed.append(f"{path}:assistant_usage_events id {row[0]}")
                else:
                    reading.calls.append(call)
            if db.problem:
                reading.warnings.append(db.problem)
        return reading


def _call(row: tuple[Any, ...], places: _Places) -> AgentCall | None:
    rid, session, created, model, inp, out, read, write, reasoning, nano = row
    when = epoch_of(created)
    if when is None or not isinstance(session, str):
        return None
    read, write, out = count(read), count(write), count(out)
    cwd, branch = places.of(session)
    aiu = count(nano)
    return MAKE(
        AgentCall,
        (
            key_of(SOURCE, session, rid, created),
            when,
            SOURCE,
            session,
            cwd,
            branch,
            text(model),
            PROVIDER,
            max(count(inp) - read - write, 0),
            out,
            read,
            write,
            min(count(reasoning), out),
            aiu / 1e11 if aiu else None,
        ),
    )


class _Places:
    """Each session's directory and branch, looked up once per read."""

    def __init__(self, home: Path, db: Database) -> None:
        self.home = home
        self.db = db
        self.known: dict[str, tuple[str | None, str | None]] = {}

    def of(self, session: str) -> tuple[str | None, str | None]:
        if session not in self.known:
            self.known[session] = self._events(session) or self._row(session)
        return self.known[session]

    def _events(self, session: str) -> tuple[str | None, str | None] | None:
        if os.sep in session or session in ("", ".", ".."):
            return None
        try:
            with open(self.home / "session-state" / session / "events.jsonl", "rb") as handle:
                head = handle.read(_EVENTS_HEAD)
        except OSError:
            return None
        for line in head.split(b"\n"):
            entry = loads(line) if b"session.start" in line else None
            data = entry.get("data") if isinstance(entry, dict) and entry.get("type") == "session.start" else None
            context = data.get("context") if isinstance(data, dict) else None
            if isinstance(context, dict) and text(context.get("cwd")):
                return text(context.get("cwd")), text(context.get("branch"))
        return None

    def _row(self, session: str) -> tuple[str | None, str | None]:
        if not {"id", "cwd", "branch"} <= self.db.columns("sessions"):
            return None, None
        row = next(self.db.rows("SELECT cwd, branch FROM sessions WHERE id = ?", (session,)), (None, None))
        return text(row[0]), text(row[1])
