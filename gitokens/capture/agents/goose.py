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
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from itertools import chain, groupby, islice, repeat
from json.encoder import encode_basestring_ascii
from operator import lt
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import msgspec

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
    if _packed(db, reading, sessions, ledger):
        return reading
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


_Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
_IDS = msgspec.json.Decoder(list[int]).decode
_COUNTS = msgspec.json.Decoder(list[_Count]).decode
_TEXTS = msgspec.json.Decoder(list[str]).decode
_MODELS = msgspec.json.Decoder(list[str | None]).decode
_FIRST_MODEL = "SELECT model FROM usage_ledger WHERE id > ? ORDER BY id LIMIT 1"
# Each column as one JSON array (the values' types kept: a blob is an error, text a string, a real has a
# point). ``NOT INDEXED``: every query scans the table in the same order (no index chosen for its columns).
_SCAN = " FROM usage_ledger NOT INDEXED WHERE id > ?1"
_KEYED = "SELECT json_group_array(id), json_group_array(session_id)" + _SCAN
_COUNTED = (
    "SELECT count(*), count(*) FILTER (WHERE model = ?2 COLLATE BINARY), min(cost), max(cost), "
    # a time only where it is an int (a JSON int decodes to the float it is; a real's text could round it)
    "json_group_array(CASE WHEN typeof(created_timestamp) = 'integer' THEN created_timestamp END), "
    # our input: Goose's less the cache reads and writes where it is a count, NULL (the decoder's refusal) where
    # it is text or out of range; a real in range gives a real (refused too) or the 0 that ``count`` would give
    f"json_group_array(CASE WHEN input_tokens BETWEEN 0 AND {MAX_COUNT} THEN "
    "max(input_tokens - ifnull(cache_read_tokens, 0) - ifnull(cache_write_tokens, 0), 0) "
    "WHEN input_tokens IS NULL THEN 0 END), "
    "json_group_array(ifnull(output_tokens, 0)), json_group_array(ifnull(cache_read_tokens, 0)), "
    "json_group_array(ifnull(cache_write_tokens, 0))" + _SCAN
)
_EACH_MODEL = "SELECT json_group_array(model)" + _SCAN
_COSTS = "SELECT cost FROM usage_ledger WHERE id > ? ORDER BY id"  # the ids' order, which the scans' is
_PACKED_COLUMNS = {"id", "session_id", *_WANTED}
_Session = tuple[Any, str | None, str | None, str | None, Any]
_Counted = tuple[Any, Any, str, str, str, str, str, str | None]


def _packed(db: Database, reading: Reading, sessions: set[str], ledger: set[str]) -> bool:
    """The calls of the ledger rows after the position, read with few Python objects: SQLite packs each column
    into one JSON array that msgspec decodes strictly (every id, second and count a plain integer in range,
    every session id text), and the calls are made by C-level iteration. The same calls as ``_joined``; False
    (nothing read) for any other store, which the general paths read."""
    connection = db.connection
    if connection is None or not ledger >= _PACKED_COLUMNS:
        return False
    mark = reading.position["id"]
    try:
        connection.execute("BEGIN")
        try:
            calls = _unpacked(connection, mark, sessions)
        finally:
            connection.execute("COMMIT")
    except (sqlite3.Error, msgspec.MsgspecError):
        return False
    if calls is None:
        return False
    reading.calls, reading.position["id"] = calls
    return True


def _unpacked(connection: sqlite3.Connection, mark: int, sessions: set[str]) -> tuple[list[AgentCall], int] | None:
    """The calls and the last id read, in the transaction under way; None for a store the packed reading does
    not fit (the scan not in the ids' order, a session paired otherwise than by equal text). The counts are
    packed by SQLite on a thread of their own while this one hashes the keys (SQLite lets the GIL go)."""
    first = next(iter(connection.execute(_FIRST_MODEL, (mark,))), (None,))[0]
    model = first if type(first) is str and first else None
    ids, names = connection.execute(_KEYED, (mark,)).fetchone()
    found = _sessions_by_id(connection, sessions)
    if found is None:
        return None
    counted = _meanwhile(lambda: _counted(connection, mark, model))
    try:
        rows = _IDS(ids)
        if not all(map(lt, rows, islice(rows, 1, None))):
            return None  # the scan's order is not the ids' (or an id repeats): ``ORDER BY id`` would differ
        runs = _runs(_TEXTS(names))
        paired = _paired(runs, found)
        keys = _keys(ids, runs, paired)
    finally:
        low, high, created, inp, out, read, write, each_model = counted()
    latest = min(1e11, time.time() + 86_400)  # a whole second up to this is its own ``epoch_of``
    seconds = msgspec.json.Decoder(list[Annotated[float, msgspec.Meta(ge=EARLIEST, le=latest)]]).decode
    columns = (seconds(created), _COUNTS(inp), _COUNTS(out), _COUNTS(read), _COUNTS(write))
    models = repeat(model) if each_model is None else _chosen(_MODELS(each_model), runs, paired)
    spent = _spent(connection, mark, low, high)
    return _made(keys, columns, runs, paired, models, spent), rows[-1] if rows else mark


