"""Claude Code and Codex logs written in their real formats, and commits made at chosen times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conftest import git

T0 = 1_750_000_000  # 2025-06-15T15:06:40Z
SONNET = "claude-sonnet-4-5-20250929"


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # as the agents write it


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def commit_at(repo: Path, when: int, message: str) -> str:
    """A commit whose author and committer time is ``when`` (seconds since the epoch)."""
    (repo / f"{message}.txt").write_text(message + "\n")
    git(repo, "add", "-A")
    stamp = f"{when} +0000"
    git(repo, "commit", "-q", "-m", message, env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
    return git(repo, "rev-parse", "HEAD").strip()


def claude(
    *,
    session: str,
    cwd: Path | str,
    branch: str | None,
    at: float,
    mid: str,
    rid: str | None,
    inp: int = 0,
    out: int = 0,
    read: int = 0,
    write: int = 0,
    model: str = SONNET,
    sidechain: bool = False,
    cost: float | None = None,
    uuid: str | None = None,
    write_1h: int = 0,
    stop: str | None = "end_turn",
) -> str:
    """One assistant entry as Claude Code writes it (content and the fields we ignore included)."""
    entry: dict[str, Any] = {
        "parentUuid": None,
        "isSidechain": sidechain,
        "userType": "external",
        "cwd": str(cwd),
        "sessionId": session,
        "version": "2.0.14",
        "gitBranch": branch or "",
        "message": {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": f'Reply {mid}: the "usage" word in text is not a key.'}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {
                "input_tokens": inp,
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": write - write_1h,
                    "ephemeral_1h_input_tokens": write_1h,
                },
                "output_tokens": out,
                "service_tier": "standard",
            },
        },
        "type": "assistant",
        "uuid": uuid or f"uuid-{mid}-{rid}-{session}",
        "timestamp": iso(at),
    }
    if rid is not None:
        entry["requestId"] = rid
    if cost is not None:
        entry["costUSD"] = cost
    return _dumps(entry)


def claude_user(session: str, cwd: Path | str, at: float, text: str = "please fix it") -> str:
    return _dumps(
        {
            "type": "user",
            "sessionId": session,
            "cwd": str(cwd),
            "message": {"role": "user", "content": text},
            "uuid": f"u-{at}",
            "timestamp": iso(at),
        }
    )


def codex_meta(session: str, cwd: Path | str, branch: str, at: float, parent: str | None = None) -> str:
    payload: dict[str, Any] = {
        "id": session,
        "timestamp": iso(at),
        "cwd": str(cwd),
        "originator": "codex_cli_rs",
        "cli_version": "0.46.0",
        "instructions": None,
        "git": {"commit_hash": "0" * 40, "branch": branch, "repository_url": "git@example.com:x/y.git"},
    }
    if parent is not None:
        payload["forked_from_id"] = parent
        payload["source"] = {"subagent": {"thread_spawn": {"parent_thread_id": parent, "depth": 1}}}
    return _dumps({"timestamp": iso(at), "type": "session_meta", "payload": payload})


def codex_turn(model: str, at: float, cwd: Path | str | None = None) -> str:
    payload: dict[str, Any] = {"model": model, "approval_policy": "on-request", "effort": "medium"}
    if cwd is not None:
        payload["cwd"] = str(cwd)
    return _dumps({"timestamp": iso(at), "type": "turn_context", "payload": payload})


def usage(inp: int, cached: int, out: int, reasoning: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning,
        "total_tokens": inp + out,
    }


def codex_count(at: float, total: dict[str, int] | None, last: dict[str, int] | None) -> str:
    info = None
    if total is not None or last is not None:
        info = {"total_token_usage": total, "last_token_usage": last, "model_context_window": 272000}
        info = {k: v for k, v in info.items() if v is not None}
    payload = {"type": "token_count", "info": info, "rate_limits": {"primary": {"used_percent": 1.0}}}
    return _dumps({"timestamp": iso(at), "type": "event_msg", "payload": payload})


def codex_item(at: float, text: str = "working on it") -> str:
    item = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
    return _dumps({"timestamp": iso(at), "type": "response_item", "payload": item})


def write(path: Path, lines: list[str], *, append: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a" if append else "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
    return path


def claude_file(home: Path, project: str, session: str) -> Path:
    return home / ".claude" / "projects" / project / f"{session}.jsonl"


def codex_file(home: Path, session: str, at: float, *, archived: bool = False) -> Path:
    stamp = datetime.fromtimestamp(at, UTC)
    name = f"rollout-{stamp:%Y-%m-%dT%H-%M-%S}-{session}.jsonl"
    if archived:
        return home / ".codex" / "archived_sessions" / name
    return home / ".codex" / "sessions" / f"{stamp:%Y}" / f"{stamp:%m}" / f"{stamp:%d}" / name


# Codex lines with the fields and nesting of codex-rs's own types (SessionMetaLine, TurnContextItem,
# TokenCountEvent), compact as its writer leaves them.


def codex_session(
    session: str,
    cwd: Path | str,
    at: float,
    *,
    branch: str | None = "main",
    git: bool = True,
    forked_from: str | None = None,
    spawned_by: str | None = None,
    started: float | None = None,
) -> str:
    """A ``session_meta`` line: written at ``at`` (a copy in a fork is re-stamped), started at ``started``.
    ``git`` is left out outside a repository and ``branch`` on a detached HEAD, as Codex leaves them out."""
    payload: dict[str, Any] = {"id": session}
    if forked_from is not None:
        payload["forked_from_id"] = forked_from
    payload.update(
        timestamp=iso(at if started is None else started),
        cwd=str(cwd),
        originator="codex_cli_rs",
        cli_version="0.63.0",
        source="cli",
        model_provider="openai",
        base_instructions={"text": "You are Codex, based on GPT-5. You are running as a coding agent."},
    )
    if spawned_by is not None:
        spawn = {"parent_thread_id": spawned_by, "depth": 1, "agent_nickname": "Ada", "agent_role": "worker"}
        payload["source"] = {"subagent": {"thread_spawn": spawn}}
    if git:
        payload["git"] = {"commit_hash": "1" * 40, "repository_url": "git@example.com:team/app.git"}
        if branch is not None:
            payload["git"]["branch"] = branch
    return _dumps({"timestamp": iso(at), "type": "session_meta", "payload": payload})


def codex_context(model: str, at: float, cwd: Path | str) -> str:
    """A ``turn_context`` line, written when a turn starts."""
    payload = {
        "cwd": str(cwd),
        "approval_policy": "on-request",
        "sandbox_policy": {"type": "workspace-write", "network_access": False},
        "model": model,
        "effort": "medium",
        "summary": "auto",
    }
    return _dumps({"timestamp": iso(at), "type": "turn_context", "payload": payload})


def codex_tokens(
    at: float,
    total: dict[str, int] | None,
    last: dict[str, int] | None,
    *,
    used: float = 5.0,
    info_extra: dict[str, Any] | None = None,
    payload_extra: dict[str, Any] | None = None,
) -> str:
    """A ``token_count`` event: ``info`` null when both usages are None; ``used`` the rate limit's percent
    (Codex writes the same ``info`` again when only that changed)."""
    info: dict[str, Any] | None = None
    if total is not None or last is not None:
        info = {"total_token_usage": total, "last_token_usage": last, "model_context_window": 258400}
        info = {k: v for k, v in info.items() if v is not None} | (info_extra or {})
    limits = {
        "primary": {"used_percent": used, "window_minutes": 300, "resets_at": 1_750_010_000},
        "secondary": {"used_percent": used / 10, "window_minutes": 10080, "resets_at": 1_750_500_000},
        "credits": None,
        "plan_type": None,
    }
    payload = {"type": "token_count", "info": info, "rate_limits": limits} | (payload_extra or {})
    return _dumps({"timestamp": iso(at), "type": "event_msg", "payload": payload})


def restamped(line: str, at: float) -> str:
    """``line`` as a fork copies it into its own file: unchanged but for the time it was written."""
    entry = json.loads(line)
    entry["timestamp"] = iso(at)
    return _dumps(entry)


# -- Hermes Agent -------------------------------------------------------------------------------------------------

HERMES_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, user_id TEXT, session_key TEXT, model TEXT, model_config TEXT,
    system_prompt TEXT, parent_session_id TEXT, started_at REAL NOT NULL, ended_at REAL, end_reason TEXT,
    message_count INTEGER DEFAULT 0, tool_call_count INTEGER DEFAULT 0, input_tokens INTEGER DEFAULT 0,
    output_tokens INTEGER DEFAULT 0, cache_read_tokens INTEGER DEFAULT 0, cache_write_tokens INTEGER DEFAULT 0,
    reasoning_tokens INTEGER DEFAULT 0, cwd TEXT, git_branch TEXT, git_repo_root TEXT, billing_provider TEXT,
    billing_base_url TEXT, billing_mode TEXT, estimated_cost_usd REAL, actual_cost_usd REAL, cost_status TEXT,
    cost_source TEXT, pricing_version TEXT, title TEXT, last_activity_at REAL, api_call_count INTEGER DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0, FOREIGN KEY (parent_session_id) REFERENCES sessions(id)
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(id), role TEXT NOT NULL,
    content TEXT, tool_call_id TEXT, tool_calls TEXT, tool_name TEXT, timestamp REAL NOT NULL, token_count INTEGER,
    finish_reason TEXT, active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE session_model_usage (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, model TEXT NOT NULL,
    billing_provider TEXT NOT NULL DEFAULT '', billing_base_url TEXT NOT NULL DEFAULT '',
    billing_mode TEXT NOT NULL DEFAULT '', task TEXT NOT NULL DEFAULT '', api_call_count INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0, estimated_cost_usd REAL NOT NULL DEFAULT 0,
    actual_cost_usd REAL NOT NULL DEFAULT 0, cost_status TEXT, cost_source TEXT, first_seen REAL, last_seen REAL,
    PRIMARY KEY (session_id, model, billing_provider, billing_base_url, billing_mode, task)
);
CREATE INDEX idx_sessions_parent ON sessions(parent_session_id);
CREATE INDEX idx_sessions_started ON sessions(started_at DESC);
CREATE INDEX idx_messages_session ON messages(session_id, timestamp);
CREATE INDEX idx_session_model_usage_session ON session_model_usage(session_id);
"""
"""The parts of Hermes Agent's ``state.db`` (``hermes_state_common.SCHEMA_SQL``, schema 30) its usage is in,
with Hermes' indexes on them."""


