"""Gemini CLI's chat logs: ``${GEMINI_CLI_HOME:-~}/.gemini/tmp/<project>/chats/``.

Facts relied on, read in google-gemini/gemini-cli (snapshot 5411f113, 2026-08;
``packages/core/src/services/chatRecordingService.ts``, ``chatRecordingTypes.ts``,
``config/storage.ts``, ``config/projectRegistry.ts``, ``config/storageMigration.ts``):

- One file per session: ``session-<time>-<id8>.jsonl`` (v0.39.0 on; before it the same stem as one JSON
  document ``{sessionId, messages: [...]}`` rewritten whole on every message). A sub-agent writes
  ``chats/<parent session>/<its session>.jsonl`` with ``"kind": "subagent"``; its calls count under the
  parent's session.
- The JSONL's first line is the metadata ``{sessionId, projectHash, startTime, kind}``; then messages,
  ``{"$set": ...}`` patches and ``{"$rewindTo": id}`` markers. Only top-level ``type: "gemini"`` messages
  carry usage, in ``tokens``: ``input`` (promptTokenCount, cache reads included), ``cached``
  (cachedContentTokenCount), ``output`` (candidatesTokenCount, without the thoughts), ``thoughts``
  (thoughtsTokenCount, billed as output), ``tool`` (toolUsePromptTokenCount, prompt tokens outside
  ``input``), ``total`` = input + output + thoughts + tool. So, in our semantics: input = input - cached +
  tool; cache reads = cached; output = output + thoughts; reasoning = thoughts; no cache writes (implicit
  caching has none). Counts are per call, not cumulative.
- A message is appended again, whole, every time it changes (tool calls merged): the same ``id`` two to four
  times with the same ``tokens``. ``$set.messages`` re-lists history and ``$rewindTo`` only hides messages
  (their tokens were spent): both are ignored. The dedupe key is (session, message id) across every file: a
  session can be in a legacy ``.json`` and its ``.jsonl``, and in both the sha256 folder and the slug folder
  that storage migration copied it to.
- The working directory is not in the log. The project folder is a slug whose ``.project_root`` file holds
  the absolute path, or (older) ``sha256(path)``; ``~/.gemini/projects.json`` (``{"projects": {path: slug}}``)
  maps paths to slugs, and a sha256 folder is matched by hashing the paths listed there. A folder neither
  explains has cwd None. Branch and cost: not recorded. Provider: always Google (the Gemini API or Vertex).
- Files older than ``general.sessionRetention`` (30 days by default) are deleted by the CLI itself.
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
    read_rewritten,
    setting,
    settled,
    text,
    walk,
)

SOURCE = "gemini-cli"


class Gemini(Agent):
    name = "gemini"
    source = SOURCE
    variable = "GEMINI_CLI_HOME"
    default = "~/.gemini/tmp/<project>/chats/*.jsonl (and *.json before v0.39)"
    reads = "each gemini message's tokens, once per message id"
    unknown = "branch; cost; the directory of a project folder neither .project_root nor projects.json explains"

    def root(self, env: Mapping[str, str] | None = None) -> Path:
        env, home = home_of(env)
        return (setting(env, "GEMINI_CLI_HOME") or home) / ".gemini"

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return [self.root(env) / "tmp"]

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        tmp = self.root(env) / "tmp"
        return walk(tmp, _is_chat, depth=4)

    def read(self, path: Path, position: Position | None = None) -> Reading:
        if path.suffix == ".json":
            return read_rewritten(path, position, lambda doc: _document(doc, path))
        return read_jsonl(path, position, _line, _begin)


def _is_chat(name: str) -> bool:
    return name.endswith(".jsonl") or (name.startswith("session-") and name.endswith(".json"))


def _begin(path: Path) -> dict[str, Any]:
    return {"cwd": project_dir(path), "parent": _parent(path)}


def _parent(path: Path) -> str | None:
    """The parent session of a sub-agent's file (``chats/<parent>/<sub>.jsonl``)."""
    return path.parent.name if path.parent.parent.name == "chats" else None


def project_dir(path: Path) -> str | None:
    """The directory the chat's project folder stands for, or None when nothing on disk says."""
    chats = next((p for p in path.parents if p.name == "chats"), None)
    if chats is None:
        return None
    folder = chats.parent
    try:
        marker = (folder / ".project_root").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        marker = ""
    if marker:
        return marker
    registry = settled(folder.parent.parent / "projects.json", read_json)
    projects = registry.get("projects") if isinstance(registry, dict) else None
    if not isinstance(projects, dict):
        return None
    for where, slug in projects.items():
        if isinstance(where, str) and (slug == folder.name or _sha256(where) == folder.name):
            return where
    return None


def _sha256(where: str) -> str:
    return hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()


def _line(entry: Any, context: dict[str, Any]) -> AgentCall | None:
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    if "sessionId" in entry and "type" not in entry:  # the metadata line
        context["session"] = text(entry.get("sessionId"))
        return None
    return _message(entry, context)


def _message(entry: dict[str, Any], context: dict[str, Any]) -> AgentCall | None:
    if entry.get("type") != "gemini":
        return None
    model = text(entry.get("model")) or context.get("model")
    context["model"] = model
    tokens, mid = entry.get("tokens"), text(entry.get("id"))
    if not isinstance(tokens, dict) or mid is None:
        return None
    when = epoch_of(entry.get("timestamp"))
    if when is None:
        raise ValueError("no timestamp")
    own = context.get("session")
    cached, thoughts = count(tokens.get("cached")), count(tokens.get("thoughts"))
    return MAKE(
        AgentCall,
        (
            _key(own, mid),
            when,
            SOURCE,
            context.get("parent") or own,
            context.get("cwd"),
            None,
            model,
            "google",
            max(count(tokens.get("input")) - cached, 0) + count(tokens.get("tool")),
            count(tokens.get("output")) + thoughts,
            cached,
            0,
            thoughts,
            None,
        ),
    )


def _key(session: str | None, mid: str) -> bytes:
    """The key of a message, made once for its copies (each message is appended two to four times, and copied
    into other folders and files)."""
    key = _KEYS.get((session, mid))
    if key is None:
        if len(_KEYS) >= 1 << 16:
            _KEYS.clear()
        key = _KEYS[session, mid] = key_of(SOURCE, session, mid)
    return key


_KEYS: dict[tuple[str | None, str], bytes] = {}


def _document(document: Any, path: Path) -> list[AgentCall]:
    """The calls of a legacy whole-file session."""
    if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
        raise ValueError("not a conversation record")
    context = {**_begin(path), "session": text(document.get("sessionId"))}
    calls = []
    for message in document["messages"]:
        if isinstance(message, dict) and (call := _message(message, context)) is not None:
            calls.append(call)
    return calls