def _counted(connection: sqlite3.Connection, mark: int, model: str | None) -> _Counted:
    """The least and most cost, the packed times and counts, and the packed models unless each is ``model``."""
    rows, same, low, high, *packed = connection.execute(_COUNTED, (mark, model)).fetchone()
    models = None if model is not None and same == rows else connection.execute(_EACH_MODEL, (mark,)).fetchone()[0]
    return (low, high, *packed, models)


_T = TypeVar("_T")


def _meanwhile(work: Callable[[], _T]) -> Callable[[], _T]:
    """``work`` started on a thread; the function returned waits for it and gives its result (or raises its
    error)."""
    done: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            done.append((True, work()))
        except BaseException as error:  # handed to the waiting thread
            done.append((False, error))

    thread = threading.Thread(target=run, name="gitokens-goose-counts", daemon=True)
    thread.start()

    def result() -> _T:
        thread.join()
        ok, value = done[0]
        if not ok:
            raise value
        return cast(_T, value)

    return result


def _runs(names: list[str]) -> list[tuple[str, int]]:
    """The rows' session ids as runs of one session (a session's calls are mostly consecutive)."""
    return [(name, len(list(rows))) for name, rows in groupby(names)]


def _sessions_by_id(connection: sqlite3.Connection, sessions: set[str]) -> dict[str, tuple[Any, Any, Any]] | None:
    """Each session's directory, provider and model settings by its id, for pairing in Python as SQLite's join
    pairs them: where both tables compare text as bytes (no collation declared) and no session's id is a
    number (that an affinity would compare with text). None otherwise, or where the join would pair a row
    with two sessions."""
    declared = connection.execute(
        "SELECT count(*) FROM sqlite_master WHERE lower(name) IN ('sessions', 'usage_ledger') AND sql LIKE '%collate%'"
    ).fetchone()[0]
    if declared:
        return None
    cwd, provider, config = (_pick(sessions, name, "s") for name in _SESSION_COLUMNS)
    found: dict[str, tuple[Any, Any, Any]] = {}
    for sid, *columns in connection.execute(f"SELECT s.id, {cwd}, {provider}, {config} FROM sessions s"):
        if type(sid) is str:
            if found.setdefault(sid, columns) is not columns:
                return None  # two sessions of one id
        elif sid is not None and type(sid) is not bytes:
            return None
    return found


def _paired(runs: list[tuple[str, int]], found: dict[str, tuple[Any, Any, Any]]) -> dict[str, _Session]:
    """Per session id of the rows: the start of its keys' hash, its name, directory, provider and model
    settings (none where no session has its id, as the left join gives)."""
    paired: dict[str, _Session] = {}
    for name, _ in runs:
        if name not in paired:
            cwd, provider, config = found.get(name, (None, None, None))
            start = key_start(SOURCE, '["ledger",' + encode_basestring_ascii(name) + ",")
            paired[name] = (start, name or None, text(cwd), text(provider), config)
    return paired


def _keys(ids: str, runs: list[tuple[str, int]], paired: dict[str, _Session]) -> list[bytes]:
    """Each row's key: its session's hash start fed the row's id and "]" (``ledger_key``'s text, as bytes)."""
    digits = (ids[1:-1] + "]").replace(",", "],").encode().split(b",")
    keys: list[bytes] = []
    append, feed = keys.append, iter(digits)
    for name, length in runs:
        start = paired[name][0]
        for tail in islice(feed, length):
            state = start.copy()
            state.update(tail)
            append(state.digest())
    return keys


def _spent(connection: sqlite3.Connection, mark: int, low: Any, high: Any) -> Iterable[float | None]:
    """The rows' costs as ``cost`` gives them: none when the column holds none, else fetched as values (a
    real's JSON text would round it; on the main thread, since making the rows' objects holds the GIL) and
    taken as they are when each is a real in range."""
    if high is None:
        return repeat(None)
    values = list(chain.from_iterable(connection.execute(_COSTS, (mark,))))
    usual = type(low) is float and type(high) is float and low > 0 and high < 1e6
    if usual and set(map(type, values)) <= {float, type(None)}:
        return values  # each its own ``cost``
    return list(map(cost, values))


def _made(
    keys: list[bytes],
    columns: tuple[list[float], list[int], list[int], list[int], list[int]],
    runs: list[tuple[str, int]],
    paired: dict[str, _Session],
    models: Iterable[Any],
    spent: Iterable[float | None],
) -> list[AgentCall]:
    """The calls of the packed columns, each tuple made in C, a session's values repeated over its runs."""
    created, inp, out, read, write = columns
    names, cwds, providers = (
        chain.from_iterable([repeat(paired[name][field], length) for name, length in runs]) for field in (1, 2, 3)
    )
    values = zip(
        keys,
        created,
        repeat(SOURCE),
        names,
        cwds,
        repeat(None),
        models,
        providers,
        inp,
        out,
        read,
        write,
        repeat(0),
        spent,
    )
    return list(map(MAKE, repeat(AgentCall), values))


def _chosen(models: list[str | None], runs: list[tuple[str, int]], paired: dict[str, _Session]) -> Iterable[Any]:
    """Each row's model: its own where it names one, else its session's settings' (worked out once a session)."""
    if None not in models and "" not in models:
        return models
    configured = {name: _configured(config) for name, (*_, config) in paired.items()}
    instead = chain.from_iterable([repeat(configured[name], length) for name, length in runs])
    return [model or other for model, other in zip(models, instead, strict=True)]


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