def hermes_store(path: Path) -> Any:
    """An empty Hermes store at ``path`` (``<HERMES_HOME>/state.db``), open."""
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(HERMES_SCHEMA)
    return db


def hermes_session(
    db: Any,
    session: str,
    cwd: str | None,
    at: float,
    *,
    branch: str | None = "main",
    root: str | None = None,
    model: str = "claude-sonnet-4-5",
    provider: str = "anthropic",
    source: str = "cli",
    parent: str | None = None,
) -> None:
    """A session row as ``create_session`` inserts it: the directory, git facts and route, counts at zero."""
    db.execute(
        "INSERT INTO sessions (id, source, model, parent_session_id, started_at, cwd, git_branch, git_repo_root, "
        "billing_provider, billing_base_url, billing_mode, last_activity_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (session, source, model, parent, at, cwd, branch, root or cwd, provider, "", "official_docs_snapshot", at),
    )
    db.commit()


def hermes_call(
    db: Any,
    session: str,
    at: float,
    inp: int,
    out: int,
    read: int = 0,
    write: int = 0,
    reasoning: int = 0,
    *,
    estimated: float | None = 0.01,
    actual: float | None = None,
    model: str = "claude-sonnet-4-5",
    provider: str = "anthropic",
    task: str = "",
) -> None:
    """One model call as ``update_token_counts`` (CLI path: deltas) records it after ``normalize_usage``: the
    session's counters grow, the call's route row in ``session_model_usage`` grows, and the assistant message
    is stored. ``task="voice_chat"`` is such a call on a per-turn route (its route row names the task); any other
    ``task`` is an auxiliary call, through ``record_auxiliary_usage``: its route row only."""
    counts = (inp, out, read, write, reasoning)
    if task in ("", "voice_chat"):
        db.execute(
            "UPDATE sessions SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, "
            "cache_read_tokens = cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?, "
            "reasoning_tokens = reasoning_tokens + ?, "
            "estimated_cost_usd = COALESCE(estimated_cost_usd, 0) + COALESCE(?, 0), "
            "actual_cost_usd = CASE WHEN ? IS NULL THEN actual_cost_usd ELSE COALESCE(actual_cost_usd, 0) + ? END, "
            "api_call_count = COALESCE(api_call_count, 0) + 1 WHERE id = ?",
            (*counts, estimated, actual, actual, session),
        )
        db.execute(
            "INSERT INTO messages (session_id, role, content, timestamp, finish_reason) VALUES (?,?,?,?,?)",
            (session, "assistant", "done", at, "stop"),
        )
    db.execute(
        "INSERT INTO session_model_usage (session_id, model, billing_provider, billing_base_url, billing_mode, task, "
        "api_call_count, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, "
        "estimated_cost_usd, actual_cost_usd, first_seen, last_seen) VALUES (?,?,?,?,?,?,1,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(session_id, model, billing_provider, billing_base_url, billing_mode, task) DO UPDATE SET "
        "api_call_count = api_call_count + 1, input_tokens = input_tokens + excluded.input_tokens, "
        "output_tokens = output_tokens + excluded.output_tokens, "
        "cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, "
        "cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, "
        "reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, "
        "estimated_cost_usd = estimated_cost_usd + excluded.estimated_cost_usd, "
        "actual_cost_usd = actual_cost_usd + excluded.actual_cost_usd, last_seen = excluded.last_seen",
        (
            session,
            model,
            provider,
            "",
            "official_docs_snapshot",
            task,
            *counts,
            estimated or 0.0,
            actual or 0.0,
            at,
            at,
        ),
    )
    db.commit()


def hermes_absolute(db: Any, session: str, inp: int, out: int, read: int = 0, write: int = 0) -> None:
    """The gateway path of ``update_token_counts`` (``absolute=True``): the agent's cumulative counts set, not
    added (lower ones too), and no route row."""
    db.execute(
        "UPDATE sessions SET input_tokens = ?, output_tokens = ?, cache_read_tokens = ?, cache_write_tokens = ? "
        "WHERE id = ?",
        (inp, out, read, write, session),
    )
    db.commit()
