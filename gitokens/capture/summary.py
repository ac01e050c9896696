"""What one capture found in one agent's logs: the counts its report is made of."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AgentSummary:
    """What one capture found in one agent's logs."""

    agent: str
    files_read: int = 0
    bytes_read: int = 0
    sessions: set[str] = field(default_factory=set)
    messages: int = 0
    tokens: int = 0
    commits: set[str] = field(default_factory=set)
    attached: int = 0
    waiting: int = 0
    duplicates: int = 0
    elsewhere: int = 0
    older: int = 0
    no_model: int = 0  # calls taken that name no model: their records are unpriced
    unattributable: int = 0  # calls whose log names no directory: never attributed to any repository
    malformed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # a reader's (a database locked by its agent)
