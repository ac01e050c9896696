"""Qwen Code's chat logs: ``<runtime>/projects/<sanitized cwd>/chats/<session>.jsonl``.

Facts relied on, read in QwenLM/qwen-code (``packages/core/src/services/chatRecordingService.ts``,
``config/storage.ts``, ``utils/paths.ts``, ``core/openaiContentGenerator/converter.ts``,
``core/anthropicContentGenerator/usage.ts``, ``services/usageHistoryService.ts``):

- The OpenAI-compatible converter (``convertOpenAIResponseToLlm``) sets ``promptTokenCount`` to
  ``usage.prompt_tokens`` (cached tokens included, as OpenAI counts them), ``cachedContentTokenCount`` to
  ``prompt_tokens_details.cached_tokens``, ``candidatesTokenCount`` to ``completion_tokens`` (reasoning
  included) and ``thoughtsTokenCount`` to ``completion_tokens_details.reasoning_tokens`` or, when absent, an
  estimate from the reasoning text capped at the completion.
- The runtime folder is ``$QWEN_RUNTIME_DIR``, else ``$QWEN_HOME``, else ``~/.qwen``. One append-only JSONL
  file per session, compact ``JSON.stringify`` lines; the project folder's name is a lossy sanitizing of
  the directory and is never decoded: every record carries ``cwd``, ``sessionId``, ``timestamp`` (ISO),
  ``uuid`` and, when known, ``gitBranch``.
- A ``type: "assistant"`` record is written per streamed API call, with ``model`` and ``usageMetadata``
  (Gemini's shape): ``promptTokenCount`` is the whole prompt with cache reads included (for Anthropic it
  also folds in cache writes, which are not exposed), ``cachedContentTokenCount`` the cache reads,
  ``candidatesTokenCount`` the output (for OpenAI-compatible providers reasoning included, for native
  Gemini without it), ``thoughtsTokenCount`` the reasoning (for OpenAI-compatible providers sometimes an
  estimate from the text), ``totalTokenCount`` the whole. So in our semantics: input = prompt - cached;
  cache reads = cached; output = total - prompt when the total is given (reasoning included whatever the
  provider), else candidates; reasoning = thoughts, at most the output. Counts are per call.
- The same call is logged again as a ``type: "system"``, ``subtype: "ui_telemetry"`` record; only the
  assistant records are read. ``/branch`` copies every record into a new session file with the same
  ``uuid`` and a ``forkedFrom``: records with ``forkedFrom`` are skipped, and the key is the ``uuid``.
- No provider field (``auth_type`` in telemetry is an auth method) and no cost.
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
    count,
    epoch_of,
    home_of,
    key_of,
    read_jsonl,
    setting,
    text,
    walk,
)

SOURCE = "qwen-code"


class Qwen(Agent):
    name = "qwen"
    source = SOURCE
    variable = "QWEN_RUNTIME_DIR"
    default = "~/.qwen/projects/<project>/chats/*.jsonl (QWEN_HOME moves ~/.qwen)"
    reads = "each assistant record's usageMetadata, once per uuid; forked copies skipped"
    unknown = "cost; the provider; cache writes (folded into the prompt by Qwen Code)"

    def root(self, env: Mapping[str, str] | None = None) -> Path:
        env, home = home_of(env)
        return setting(env, "QWEN_RUNTIME_DIR") or setting(env, "QWEN_HOME") or home / ".qwen"

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return [self.root(env) / "projects"]

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return walk(self.root(env) / "projects", lambda name: name.endswith(".jsonl"), depth=2)

    def read(self, path: Path, position: Position | None = None) -> Reading:
        return read_jsonl(path, position, _line)


def _line(entry: Any, context: dict[str, Any]) -> AgentCall | None:
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    if entry.get("type") != "assistant" or entry.get("forkedFrom"):
        return None
    usage, uuid = entry.get("usageMetadata"), text(entry.get("uuid"))
    if not isinstance(usage, dict) or uuid is None:
        return None
    when = epoch_of(entry.get("timestamp"))
    if when is None:
        raise ValueError("no timestamp")
    prompt, cached = count(usage.get("promptTokenCount")), count(usage.get("cachedContentTokenCount"))
    total = count(usage.get("totalTokenCount"))
    output = total - prompt if total >= prompt and total > 0 else count(usage.get("candidatesTokenCount"))
    return MAKE(
        AgentCall,
        (
            key_of(SOURCE, uuid),
            when,
            SOURCE,
            text(entry.get("sessionId")),
            text(entry.get("cwd")),
            text(entry.get("gitBranch")),
            text(entry.get("model")),
            None,
            max(prompt - cached, 0),
            output,
            min(cached, prompt),
            0,
            min(count(usage.get("thoughtsTokenCount")), output),
            None,
        ),
    )
