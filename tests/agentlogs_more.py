"""The other agents' logs written in their real shapes (see each reader's docstring for the source): Gemini CLI
and Qwen Code JSONL, Kimi wire files, Droid settings, Amp threads, and the SQLite stores of Copilot CLI,
OpenCode and Goose with the tables and columns those agents create."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from agentlogs import iso


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # JSON.stringify


def spaced(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # Python's json.dumps, as Kimi CLI writes


def append(path: Path, lines: list[str], *, end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(end.join(lines) + end)
    return path


# -- Gemini CLI ---------------------------------------------------------------------------------------------------


def gemini_chat(home: Path, slug: str, cwd: Path | str | None, session: str, at: float) -> Path:
    """A session file in a slug project folder whose ``.project_root`` names ``cwd`` (None: no marker)."""
    folder = home / ".gemini" / "tmp" / slug
    folder.mkdir(parents=True, exist_ok=True)
    if cwd is not None:
        (folder / ".project_root").write_text(str(cwd))
    return folder / "chats" / f"session-{iso(at)[:16].replace(':', '-')}-{session[:8]}.jsonl"


def gemini_meta(session: str, at: float, kind: str = "main", project: str = "0" * 64) -> str:
    return compact(
        {"sessionId": session, "projectHash": project, "startTime": iso(at), "lastUpdated": iso(at), "kind": kind}
    )


def gemini_message(
    mid: str, at: float, tokens: dict[str, int] | None, model: str = "gemini-2.5-pro", tools: bool = False
) -> str:
    entry: dict[str, Any] = {"id": mid, "timestamp": iso(at), "type": "gemini", "content": ""}
    if tools:
        entry["toolCalls"] = [{"id": "c1", "name": "run_shell_command", "args": {}, "status": "success"}]
    entry["thoughts"] = [{"subject": "Plan", "description": "look", "timestamp": iso(at)}]
    entry["tokens"] = tokens
    entry["model"] = model
    return compact(entry)


def gemini_tokens(inp: int, out: int, cached: int = 0, thoughts: int = 0, tool: int = 0) -> dict[str, int]:
    return {
        "input": inp,
        "output": out,
        "cached": cached,
        "thoughts": thoughts,
        "tool": tool,
        "total": inp + out + thoughts + tool,
    }


def gemini_user(at: float) -> str:
    return compact({"id": f"u-{at}", "timestamp": iso(at), "type": "user", "content": [{"text": "fix the test"}]})


# -- Qwen Code ----------------------------------------------------------------------------------------------------


def qwen_file(home: Path, cwd: str, session: str) -> Path:
    sanitized = "".join(c if c.isalnum() else "-" for c in cwd)
    return home / ".qwen" / "projects" / sanitized / "chats" / f"{session}.jsonl"


def qwen_assistant(
    uuid: str,
    session: str,
    cwd: str,
    at: float,
    usage: dict[str, int],
    *,
    model: str = "qwen3-coder-plus",
    branch: str | None = "main",
    forked_from: str | None = None,
) -> str:
    entry: dict[str, Any] = {
        "uuid": uuid,
        "parentUuid": None,
        "sessionId": session,
        "timestamp": iso(at),
        "type": "assistant",
        "cwd": cwd,
        "version": "0.24.7",
    }
    if branch is not None:
        entry["gitBranch"] = branch
    entry.update(model=model, message={"role": "model", "parts": [{"text": "Done."}]}, usageMetadata=usage)
    if forked_from is not None:
        entry["forkedFrom"] = {"sessionId": forked_from, "messageUuid": uuid}
    return compact(entry)


def qwen_usage(prompt: int, out: int, cached: int = 0, thoughts: int = 0, *, total: bool = True) -> dict[str, int]:
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": out, "cachedContentTokenCount": cached}
    usage["thoughtsTokenCount"] = thoughts
    if total:
        usage["totalTokenCount"] = prompt + out  # OpenAI-compatible: completion_tokens holds the reasoning
    return usage


def qwen_telemetry(session: str, cwd: str, at: float, usage: dict[str, int], model: str = "qwen3-coder-plus") -> str:
    event = {
        "event.name": "qwen-code.api_response",
        "event.timestamp": iso(at),
        "response_id": f"chatcmpl-{at}",
        "model": model,
        "input_token_count": usage["promptTokenCount"],
        "output_token_count": usage["candidatesTokenCount"],
        "cached_content_token_count": usage["cachedContentTokenCount"],
    }
    return compact(
        {
            "uuid": f"t-{at}",
            "sessionId": session,
            "timestamp": iso(at),
            "type": "system",
            "subtype": "ui_telemetry",
            "cwd": cwd,
            "systemPayload": {"uiEvent": event},
        }
    )


# -- Kimi CLI -----------------------------------------------------------------------------------------------------


def kimi_share(home: Path, dirs: list[str], model: str = "kimi-k2-turbo") -> Path:
    share = home / ".kimi"
    share.mkdir(parents=True, exist_ok=True)
    listed = [{"path": d, "kaos": "local", "last_session_id": None} for d in dirs]
    (share / "kimi.json").write_text(spaced({"work_dirs": listed}))
    (share / "config.toml").write_text(
        f'default_model = "main"\n\n[models.main]\nprovider = "moonshot"\nmodel = "{model}"\n'
        'max_context_size = 262144\n\n[providers.moonshot]\ntype = "kimi"\nbase_url = "https://api.moonshot.ai/v1"\n'
    )
    return share


def kimi_wire(share: Path, cwd: str, session: str) -> Path:
    group = hashlib.md5(cwd.encode()).hexdigest()
    return share / "sessions" / group / session / "wire.jsonl"


def kimi_header() -> str:
    return spaced({"type": "metadata", "protocol_version": "1.10"})


def kimi_status(at: float, mid: str | None, other: int, out: int, read: int = 0, write: int = 0) -> str:
    usage = {"input_other": other, "output": out, "input_cache_read": read, "input_cache_creation": write}
    payload = {"context_usage": 0.2, "token_usage": usage, "message_id": mid, "plan_mode": False}
    return spaced({"timestamp": at, "message": {"type": "StatusUpdate", "payload": payload}})


def kimi_null_status(at: float) -> str:
    return spaced({"timestamp": at, "message": {"type": "StatusUpdate", "payload": {"token_usage": None}}})


def kimi_subagent(at: float, line: str) -> str:
    """``line`` (a StatusUpdate) as the parent's wire carries a foreground sub-agent's copy of it."""
    inner = json.loads(line)["message"]
    payload = {"parent_tool_call_id": "call_9", "agent_id": "a1b2", "subagent_type": "explore", "event": inner}
    return spaced({"timestamp": at, "message": {"type": "SubagentEvent", "payload": payload}})


# -- pi -----------------------------------------------------------------------------------------------------------


def pi_file(home: Path, cwd: str, session: str, at: float) -> Path:
    folder = "--" + cwd.lstrip("/").replace("/", "-") + "--"
    return home / ".pi" / "agent" / "sessions" / folder / f"{iso(at).replace(':', '-')}_{session}.jsonl"


def pi_header(session: str, cwd: str, at: float, parent: str | None = None) -> str:
    header: dict[str, Any] = {"type": "session", "version": 3, "id": session, "timestamp": iso(at), "cwd": cwd}
    if parent is not None:
        header["parentSession"] = parent
    return compact(header)


def pi_assistant(
    entry: str,
    at: float,
    inp: int,
    out: int,
    read: int = 0,
    write: int = 0,
    total_cost: float = 0.0,
    model: str = "claude-sonnet-4-5",
    provider: str = "anthropic",
) -> str:
    usage = {
        "input": inp,
        "output": out,
        "cacheRead": read,
        "cacheWrite": write,
        "totalTokens": inp + out + read + write,
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": total_cost},
    }
    message = {
        "role": "assistant",
        "content": [{"type": "text", "text": "done"}],
        "api": "anthropic-messages",
        "provider": provider,
        "model": model,
        "usage": usage,
        "stopReason": "stop",
        "timestamp": int(at * 1000),
    }
    return compact({"type": "message", "id": entry, "parentId": None, "timestamp": iso(at), "message": message})


def pi_user(entry: str, at: float) -> str:
    message = {"role": "user", "content": "fix it", "timestamp": int(at * 1000)}
    return compact({"type": "message", "id": entry, "parentId": None, "timestamp": iso(at), "message": message})


# -- Droid --------------------------------------------------------------------------------------------------------


def droid_session(home: Path, cwd: str, session: str, at: float, usage: dict[str, int], model: str) -> Path:
    """A session's transcript (its start and one message at ``at``) and its settings with ``usage``."""
    folder = home / ".factory" / "sessions" / cwd.replace("/", "-")
    start = {"type": "session_start", "id": session, "title": "fix", "owner": "u", "version": 2, "cwd": cwd}
    message = {"type": "message", "id": "m1", "timestamp": iso(at), "message": {"role": "assistant", "content": []}}
    transcript = folder / f"{session}.jsonl"
    if not transcript.exists():
        append(transcript, [compact(start)])
    append(transcript, [compact(message)])
    return droid_settings(folder / f"{session}.settings.json", usage, model)


