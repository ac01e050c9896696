"""gitokens: a ledger of LLM token usage kept in git notes (``refs/notes/tokens``)."""

from __future__ import annotations

__version__ = "0.1.0"
