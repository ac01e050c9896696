"""Hermes Agent's session store: ``${HERMES_HOME:-~/.hermes}/state.db``, and ``profiles/<name>/state.db`` for
each profile under it.

Facts relied on, read in NousResearch/hermes-agent (``hermes_constants.py`` ``get_hermes_home``;
``hermes_state_common.py`` ``SCHEMA_SQL``, schema version 30; ``hermes_state_usage.py``;
``hermes_state_sessions.py``; ``hermes_state_compression.py``; ``agent/usage_pricing.py``):

- One SQLite store (WAL) per profile: ``get_hermes_home()`` is ``HERMES_HOME`` or ``~/.hermes``, a profile's is
  ``<root>/profiles/<name>``, the store ``state.db`` in it. Every surface writes there: the CLI, the messaging
  gateway, cron, sub-agents.
- Hermes keeps no per-call usage rows. ``sessions`` holds each session's running totals: ``input_tokens``,
  ``output_tokens``, ``cache_read_tokens``, ``cache_write_tokens``, ``reasoning_tokens``, ``api_call_count``,
  ``estimated_cost_usd``, ``actual_cost_usd`` (USD). ``update_token_counts`` adds each call's counts on the CLI
  path and sets the agent's cumulative counts on the gateway path (which can lower them: Hermes itself counts
  only the non-negative growth of each field then).
- Each read gives one call per session: the growth of its totals since the snapshot kept in the position (the
  whole totals on a first read), field by field never below zero, as Hermes' own daily ledger counts it. The
  snapshot is kept on a read from the start (``Agent.restart``). The call is keyed by the session and both
  snapshots, dated at the session's latest activity (``last_activity_at`` or its newest ``messages.timestamp``,
  else ``started_at``; epoch seconds).
- The counts are normalised by ``normalize_usage`` before they are stored: ``input_tokens`` is the prompt
  without cache reads and writes (OpenAI-style prompt totals have them subtracted), ``output_tokens`` the
  completion as the provider counts it (reasoning inside), ``reasoning_tokens`` the reasoning part of it. So they
  are taken as they are.
- Auxiliary calls (vision, compression, title generation, background review) are not in the session totals:
  ``record_auxiliary_usage`` adds them only to ``session_model_usage`` rows with a non-empty ``task`` (keyed by
  session, model, billing provider, base URL, billing mode and task; ``last_seen`` epoch seconds). Those rows
  are read the same way, each row its own running totals.
- ``sessions.cwd`` is the directory the session ran in, ``git_branch`` its branch, ``git_repo_root`` the
  repository's root (used when cwd is missing); a compression continuation is a new session whose row copies
  them and starts its counts at zero. A session with neither directory (a messaging chat) cannot be attributed.
- ``model`` is the session's first accounted model and ``billing_provider`` its provider: a mid-session
  ``/model`` switch does not change them. Every per-call delta of the main loop (``update_token_counts`` without
  ``absolute``) is also added to a ``session_model_usage`` row keyed by the model and provider live at that
  call, with ``task`` empty, or naming a per-turn route (``voice_chat``) that counts in the session's totals
  too. So each of those primary route rows gives its own call (its growth, under its model, dated at its
  ``last_seen``), and the session's growth less theirs, field by field never below zero (the gateway's absolute
  updates, which write no route row), is the session's call under its own model, as Hermes' analytics split
  it. One read transaction holds the totals and the route rows, so they agree. A position saved before route
  rows were read has no ``routes``: a session it already counted has its route rows taken as counted, and its
  growth goes to the session's model once, as it did then.
- The cost is the growth of ``actual_cost_usd`` where Hermes has the provider's figure, else of
  ``estimated_cost_usd``; a subscription route is recorded at zero: no cost then.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitokens.capture.agents.base import (
    Agent,
    AgentCall,
    Database,
    Position,
    Reading,
    cost,
    count,
    epoch_of,
    home_of,
    key_of,
    setting,
    text,
)

SOURCE = "hermes"
STORE = "state.db"
_COUNTS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
_COSTS = ("actual_cost_usd", "estimated_cost_usd")
_SESSION = ("cwd", "git_repo_root", "git_branch", "model", "billing_provider")
_ROUTE = ("model", "billing_provider", "billing_base_url", "billing_mode", "task")
# Per-turn routes whose calls count in the session's totals as well as in their route row (``update_token_counts``
# with a ``task``); every other task is an auxiliary call (``record_auxiliary_usage``): its route row only.
_PRIMARY_TASKS = ("", "voice_chat")
_PRIMARY = "(" + ", ".join(f"'{task}'" for task in _PRIMARY_TASKS) + ")"


class Hermes(Agent):
    name = "hermes"
    source = SOURCE
    variable = "HERMES_HOME"
    default = "~/.hermes/state.db and ~/.hermes/profiles/<name>/state.db"
    reads = "the growth of each session's running totals between reads, and of its auxiliary calls' totals"
    unknown = "per-call counts and times (one call per read per session and model)"
    snapshot = ("sessions", "routes", "aux")  # the totals counted so far: a read from the start grows from them

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        env, home = home_of(env)
        return [setting(env, "HERMES_HOME") or home / ".hermes"]

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        (root,) = self.roots(env)
        try:
            profiles = sorted(p / STORE for p in (root / "profiles").iterdir() if p.is_dir())
        except OSError:
            profiles = []
        return [path for path in (root / STORE, *profiles) if path.is_file()]

    def watch(self, env: Mapping[str, str] | None = None) -> list[tuple[Path, bool]]:
        """Each store and its write-ahead log, whether there yet or not, and the profiles folder for a new
        profile; not all of the folder, which holds Hermes' own install, its logs and caches."""
        (root,) = self.roots(env)
        try:
            profiles = sorted(p for p in (root / "profiles").iterdir() if p.is_dir())
        except OSError:
            profiles = []
        stores = [root / STORE, *(profile / STORE for profile in profiles)]
        watched = [(Path(f"{store}{end}"), False) for store in stores for end in ("", "-wal")]
        return [*watched, (root / "profiles", False)]

    def read(self, path: Path, position: Position | None = None) -> Reading:
        with Database(path) as db:
            sessions = db.columns("sessions")
            if db.problem is None and not {"id", "input_tokens", "output_tokens"} <= sessions:
                reading = Reading(position=dict(position or {}))
                reading.warnings.append(f"{path}: no sessions table with token counts; not a Hermes store")
                return reading
            reading = Reading(position={key: _snapshots(position, key) for key in self.snapshot})
            db.begin()  # the totals and the route rows of one state of the store
            usage = db.columns("session_model_usage")
            routes = _routes(db, usage) if {"session_id", "input_tokens", "output_tokens"} <= usage else {}
            counted = position is not None and "routes" in position
            _sessions(db, reading, sessions, db.columns("messages"), routes, counted)
            if {"session_id", "task", "input_tokens", "output_tokens"} <= usage:
                _auxiliary(db, reading, usage, sessions)
            if db.problem:
                reading.warnings.append(db.problem)
        return reading