def droid_settings(path: Path, usage: dict[str, int], model: str) -> Path:
    settings = {
        "model": model,
        "reasoningEffort": "medium",
        "providerLock": "anthropic",
        "providerLockTimestamp": "2026-05-01T01:02:03.000Z",
        "assistantActiveTimeMs": 1000,
        "tokenUsage": usage,
        "inclusiveTokenUsage": {k: v * 2 for k, v in usage.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2))
    return path


def droid_usage(inp: int, out: int, read: int = 0, write: int = 0, thinking: int = 0) -> dict[str, int]:
    return {
        "inputTokens": inp,
        "outputTokens": out,
        "cacheCreationTokens": write,
        "cacheReadTokens": read,
        "thinkingTokens": thinking,
    }


# -- Amp ----------------------------------------------------------------------------------------------------------


def amp_thread(home: Path, thread: str, cwd: str | None, messages: list[dict[str, Any]], **extra: Any) -> Path:
    trees = [{"displayName": "repo", "uri": f"file://{cwd}", "repository": {"type": "git", "ref": "refs/heads/main"}}]
    document: dict[str, Any] = {"v": 7, "id": thread, "created": 1_787_216_400_100, "title": "Fix"}
    document["env"] = {"initial": {"trees": trees if cwd else [{"displayName": "repo"}]}}
    document["messages"] = messages
    document.update(extra)
    path = home / ".local" / "share" / "amp" / "threads" / f"{thread}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
    return path


