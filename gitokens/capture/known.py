"""The agents capture knows, as ``capture --list-agents`` shows them: where each looks for its logs (after
its environment variables), and how many log files or databases are there now."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitokens.capture.agents import AGENTS


@dataclass(frozen=True)
class Known:
    """One agent: its ``--agent`` name, the ledger ``source`` of its records, the variable that moves its
    logs (and whether it is set), the folders it looks in, and the logs found there."""

    name: str
    source: str
    variable: str | None
    variable_set: bool
    roots: list[Path]
    logs: list[Path]

    @property
    def found(self) -> str:
        """How many logs were found, in words: ``none``, ``3 log files``, ``1 database``."""
        if not self.logs:
            return "none"
        stores = sum(path.suffix == ".db" for path in self.logs)
        parts = [_n(stores, "database")] if stores else []
        if len(self.logs) > stores:
            parts.append(_n(len(self.logs) - stores, "log file"))
        return ", ".join(parts)


def known(env: Mapping[str, str] | None = None) -> list[Known]:
    """Every agent in the registry, in the order a capture reads them."""
    env = os.environ if env is None else env
    return [
        Known(
            agent.name,
            agent.source,
            agent.variable,
            bool(agent.variable and env.get(agent.variable, "").strip()),
            agent.roots(env),
            agent.logs(env),
        )
        for agent in AGENTS.values()
    ]


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")