def _snapshots(position: Position | None, key: str) -> dict[str, list[Any]]:
    kept = (position or {}).get(key)
    return dict(kept) if isinstance(kept, dict) else {}


def _pick(columns: set[str], name: str, table: str) -> str:
    return f"{table}.{name}" if name in columns else "NULL"


Route = tuple[str, Any, tuple[Any, ...], tuple[Any, ...]]  # name, last_seen, totals, (model, provider)


def _routes(db: Database, usage: set[str]) -> dict[Any, list[Route]]:
    """Each session's primary route rows (``task`` empty or a per-turn route; every row of a store older than
    the ``task`` column), in the order they were first written."""
    picked = ", ".join(_pick(usage, name, "u") for name in (*_COUNTS, *_COSTS, *_ROUTE))
    where = f" WHERE u.task IN {_PRIMARY}" if "task" in usage else ""
    query = f"SELECT u.session_id, {_pick(usage, 'last_seen', 'u')}, {picked} FROM session_model_usage u{where}"
    found: dict[Any, list[Route]] = {}
    width = len(_COUNTS) + len(_COSTS)
    for row in db.rows(query + " ORDER BY u.rowid"):
        session, seen, numbers, route = row[0], row[1], row[2 : 2 + width], row[2 + width :]
        name = "\0".join(str(part) for part in (session, *route))
        found.setdefault(session, []).append((name, seen, numbers, route[:2]))
    return found


def _sessions(
    db: Database,
    reading: Reading,
    sessions: set[str],
    messages: set[str],
    routes: dict[Any, list[Route]],
    counted: bool,
) -> None:
    """Per session whose totals grew since the snapshot: a call per primary route row that grew, and one for the
    rest of the growth under the session's own model. ``counted``: the position snapshots route rows."""
    picked = ", ".join(_pick(sessions, name, "s") for name in (*_COUNTS, *_COSTS, *_SESSION))
    activity = [_pick(sessions, "last_activity_at", "s")]
    if {"session_id", "timestamp"} <= messages:
        activity.append("(SELECT max(m.timestamp) FROM messages m WHERE m.session_id = s.id)")
    started = _pick(sessions, "started_at", "s")
    query = f"SELECT s.id, {started}, {', '.join(activity)}, {picked} FROM sessions s ORDER BY s.id"
    width = len(activity)
    snapshots, kept = reading.position["sessions"], reading.position["routes"]
    for row in db.rows(query):
        session, started_at, stamps = row[0], row[1], row[2 : 2 + width]
        numbers = row[2 + width : 2 + width + len(_COUNTS) + len(_COSTS)]
        cwd, root, branch, model, provider = row[2 + width + len(_COUNTS) + len(_COSTS) :]
        directory = text(cwd) or text(root)
        # a session an older position counted without its route rows: those are counted (in its totals)
        settled = not counted and str(session) in snapshots
        parts = []
        for name, seen, totals, (route_model, route_provider) in routes.get(session, ()):
            part = _growth(kept, name, totals, settled)
            if part is not None:
                parts.append(part)
                when = epoch_of(seen)
                if when is None:
                    reading.malformed.append(f"{db.path}:session_model_usage {session} {route_model}")
                    continue
                place = (session, directory, branch, route_model, route_provider)
                routed = key_of(SOURCE, "route", *part[2], plain=False)
                reading.calls.append(_call(routed, when, place, part[0], part[1]))
        grown = _grow(snapshots, str(session), numbers, parts)
        if grown is None:
            continue
        counts, spent, key = grown
        when = _latest(stamps) or epoch_of(started_at)
        if when is None:
            reading.malformed.append(f"{db.path}:sessions id {session}")
            continue
        place = (session, directory, branch, model, provider)
        reading.calls.append(_call(key_of(SOURCE, "session", *key, plain=False), when, place, counts, spent))


