"""Goose's SQLite store: ``<data>/sessions/sessions.db``, ``<data>`` = ``$GOOSE_PATH_ROOT/data`` or
``${XDG_DATA_HOME:-~/.local/share}/goose``.

Facts relied on, read in block/goose (``crates/goose/src/config/paths.rs``, ``crates/goose/src/session/
session_manager.rs`` in the ledger version, schema 15, and ``migrations.rs``):

- One database for all sessions (WAL). Recent builds insert one ``usage_ledger`` row per model call
  (``id`` AUTOINCREMENT, ``session_id``, ``created_timestamp`` in unix seconds, ``model``, ``input_tokens``,
  ``output_tokens``, ``total_tokens``, ``cache_read_tokens``, ``cache_write_tokens``, ``cost``,
  ``cost_source``, ``is_compaction``) and add the same amounts to the session's ``accumulated_*`` columns in
  one transaction: the ledger is read and the totals never (they would count every call twice).
  Compaction calls are ledger rows: real spend, kept. A ``carried_forward`` row (model NULL) holds the
  usage of before the ledger, lumped at the upgrade; it is kept.
- ``sessions.working_dir`` (NOT NULL) is the session's directory; ``provider_name`` its provider
  (``anthropic``, ``openai``, ``databricks``, ...); ``model_config_json.model_name`` the model when a row has
  none. No branch.
- ``input_tokens`` includes the cache reads and writes: Goose's Anthropic usage reader
  (``crates/goose/src/providers/formats/anthropic.rs``, ``get_usage`` and its tests: input 12 plus cache
  creation 12 gives ``input_tokens`` 24, with ``cache_write_input_tokens`` 12 beside it) sums them, and
  OpenAI-style ``prompt_tokens`` include the cached ones by definition. So our input = input - cache read -
  cache write. Reasoning is inside ``output_tokens`` (no separate count). ``cost`` is USD,
  provider-reported or estimated by Goose.
- Reading: the ledger after the saved ``id``. A store without ``usage_ledger`` (older schemas) is read from
  ``sessions``' ``accumulated_{input,output}_tokens`` (and the cache columns where they exist): each read
  gives one call per session, the growth since the snapshot kept in the position, dated at ``updated_at``
  and keyed by the session and its totals.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from gitokens.capture.agents.base import (
    MAKE,
    MAX_COUNT,
    Agent,
    AgentCall,
    Database,
    Position,
    Reading,
    cost,
    count,
    epoch_of,
    home_of,
    key_digest,
    key_of,
    key_start,
    loads,
    setting,
    text,
    xdg_data,
)
from gitokens.capture.model import EARLIEST

SOURCE = "goose"
_SESSION_COLUMNS = ("working_dir", "provider_name", "model_config_json")
_TOTALS = (
    "accumulated_input_tokens",
    "accumulated_output_tokens",
    "accumulated_cache_read_tokens",
    "accumulated_cache_write_tokens",
)


class Goose(Agent):
    name = "goose"
    source = SOURCE
    variable = "GOOSE_PATH_ROOT"
    default = "~/.local/share/goose/sessions/sessions.db"
    reads = "the usage_ledger rows (one per call); older stores: the growth of each session's totals"
    unknown = "branch; per-call times and counts in stores older than the usage ledger"

    snapshot = ("sessions",)  # an older store's per-session totals: kept when the store is read again from the start

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        env, home = home_of(env)
        root = setting(env, "GOOSE_PATH_ROOT")
        data = root / "data" if root is not None and root.is_absolute() else xdg_data(env, home) / "goose"
        return [base / "sessions" for base in (data, home / "Library" / "Application Support" / "goose")]

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return [path for root in self.roots(env) if (path := root / "sessions.db").is_file()]

    def read(self, path: Path, position: Position | None = None) -> Reading:
        with Database(path) as db:
            sessions = db.columns("sessions")
            ledger = db.columns("usage_ledger")
            if db.problem is None and "id" not in sessions:
                reading = Reading(position=dict(position or {}))
                reading.warnings.append(f"{path}: no sessions table; not a Goose store of a known version")
                return reading
            if {"id", "session_id", "input_tokens", "output_tokens"} <= ledger:
                reading = _ledger(db, position, sessions, ledger)
            else:
                reading = _totals(db, position, sessions)
            if db.problem:
                reading.warnings.append(db.problem)
        return reading


def _pick(columns: set[str], name: str, table: str) -> str:
    return f"{table}.{name}" if name in columns else "NULL"


def _ledger(db: Database, position: Position | None, sessions: set[str], ledger: set[str]) -> Reading:
    mark = (position or {}).get("id", 0)
    mark = mark if isinstance(mark, int) else 0
    top = next(db.rows("SELECT max(id) FROM usage_ledger"), (0,))[0] or 0
    if top < mark:
        mark = 0
    reading = Reading(position={"id": mark})
    fetched = _fetched(db, mark, sessions, ledger)
    if fetched is None or not _calls(db, reading, *fetched):
        _joined(db, reading, sessions, ledger)
    return reading


_WANTED = (
    "created_timestamp",
    "model",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost",
)


def _joined(db: Database, reading: Reading, sessions: set[str], ledger: set[str]) -> None:
    """The ledger rows after the position joined to their sessions by SQLite, each turned into a call: the
    reading of any store, whatever the types of its values (``_calls`` is the fast one of the usual)."""
    fields = ", ".join(_pick(ledger, name, "u") for name in _WANTED)
    cwd, provider, config = (_pick(sessions, name, "s") for name in _SESSION_COLUMNS)
    model = _pick(ledger, "model", "u")
    # the session's model settings only for a row without a model of its own (``text`` of it is None)
    config = f"CASE WHEN typeof({model}) = 'text' AND {model} <> '' THEN NULL ELSE {config} END"
    extra = f"{cwd}, {provider}, {config}"
    query = (
        f"SELECT u.id, u.session_id, {fields}, {extra} FROM usage_ledger u LEFT JOIN sessions s "
        "ON s.id = u.session_id WHERE u.id > ? ORDER BY u.id"
    )
    last, append, prefixes = reading.position["id"], reading.calls.append, dict[Any, str]()
    for rid, session, created, model, inp, out, read, write, spent, cwd, provider, config in db.rows(query, (last,)):
        last = rid
        when = epoch_of(created)
        if when is None:
            reading.malformed.append(f"{db.path}:usage_ledger id {rid}")
            continue
        read, write = count(read), count(write)
        values = (
            ledger_key(session, rid, prefixes),
            when,
            SOURCE,
            text(session),
            text(cwd),
            None,
            text(model) or _configured(config),
            text(provider),
            max(count(inp) - read - write, 0),
            count(out),
            read,
            write,
            0,
            cost(spent),
        )
        append(MAKE(AgentCall, values))
    reading.position["id"] = last


Fetched = tuple[list[tuple[Any, ...]], dict[Any, tuple[Any, Any, Any]]]


def _fetched(db: Database, mark: int, sessions: set[str], ledger: set[str]) -> Fetched | None:
    """The ledger rows after ``mark`` without their sessions, and the session columns of each session id they
    name, as SQLite's join pairs them (its affinities and collations), read in one transaction: what the
    join gives, without a lookup in ``sessions`` per row (a third of the reading). None when the store
    cannot be read so (an error, or a session id that the join pairs with two sessions)."""
    connection = db.connection
    if connection is None:
        return None
    fields = ", ".join(_pick(ledger, name, "u") for name in _WANTED)
    extra = ", ".join(_pick(sessions, name, "s") for name in _SESSION_COLUMNS)
    try:
        connection.execute("BEGIN")
        try:
            rows = connection.execute(
                f"SELECT u.id, u.session_id, {fields} FROM usage_ledger u WHERE u.id > ? ORDER BY u.id", (mark,)
            ).fetchall()
            named = connection.execute(
                f"SELECT u.session_id, {extra} FROM (SELECT DISTINCT session_id FROM usage_ledger WHERE id > ?) u "
                "LEFT JOIN sessions s ON s.id = u.session_id",
                (mark,),
            ).fetchall()
        finally:
            connection.execute("COMMIT")
    except sqlite3.Error:
        return None
    joined = {row[0]: row[1:] for row in named}
    return (rows, joined) if len(joined) == len(named) else None


def _calls(db: Database, reading: Reading, rows: list[tuple[Any, ...]], joined: dict[Any, Any]) -> bool:
    """The calls of ledger rows fetched without their sessions (``_fetched``), the same as ``_joined`` reads:
    what a row's session gives is worked out once per session, and a row whose values are of the types
    Goose writes (integer seconds, integer counts) is taken without the general conversions. False (and
    nothing read) when a row names a session id the join did not pair (a collation that SQLite's
    ``DISTINCT`` and Python's equality disagree on)."""
    own: dict[Any, tuple[Any, str | None, str | None, str | None, Any]] = {}
    for session, (cwd, provider, config) in joined.items():
        # a text id's keys: the hash of their text up to the row id, fed the id's digits and "]" row by row
        # (the bytes of ``ledger_key``'s text); another type's, ``key_of`` row by row (1 and 1.0 differ)
        start = (
            key_start(SOURCE, '["ledger",' + encode_basestring_ascii(session) + ",") if type(session) is str else None
        )
        own[session] = (start, text(session), text(cwd), text(provider), config)
    models: dict[Any, str | None] = {}
    calls: list[AgentCall] = []
    append, malformed = calls.append, []
    latest = min(1e11, time.time() + 86_400)  # a whole second up to this is its own ``epoch_of``
    for rid, session, created, model, inp, out, read, write, spent in rows:
        if type(created) is int and EARLIEST <= created <= latest:
            when: float | None = float(created)
        else:
            when = epoch_of(created)
            if when is None:
                malformed.append(f"{db.path}:usage_ledger id {rid}")
                continue
        try:
            start, name, cwd, provider, config = own[session]
        except KeyError:
            return False
        if type(model) is not str or not model:
            model = models[session] if session in models else models.setdefault(session, _configured(config))
        read = read if type(read) is int and 0 <= read <= MAX_COUNT else count(read)
        write = write if type(write) is int and 0 <= write <= MAX_COUNT else count(write)
        inp = (inp if type(inp) is int and 0 <= inp <= MAX_COUNT else count(inp)) - read - write
        if start is not None and type(rid) is int:
            state = start.copy()
            state.update(b"%d]" % rid)
            key = state.digest()
        else:
            key = key_of(SOURCE, "ledger", session, rid)
        values = (
            key,
            when,
            SOURCE,
            name,
            cwd,
            None,
            model,
            provider,
            inp if inp > 0 else 0,
            out if type(out) is int and 0 <= out <= MAX_COUNT else count(out),
            read,
            write,
            0,
            None if spent is None else cost(spent),
        )
        append(MAKE(AgentCall, values))
    last = rows[-1][0] if rows else reading.position["id"]
    reading.calls, reading.malformed = calls, malformed
    reading.position["id"] = last
    return True


def ledger_key(session: Any, rid: Any, prefixes: dict[Any, str]) -> bytes:
    """``key_of(SOURCE, "ledger", session, rid)``, the start of its text (up to the row id) written once per
    session in ``prefixes``."""
    prefix = prefixes.get(session)
    if prefix is None:
        if session is not None and type(session) is not str:
            return key_of(SOURCE, "ledger", session, rid)
        written = "null" if session is None else encode_basestring_ascii(session)
        prefix = prefixes[session] = '["ledger",' + written + ","
    if type(rid) is not int:
        return key_of(SOURCE, "ledger", session, rid)
    return _DIGEST(prefix + int.__repr__(rid) + "]")


_DIGEST = key_digest(SOURCE)


def _configured(config: Any) -> str | None:
    parsed = loads(config) if isinstance(config, str) else None
    return text(parsed.get("model_name")) if isinstance(parsed, dict) else None


def _totals(db: Database, position: Position | None, sessions: set[str]) -> Reading:
    """One call per session whose running totals grew since the snapshot in ``position``."""
    before = (position or {}).get("sessions")
    before = before if isinstance(before, dict) else {}
    reading = Reading(position={"sessions": dict(before)})
    totals = ", ".join(_pick(sessions, name, "s") for name in _TOTALS)
    extra = ", ".join(_pick(sessions, name, "s") for name in _SESSION_COLUMNS)
    updated = _pick(sessions, "updated_at", "s")
    for row in db.rows(f"SELECT s.id, {updated}, {totals}, {extra} FROM sessions s ORDER BY s.id"):
        session, stamp, *numbers = row[: 2 + len(_TOTALS)]
        cwd, provider, config = row[2 + len(_TOTALS) :]
        now = [count(n) for n in numbers]
        earlier = before.get(str(session))
        earlier = earlier if isinstance(earlier, list) and len(earlier) == len(now) else [0] * len(now)
        reading.position["sessions"][str(session)] = now
        grown = [a - b for a, b in zip(now, earlier, strict=True)]
        when = epoch_of(stamp.replace(" ", "T") if isinstance(stamp, str) else stamp)
        if not any(grown) or min(grown) < 0 or when is None:
            continue
        inp, out, read, write = grown
        reading.calls.append(
            MAKE(
                AgentCall,
                (
                    key_of(SOURCE, "totals", session, now),
                    when,
                    SOURCE,
                    text(session),
                    text(cwd),
                    None,
                    _configured(config),
                    text(provider),
                    max(inp - read - write, 0),
                    out,
                    read,
                    write,
                    0,
                    None,
                ),
            )
        )
    return reading