def amp_assistant(
    mid: int, at: float, inp: int, out: int, read: int = 0, write: int = 0, model: str = "claude-opus-4-6"
) -> dict[str, Any]:
    usage = {
        "model": model,
        "inputTokens": inp,
        "outputTokens": out,
        "cacheCreationInputTokens": write,
        "cacheReadInputTokens": read,
        "totalInputTokens": inp + read + write,
        "credits": 1.5,
        "timestamp": iso(at),
    }
    return {"role": "assistant", "messageId": mid, "content": [{"type": "text", "text": "ok"}], "usage": usage}


# -- SQLite stores ------------------------------------------------------------------------------------------------


def copilot_store(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, cwd TEXT, repository TEXT, branch TEXT, summary TEXT, "
        "host_type TEXT, created_at TEXT, updated_at TEXT);"
        "CREATE TABLE assistant_usage_events (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, "
        "turn_index INTEGER, agent_id TEXT, parent_tool_call_id TEXT, model TEXT NOT NULL, copilot_usage_model TEXT, "
        "input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER, cache_write_tokens INTEGER, "
        "reasoning_tokens INTEGER, total_nano_aiu INTEGER, request_multiplier REAL, duration_ms INTEGER, "
        "initiator TEXT, api_endpoint TEXT, token_details_json TEXT, created_at TEXT);"
    )
    return db


