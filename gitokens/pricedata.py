"""Which genai-prices data is installed, told without importing genai-prices (a quarter of a second) or
``pricing``: the caches of prices (reports) and of price tiers (capture) are kept per installed data."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def data_version() -> str:
    """Where genai-prices' data module is, its size and time (its package metadata takes 30 ms to find):
    "none" when genai-prices is not installed."""
    spec = importlib.util.find_spec("genai_prices")
    folders = spec.submodule_search_locations if spec is not None else None
    if not folders:
        return "none"
    folder = next(iter(folders))
    try:
        stat = os.stat(Path(folder) / "data.py")
    except OSError:
        return "unknown"
    return f"{folder}:{stat.st_size}:{stat.st_mtime_ns}"
