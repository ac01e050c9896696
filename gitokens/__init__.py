"""gitokens: a ledger of LLM token usage kept in git notes (``refs/notes/tokens``).

The Python API (``record``, ``track``, ``tracked``, ``usage_fields``) is loaded on first use, so that
``import gitokens`` costs nothing until then.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitokens.data.api import record, track, tracked
    from gitokens.data.usage import usage_fields

__version__ = "0.2.0"
__all__ = ["__version__", "record", "track", "tracked", "usage_fields"]
_LAZY = {
    "record": "gitokens.data.api",
    "track": "gitokens.data.api",
    "tracked": "gitokens.data.api",
    "usage_fields": "gitokens.data.usage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gitokens' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