def copilot_call(
    db: sqlite3.Connection,
    session: str,
    at: float,
    model: str,
    inp: int,
    out: int,
    read: int,
    write: int,
    reasoning: int = 0,
) -> None:
    """One row as Copilot CLI writes it: ``input_tokens`` with the cache reads and writes in it."""
    db.execute(
        "INSERT INTO assistant_usage_events (session_id, turn_index, model, input_tokens, output_tokens, "
        "cache_read_tokens, cache_write_tokens, reasoning_tokens, total_nano_aiu, request_multiplier, initiator, "
        "api_endpoint, token_details_json, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            session,
            1,
            model,
            inp + read + write,
            out,
            read,
            write,
            reasoning,
            3_120_000_000,
            1.0,
            "user",
            "/v1/messages",
            "[]",
            iso(at),
        ),
    )
    db.commit()


def copilot_events(home: Path, session: str, cwd: str, branch: str | None, at: float) -> Path:
    context = {"cwd": cwd, "gitRoot": cwd, "branch": branch, "repository": "acme/repo"}
    data = {
        "sessionId": session,
        "version": 1,
        "producer": "copilot-agent",
        "copilotVersion": "1.0.78",
        "context": context,
    }
    start = {"type": "session.start", "data": data, "id": "e1", "timestamp": iso(at), "parentId": None}
    message = {"type": "assistant.message", "data": {"messageId": "m", "content": "x", "outputTokens": 5}, "id": "e2"}
    return append(home / ".copilot" / "session-state" / session / "events.jsonl", [compact(start), compact(message)])


def opencode_store(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT NOT NULL, vcs TEXT, name TEXT);"
        "CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT, slug TEXT, "
        "directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT, time_created INTEGER, time_updated INTEGER);"
        "CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER, "
        "time_updated INTEGER, data TEXT NOT NULL);"
        "CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL, "
        "time_created INTEGER, time_updated INTEGER, data TEXT NOT NULL);"
    )
    return db


def opencode_session(db: sqlite3.Connection, session: str, directory: str, title: str = "fix") -> None:
    db.execute(
        "INSERT INTO session VALUES (?,?,?,?,?,?,?,?,?)", (session, "p1", None, "s", directory, title, "1.2.3", 0, 0)
    )
    db.commit()


def opencode_message(
    db: sqlite3.Connection,
    session: str,
    mid: str,
    at: float,
    directory: str,
    steps: list[dict[str, Any]],
    *,
    model: str = "claude-sonnet-4-5",
    provider: str = "anthropic",
) -> None:
    """An assistant message and one step-finish part per step (``steps``: each step's ``tokens`` and ``cost``);
    the message keeps the last step's tokens and the sum of the costs, as OpenCode's processor leaves it."""
    ms = int(at * 1000)
    data = {
        "role": "assistant",
        "time": {"created": ms, "completed": ms + 5000},
        "parentID": "msg_user",
        "modelID": model,
        "providerID": provider,
        "mode": "build",
        "path": {"cwd": directory, "root": directory},
        "cost": sum(s["cost"] for s in steps),
        "tokens": steps[-1]["tokens"],
        "finish": "stop",
    }
    db.execute("INSERT INTO message VALUES (?,?,?,?,?)", (mid, session, ms, ms, compact(data)))
    for n, step in enumerate(steps):
        part = {"type": "step-finish", "reason": "tool-calls", "snapshot": f"{ms:x}{n:04x}", **step}
        db.execute(
            "INSERT INTO part VALUES (?,?,?,?,?,?)", (f"prt_{mid}_{n}", mid, session, ms + n, ms + n, compact(part))
        )
        text = {"type": "text", "text": "step-finish is a word here"}
        db.execute("INSERT INTO part VALUES (?,?,?,?,?,?)", (f"prt_{mid}_{n}t", mid, session, ms, ms, compact(text)))
    db.commit()


