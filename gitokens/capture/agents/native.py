"""Claude Code's and Codex's entries in the registry: where their logs are and what is read, as for every
other agent, so ``capture --agent`` and ``--list-agents`` treat all agents alike.

Their logs are not read through ``Agent.read``: capture parses them on its own path (``claude``, ``codex``,
``files``, ``scan``), which reads the bytes appended since the last capture in a mapping of the file, keeps
the parse context Codex needs in the file's state, and shares large scans with a forked worker. Those logs
are the large ones (hundreds of megabytes are common), and that path is several times faster than a reader
returning one ``AgentCall`` per call would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gitokens.capture import files
from gitokens.capture.agents.base import Agent, Position, Reading


class Native(Agent):
    """An agent capture reads on its own path (see the module)."""

    def read(self, path: Path, position: Position | None = None) -> Reading:
        raise NotImplementedError(f"{self.name}'s logs are read by capture's scan, not by a reader")


class ClaudeCode(Native):
    name = "claude"
    source = "claude-code"
    variable = "CLAUDE_CONFIG_DIR"
    default = "~/.config/claude/projects/ and ~/.claude/projects/ (each folder of CLAUDE_CONFIG_DIR, comma-separated)"
    reads = "each assistant message's usage, once per message and request id (streamed and side-chain copies once)"
    unknown = ""

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return files.claude_roots(None if env is None else dict(env))

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return files.claude_files(self.roots(env))


class Codex(Native):
    name = "codex"
    source = "codex"
    variable = "CODEX_HOME"
    default = "~/.codex/sessions/ and ~/.codex/archived_sessions/ (rollout-*.jsonl)"
    reads = "each token_count event's last-call usage, once per call (forked and resumed copies once)"
    unknown = "cache writes (Codex does not report them)"

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return files.codex_roots(None if env is None else dict(env))

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        return files.codex_files(self.roots(env))
