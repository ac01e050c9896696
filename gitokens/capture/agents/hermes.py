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
- ``model`` is the session's first accounted model (a mid-session ``/model`` switch is not split out of the
  totals); ``billing_provider`` its provider. The cost is the growth of ``actual_cost_usd`` where Hermes has the
  provider's figure, else of ``estimated_cost_usd``; a subscription route is recorded at zero: no cost then.
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


class Hermes(Agent):
    name = "hermes"
    source = SOURCE
    variable = "HERMES_HOME"
    default = "~/.hermes/state.db and ~/.hermes/profiles/<name>/state.db"
    reads = "the growth of each session's running totals between reads, and of its auxiliary calls' totals"
    unknown = "per-call counts and times (one call per read per session); the model of a session that switched"
    snapshot = ("sessions", "aux")  # the totals counted so far: a read from the start measures growth from them

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
            _sessions(db, reading, sessions, db.columns("messages"))
            usage = db.columns("session_model_usage")
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


def _sessions(db: Database, reading: Reading, sessions: set[str], messages: set[str]) -> None:
    """One call per session whose totals grew since the snapshot."""
    picked = ", ".join(_pick(sessions, name, "s") for name in (*_COUNTS, *_COSTS, *_SESSION))
    activity = [_pick(sessions, "last_activity_at", "s")]
    if {"session_id", "timestamp"} <= messages:
        activity.append("(SELECT max(m.timestamp) FROM messages m WHERE m.session_id = s.id)")
    started = _pick(sessions, "started_at", "s")
    query = f"SELECT s.id, {started}, {', '.join(activity)}, {picked} FROM sessions s ORDER BY s.id"
    width = len(activity)
    for row in db.rows(query):
        session, started_at, stamps = row[0], row[1], row[2 : 2 + width]
        numbers = row[2 + width : 2 + width + len(_COUNTS) + len(_COSTS)]
        cwd, root, branch, model, provider = row[2 + width + len(_COUNTS) + len(_COSTS) :]
        grown = _grow(reading.position["sessions"], str(session), numbers)
        if grown is None:
            continue
        counts, spent, key = grown
        when = _latest(stamps) or epoch_of(started_at)
        if when is None:
            reading.malformed.append(f"{db.path}:sessions id {session}")
            continue
        place = (session, text(cwd) or text(root), branch, model, provider)
        reading.calls.append(_call(key_of(SOURCE, "session", *key, plain=False), when, place, counts, spent))


def _auxiliary(db: Database, reading: Reading, usage: set[str], sessions: set[str]) -> None:
    """One call per auxiliary usage row (a task other than the main loop) whose totals grew."""
    picked = ", ".join(_pick(usage, name, "u") for name in (*_COUNTS, *_COSTS, *_ROUTE))
    where = ", ".join(_pick(sessions, name, "s") for name in ("cwd", "git_repo_root", "git_branch"))
    query = (
        f"SELECT u.session_id, {_pick(usage, 'last_seen', 'u')}, {picked}, {where} FROM session_model_usage u "
        "LEFT JOIN sessions s ON s.id = u.session_id WHERE u.task <> '' ORDER BY u.rowid"
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


def _grow(
    snapshots: dict[str, list[Any]], name: str, numbers: tuple[Any, ...]
) -> tuple[list[int], float | None, tuple[Any, ...]] | None:
    """The growth of one row's totals since its snapshot (which it replaces): the counts by kind, the cost, and
    what keys the call (the row and both snapshots); None when nothing grew."""
    now = [count(n) for n in numbers[: len(_COUNTS)]] + [_usd(n) for n in numbers[len(_COUNTS) :]]
    before = snapshots.get(name)
    if not isinstance(before, list) or len(before) != len(now) or not all(_number(n) for n in before):
        before = [0] * len(now)
    snapshots[name] = now
    grown = [max(after - earlier, 0) for after, earlier in zip(now, before, strict=True)]
    counts = [int(n) for n in grown[: len(_COUNTS)]]
    if not any(counts):
        return None
    actual, estimated = grown[len(_COUNTS) :]
    spent = cost(actual) if now[len(_COUNTS)] else cost(estimated)
    return counts, spent, (name, before, now)


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
