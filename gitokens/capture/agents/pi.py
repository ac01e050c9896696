"""The pi coding agent's (badlogic/pi-mono) session logs:
``${PI_CODING_AGENT_DIR:-~/.pi/agent}/sessions/--<cwd>--/*.jsonl``.

Facts relied on, read in badlogic/pi-mono (``packages/coding-agent/src/core/session-manager.ts``, session
version 3; ``config.ts`` ``getAgentDir``; pi-ai's providers for ``Usage``):

- One append-only JSONL file per session under a folder named after the directory (``--`` + the path with
  ``/`` turned to ``-`` + ``--``: lossy, never decoded). Line 1 is the header ``{"type": "session", "version",
  "id", "timestamp", "cwd", "parentSession"?}``: the session and the directory it ran in.
- Entries are ``{"type", "id" (8 hex), "parentId", "timestamp" (ISO)}``; a ``type: "message"`` entry whose
  ``message.role`` is ``assistant`` is one model call: ``message.provider``, ``message.model``,
  ``message.timestamp`` (ms) and ``message.usage`` = ``{input, output, cacheRead, cacheWrite, totalTokens,
  cost: {input, output, cacheRead, cacheWrite, total}}``. pi-ai normalises every provider to Anthropic's
  split: ``input`` without cache (OpenAI's cached tokens subtracted), ``output`` as the provider counts it
  (reasoning included, no separate count), ``cost.total`` USD from pi's model catalogue (0 when unknown:
  then None).
- ``createBranchedSession`` and ``forkFrom`` write a new file (``parentSession`` in its header) holding the
  kept entries as they were (``JSON.stringify(entry)``), so the key is the entry's id with the message's
  time and usage: copies count once, under the session read first (``forkFrom`` into another directory
  copies the source's calls too; they ran in the source's directory).
- No branch. Subagents and compaction summaries made by extensions are not necessarily logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitokens.capture.agents.base import (
    MAKE,
    Agent,
    AgentCall,
    Position,
    Reading,
    cost,
    count,
    epoch_of,
    home_of,
    key_of,
    read_jsonl,
    setting,
    text,
    walk,
)

SOURCE = "pi"


class Pi(Agent):
    name = "pi"
    source = SOURCE
    variable = "PI_CODING_AGENT_DIR"
    default = "~/.pi/agent/sessions/--<dir>--/*.jsonl"
    reads = "each assistant message's usage, once per entry (branched copies counted once)"
    unknown = "branch"

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        env, home = home_of(env)
        return [(setting(env, "PI_CODING_AGENT_DIR") or home / ".pi" / "agent") / "sessions"]

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        env, home = home_of(env)
        base = setting(env, "PI_CODING_AGENT_DIR") or home / ".pi" / "agent"
        return walk(base / "sessions", lambda name: name.endswith(".jsonl"), depth=1)

    def read(self, path: Path, position: Position | None = None) -> Reading:
        return read_jsonl(path, position, _line)


def _line(entry: Any, context: dict[str, Any]) -> AgentCall | None:
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    if entry.get("type") == "session":
        context.update(session=text(entry.get("id")), cwd=text(entry.get("cwd")))
        return None
    message = entry.get("message")
    if entry.get("type") != "message" or not isinstance(message, dict) or message.get("role") != "assistant":
        return None
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    when = epoch_of(message.get("timestamp")) or epoch_of(entry.get("timestamp"))
    if when is None:
        raise ValueError("no timestamp")
    counts = [count(usage.get(k)) for k in ("input", "output", "cacheRead", "cacheWrite")]
    if not any(counts):
        return None
    spent = usage.get("cost")
    return MAKE(
        AgentCall,
        (
            key_of(SOURCE, entry.get("id"), message.get("timestamp"), counts, plain=False),
            when,
            SOURCE,
            context.get("session"),
            context.get("cwd"),
            None,
            text(message.get("model")),
            text(message.get("provider")),
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            0,
            cost(spent.get("total")) if isinstance(spent, dict) else None,
        ),
    )
