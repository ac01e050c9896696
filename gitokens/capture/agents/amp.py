"""Amp's local thread files: ``${XDG_DATA_HOME:-~/.local/share}/amp/threads/T-<id>.json``.

Amp keeps no usage on disk any more: since about April 2026 new threads are stored on Amp's servers and the
local ``threads/`` folder stops receiving files (the last local files date from about 2026-03-31; reported
in ccusage #1474 and three other readers' issues). This reader reads the older local files only; newer
usage is reachable only through Amp's authenticated CLI (``amp threads export``), which capture does not
call.

Amp is closed source; the facts come from other readers that agree (ccusage
``rust/crates/ccusage/src/adapter/amp/{parser,loader}.rs`` @5816e640, ccrider ``pkg/ampsessions/amp.go``,
thread fixtures of several readers): confidence medium.

- One pretty-printed JSON document per thread, rewritten whole on every change: ``{"id": "T-...",
  "created": <ms>, "env": {"initial": {"trees": [{"uri": "file:///...", "repository": {"ref":
  "refs/heads/<branch>", ...}}]}}, "messages": [...], "usageLedger": {"events": [...]}}``.
- From about 2026-01 an assistant message holds ``usage`` = ``{model, inputTokens,
  cacheCreationInputTokens, cacheReadInputTokens, outputTokens, totalInputTokens, credits, timestamp}``:
  Anthropic semantics (input without cache, thinking inside the output, no separate reasoning count), one
  call per message. Before it, ``usageLedger.events[]`` = ``{id, timestamp, model, credits, tokens: {input,
  output}, toMessageId}`` held the calls and the cache counts were only on the message. A message's usage
  is taken when it has one, a ledger event for a message without one; both are keyed (thread, message id),
  so a call counts once whichever copy a read sees. Editing an earlier message drops later ones from the
  file; what was read stays read.
- The working directory is the ``file://`` URI of the single tree in ``env.initial.trees`` and the branch
  its repository ``ref``; a thread with no tree, or several, has cwd None. No provider (inferred from the
  model by pricing); cost only in Amp credits, not read.
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
    read_rewritten,
    text,
    walk,
    xdg_data,
)

SOURCE = "amp"


class Amp(Agent):
    name = "amp"
    source = SOURCE
    variable = "XDG_DATA_HOME"
    default = "~/.local/share/amp/threads/*.json (threads before about April 2026 only)"
    reads = "assistant messages' usage (older threads: usageLedger events), once per message"
    unknown = (
        "everything since about April 2026: Amp keeps threads on its servers, not on disk; "
        "cost in USD; the directory of a thread without exactly one tree"
    )

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        env, home = home_of(env)
        return [xdg_data(env, home) / "amp" / "threads"]

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        env, home = home_of(env)
        folder = xdg_data(env, home) / "amp" / "threads"
        return walk(folder, lambda name: name.startswith("T-") and name.endswith(".json"), depth=0)

    def read(self, path: Path, position: Position | None = None) -> Reading:
        return read_rewritten(path, position, _thread)


def _thread(document: Any) -> list[AgentCall]:
    if not isinstance(document, dict) or not text(document.get("id")):
        raise ValueError("not a thread")
    thread = document["id"]
    cwd, branch = _tree(document.get("env"))
    calls: dict[Any, AgentCall] = {}
    messages = document.get("messages")
    cache: dict[Any, tuple[int, int]] = {}
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        usage, mid = message.get("usage"), message.get("messageId")
        if not isinstance(usage, dict) or isinstance(mid, bool) or not isinstance(mid, int):
            continue
        cache[mid] = (count(usage.get("cacheReadInputTokens")), count(usage.get("cacheCreationInputTokens")))
        when = epoch_of(usage.get("timestamp")) or epoch_of(message.get("timestamp"))
        if when is None:
            continue
        tokens = (count(usage.get("inputTokens")), count(usage.get("outputTokens")), *cache[mid])
        calls[mid] = _call(thread, mid, when, cwd, branch, text(usage.get("model")), tokens)
    ledger = document.get("usageLedger")
    events = ledger.get("events") if isinstance(ledger, dict) else None
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict) or not isinstance(event.get("tokens"), dict):
            continue
        target = event.get("toMessageId")
        mid = target if isinstance(target, int) and not isinstance(target, bool) else f"event:{event.get('id')}"
        when = epoch_of(event.get("timestamp"))
        if mid in calls or when is None:
            continue
        read, write = cache.get(mid, (0, 0))
        tokens = (count(event["tokens"].get("input")), count(event["tokens"].get("output")), read, write)
        calls[mid] = _call(thread, mid, when, cwd, branch, text(event.get("model")), tokens)
    return list(calls.values())


def _call(
    thread: str, mid: Any, when: float, cwd: str | None, branch: str | None, model: str | None, tokens: tuple[int, ...]
) -> AgentCall:
    inp, out, read, write = tokens
    return MAKE(
        AgentCall,
        (key_of(SOURCE, thread, mid), when, SOURCE, thread, cwd, branch, model, None, inp, out, read, write, 0, None),
    )


def _tree(env: Any) -> tuple[str | None, str | None]:
    """The directory and branch of a thread's only tree (None, None when there is not exactly one)."""
    initial = env.get("initial") if isinstance(env, dict) else None
    trees = initial.get("trees") if isinstance(initial, dict) else None
    if not isinstance(trees, list) or len(trees) != 1 or not isinstance(trees[0], dict):
        return None, None
    from urllib.parse import unquote, urlparse  # here: a capture without Amp's threads does without it

    uri = text(trees[0].get("uri"))
    parsed = urlparse(uri) if uri else None
    cwd = unquote(parsed.path) if parsed is not None and parsed.scheme == "file" and parsed.path else None
    repository = trees[0].get("repository")
    ref = text(repository.get("ref")) if isinstance(repository, dict) else None
    branch = ref.removeprefix("refs/heads/") if ref and ref.startswith("refs/heads/") else None
    return cwd, branch if cwd else None