def opencode_tokens(inp: int, out: int, reasoning: int = 0, read: int = 0, write: int = 0) -> dict[str, Any]:
    """Tokens as current OpenCode (AI SDK v6) stores them: output without reasoning, total the provider's."""
    return {
        "total": inp + out + reasoning + read + write,
        "input": inp,
        "output": out,
        "reasoning": reasoning,
        "cache": {"read": read, "write": write},
    }


def goose_store(path: Path, *, ledger: bool = True) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, name TEXT, session_type TEXT, working_dir TEXT NOT NULL, "
        "created_at TEXT, updated_at TEXT, provider_name TEXT, model_config_json TEXT, "
        "input_tokens INTEGER, output_tokens INTEGER, total_tokens INTEGER, accumulated_input_tokens INTEGER, "
        "accumulated_output_tokens INTEGER, accumulated_total_tokens INTEGER"
        + (
            ", accumulated_cache_read_tokens INTEGER, accumulated_cache_write_tokens INTEGER, accumulated_cost REAL"
            if ledger
            else ""
        )
        + ");"
    )
    if ledger:
        db.executescript(
            "CREATE TABLE usage_ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, "
            "created_timestamp INTEGER NOT NULL, model TEXT, input_tokens INTEGER, output_tokens INTEGER, "
            "total_tokens INTEGER, cache_read_tokens INTEGER, cache_write_tokens INTEGER, cost REAL, "
            "cost_source TEXT, is_compaction INTEGER DEFAULT 0);"
        )
    return db


def goose_session(db: sqlite3.Connection, session: str, cwd: str, at: float, provider: str = "anthropic") -> None:
    config = compact({"model_name": "claude-sonnet-4-5", "temperature": None})
    stamp = iso(at)[:19].replace("T", " ")
    db.execute(
        "INSERT INTO sessions (id, name, session_type, working_dir, created_at, updated_at, provider_name, "
        "model_config_json, accumulated_input_tokens, accumulated_output_tokens, accumulated_total_tokens) "
        "VALUES (?,?,?,?,?,?,?,?,0,0,0)",
        (session, "fix", "user", cwd, stamp, stamp, provider, config),
    )
    db.commit()


def goose_call(
    db: sqlite3.Connection,
    session: str,
    at: float,
    inp: int,
    out: int,
    read: int = 0,
    write: int = 0,
    model: str | None = "claude-sonnet-4-5",
    cost: float | None = 0.01,
    ledger: bool = True,
) -> None:
    """One call as ``record_usage_metrics`` records it: a ledger row (input with the cache in it) and the same
    amounts added to the session's running totals, in one transaction."""
    prompt = inp + read + write
    if ledger:
        db.execute(
            "INSERT INTO usage_ledger (session_id, created_timestamp, model, input_tokens, output_tokens, "
            "total_tokens, cache_read_tokens, cache_write_tokens, cost, cost_source) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (session, int(at), model, prompt, out, prompt + out, read, write, cost, "estimated"),
        )
        db.execute(
            "UPDATE sessions SET accumulated_cache_read_tokens = coalesce(accumulated_cache_read_tokens, 0) + ?, "
            "accumulated_cache_write_tokens = coalesce(accumulated_cache_write_tokens, 0) + ? WHERE id = ?",
            (read, write, session),
        )
    db.execute(
        "UPDATE sessions SET accumulated_input_tokens = accumulated_input_tokens + ?, accumulated_output_tokens = "
        "accumulated_output_tokens + ?, accumulated_total_tokens = accumulated_total_tokens + ?, updated_at = ?, "
        "input_tokens = ?, output_tokens = ? WHERE id = ?",
        (prompt, out, prompt + out, iso(at)[:19].replace("T", " "), prompt, out, session),
    )
    db.commit()
