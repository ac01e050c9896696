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
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from gitokens.capture.agents.base import (
    MAKE,
    MAX_COUNT,
    Agent,
    AgentCall,
    LineErrors,
    Position,
    Reading,
    count,
    epoch_of,
    home_of,
    key_digest,
    loads,
    read_json,
    read_rewritten,
    setting,
    settled,
    tail,
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
        return read_lines(path, position)


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


def read_lines(path: Path, position: Position | None) -> Reading:
    """The calls in the lines appended to a JSONL chat since ``position``, as ``read_jsonl`` reads them with
    ``_line``: each line decoded into the fields a call takes (``_Entry``), or, where that decoder refuses it,
    decoded whole and handed to ``_line`` (so that the reading is the same)."""
    read = tail(path, position)
    context = _begin(path) if read.restarted or not position else dict(position.get("context") or {})
    reading = Reading(position={**read.position, "context": context})
    calls, malformed = reading.calls, reading.malformed
    for offset, line in read.lines:
        try:
            entry = _ENTRY(line) if line.isascii() or _utf8(line) else None
        except (msgspec.MsgspecError, RecursionError):
            entry = None
        try:
            if entry is None:
                found = _plain(line, context)
            elif entry.type == "gemini":
                found = _call(entry, context)
            else:
                if entry.type is UNSET and entry.session is not UNSET:  # the metadata line
                    context["session"] = entry.session or None
                continue
        except LineErrors:
            malformed.append(f"{path}:{offset}")
            continue
        if found is not None:
            calls.append(found)
    return reading


class _Tokens(msgspec.Struct):
    """A message's ``tokens`` when each count is an int (a missing one is 0, as ``count`` reads it)."""

    input: int = 0
    output: int = 0
    cached: int = 0
    thoughts: int = 0
    tool: int = 0


class _Entry(msgspec.Struct):
    """The fields of a line a call takes, each of the type it has when the CLI writes it (None where ``text``
    or a missing ``tokens`` make null the same as missing); the rest of the line (its content) is skipped
    unread. ``type`` and ``sessionId`` tell missing from null, as ``_line`` does."""

    type: str | UnsetType | None = UNSET
    session: str | UnsetType | None = msgspec.field(default=UNSET, name="sessionId")
    model: str | None = None
    id: str | None = None
    timestamp: str | None = None
    tokens: _Tokens | None = None


_ENTRY = msgspec.json.Decoder(_Entry).decode


def _utf8(line: bytes) -> bool:
    """Whether a line is UTF-8: the typed decoder skips the strings it does not keep without checking them,
    where the plain path refuses the line (``loads`` finds it neither msgspec's JSON nor ``json``'s)."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _plain(line: bytes, context: dict[str, Any]) -> AgentCall | None:
    """``_line`` of a line decoded whole (one the typed decoder refused); a line that is not JSON raises."""
    entry = loads(line) if line else None
    if entry is None:
        raise ValueError("not JSON")
    return _line(entry, context)


def _call(entry: _Entry, context: dict[str, Any]) -> AgentCall | None:
    """``_message`` of a gemini message decoded into its fields (its counts ints, each taken as ``count``
    takes an int)."""
    model = context["model"] = entry.model or context.get("model")
    tokens, mid = entry.tokens, entry.id
    if tokens is None or not mid:
        return None
    when = _EPOCHS.get(entry.timestamp) or _epoch(entry.timestamp)
    if when is None:
        raise ValueError("no timestamp")
    own = context.get("session")
    fed, cached, spent, thoughts, tool = tokens.input, tokens.cached, tokens.output, tokens.thoughts, tokens.tool
    cached = cached if 0 <= cached <= MAX_COUNT else 0
    thoughts = thoughts if 0 <= thoughts <= MAX_COUNT else 0
    fresh = (fed if 0 <= fed <= MAX_COUNT else 0) - cached
    return MAKE(
        AgentCall,
        (
            _KEYS.get((own, mid)) or _key(own, mid),
            when,
            SOURCE,
            context.get("parent") or own,
            context.get("cwd"),
            None,
            model,
            "google",
            (fresh if fresh > 0 else 0) + (tool if 0 <= tool <= MAX_COUNT else 0),
            (spent if 0 <= spent <= MAX_COUNT else 0) + thoughts,
            cached,
            0,
            thoughts,
            None,
        ),
    )


def _epoch(value: str | None) -> float | None:
    """``epoch_of`` of a timestamp, remembered: a message is appended two to four times with its timestamp, and
    copied into other files. Only a time taken is remembered; a time ``epoch_of`` takes stays taken (its
    bounds are a fixed past and a future that only moves on)."""
    when = _EPOCHS.get(value)
    if when is None:
        when = epoch_of(value)
        if when is not None:
            if len(_EPOCHS) >= 1 << 16:
                _EPOCHS.clear()
            _EPOCHS[value] = when
    return when


_EPOCHS: dict[str | None, float] = {}


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
    """``key_of(SOURCE, session, mid)``, made once for a message's copies (each message is appended two to four
    times, and copied into other folders and files), its text written here as ``key_of`` writes it."""
    key = _KEYS.get((session, mid))
    if key is None:
        if len(_KEYS) >= 1 << 16:
            _KEYS.clear()
        written = "null" if session is None else encode_basestring_ascii(session)
        key = _KEYS[session, mid] = _DIGEST(f"[{written},{encode_basestring_ascii(mid)}]")
    return key


_KEYS: dict[tuple[str | None, str], bytes] = {}
_DIGEST = key_digest(SOURCE)


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