def _auxiliary(db: Database, reading: Reading, usage: set[str], sessions: set[str]) -> None:
    """One call per auxiliary usage row (a task other than the main loop) whose totals grew."""
    picked = ", ".join(_pick(usage, name, "u") for name in (*_COUNTS, *_COSTS, *_ROUTE))
    where = ", ".join(_pick(sessions, name, "s") for name in ("cwd", "git_repo_root", "git_branch"))
    query = (
        f"SELECT u.session_id, {_pick(usage, 'last_seen', 'u')}, {picked}, {where} FROM session_model_usage u "
        f"LEFT JOIN sessions s ON s.id = u.session_id WHERE u.task NOT IN {_PRIMARY} ORDER BY u.rowid"
    )
    for row in db.rows(query):
        session, seen = row[0], row[1]
        numbers = row[2 : 2 + len(_COUNTS) + len(_COSTS)]
        route = row[2 + len(_COUNTS) + len(_COSTS) : 2 + len(_COUNTS) + len(_COSTS) + len(_ROUTE)]
        cwd, root, branch = row[-3:]
        name = "\0".join(str(part) for part in (session, *route))
        grown = _grow(reading.position["aux"], name, numbers)
        if grown is None:
            continue
        counts, spent, key = grown
        when = epoch_of(seen)
        if when is None:
            reading.malformed.append(f"{db.path}:session_model_usage {session} {route[-1]}")
            continue
        place = (session, text(cwd) or text(root), branch, route[0], route[1])
        reading.calls.append(_call(key_of(SOURCE, "aux", *key, plain=False), when, place, counts, spent))


Growth = tuple[list[int], float | None, tuple[Any, ...], list[float]]  # counts, cost, key, every field


def _grow(
    snapshots: dict[str, list[Any]], name: str, numbers: tuple[Any, ...], parts: list[Growth] | None = None
) -> tuple[list[int], float | None, tuple[Any, ...]] | None:
    """The growth of one row's totals since its snapshot (which it replaces), less what ``parts`` of it were
    counted on their own (each field never below zero): the counts by kind, the cost, and what keys the call
    (the row and both snapshots); None when no count grew."""
    found = _growth(snapshots, name, numbers, False, parts or ())
    return None if found is None else found[:3]


def _growth(
    snapshots: dict[str, list[Any]], name: str, numbers: tuple[Any, ...], settled: bool, parts: Any = ()
) -> Growth | None:
    """``_grow``'s reading, with every field's growth; ``settled``: only the snapshot is taken."""
    now = [count(n) for n in numbers[: len(_COUNTS)]] + [_usd(n) for n in numbers[len(_COUNTS) :]]
    before = snapshots.get(name)
    if settled or not isinstance(before, list) or len(before) != len(now) or not all(_number(n) for n in before):
        before = now if settled else [0] * len(now)
    snapshots[name] = now
    grown = [max(after - earlier, 0) for after, earlier in zip(now, before, strict=True)]
    for part in parts:
        grown = [max(field - counted, 0) for field, counted in zip(grown, part[3], strict=True)]
    counts = [int(n) for n in grown[: len(_COUNTS)]]
    if not any(counts):
        return None
    actual, estimated = grown[len(_COUNTS) :]
    spent = cost(actual) if now[len(_COUNTS)] else cost(estimated)
    return counts, spent, (name, before, now), grown


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _usd(value: Any) -> float:
    return float(value) if _number(value) and cost(value) is not None else 0.0


def _latest(stamps: tuple[Any, ...]) -> float | None:
    times = [when for stamp in stamps if (when := epoch_of(stamp)) is not None]
    return max(times) if times else None


def _call(key: bytes, when: float, place: tuple[Any, ...], counts: list[int], spent: float | None) -> AgentCall:
    """The call of one row's growth; ``place`` is its session, directory, branch, model and provider."""
    session, cwd, branch, model, provider = place
    inp, out, read, write, reasoning = counts
    return AgentCall(
        key,
        when,
        SOURCE,
        text(session),
        cwd,
        text(branch),
        text(model),
        text(provider),
        inp,
        out,
        read,
        write,
        reasoning,
        spent,
    )
