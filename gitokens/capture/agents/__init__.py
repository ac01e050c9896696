"""The registry of the coding agents capture knows (``AGENTS``: name, source, where the logs are, what is
read, what cannot be known), and the readers of those other than Claude Code and Codex (``READERS``): one
module per agent, each saying in its docstring the facts it relies on (where the logs are, the fields, what
each token count means, the quirks). Claude Code's and Codex's logs are read on capture's own fast path
(``native``).

Every reader (``base.Agent``) lists its agent's log files or databases (``logs``) and reads one of them from
a saved position (``read``): a byte offset for an append-only JSONL log, a row id for a SQLite store, the
modification time and size for a JSON file the agent rewrites whole (re-read whole when it changed, its
calls' keys keeping a second reading from counting them twice). It returns ``AgentCall``s in Anthropic
semantics, with the working directory the agent logged (None when it logs none: such calls cannot be
attributed, and nothing is guessed) and the provider when known; ``AgentCall.to_message`` makes them the
``Message``s capture attributes.
"""

from __future__ import annotations

from gitokens.capture.agents.amp import Amp
from gitokens.capture.agents.base import Agent, AgentCall, Position, Reading
from gitokens.capture.agents.copilot import Copilot
from gitokens.capture.agents.droid import Droid
from gitokens.capture.agents.gemini import Gemini
from gitokens.capture.agents.goose import Goose
from gitokens.capture.agents.hermes import Hermes
from gitokens.capture.agents.kilo import Kilo
from gitokens.capture.agents.kimi import Kimi
from gitokens.capture.agents.native import ClaudeCode, Codex, Native
from gitokens.capture.agents.opencode import OpenCode
from gitokens.capture.agents.pi import Pi
from gitokens.capture.agents.qwen import Qwen

AGENTS: dict[str, Agent] = {
    agent.name: agent
    for agent in (
        ClaudeCode(),
        Codex(),
        Gemini(),
        Copilot(),
        OpenCode(),
        Qwen(),
        Goose(),
        Kimi(),
        Droid(),
        Amp(),
        Kilo(),
        Pi(),
        Hermes(),
    )
}
"""Every agent by the name ``--agent`` takes, in the order a capture reads them."""

READERS: dict[str, Agent] = {name: agent for name, agent in AGENTS.items() if not isinstance(agent, Native)}
"""The agents whose logs are read through ``Agent.read``."""

__all__ = ["AGENTS", "READERS", "Agent", "AgentCall", "Position", "Reading"]
