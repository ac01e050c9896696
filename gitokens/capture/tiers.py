"""The long-context thresholds of each model's price, which the calls of one captured record never straddle.

genai-prices charges a higher rate for every token of a request whose whole input (cache included) is
above a threshold (200,000 tokens for Claude Sonnet 4.5). A captured record sums calls, so it groups only
calls on one side of every threshold of their model: its price is then exact from its counts and its
number of requests (``pricing.PriceTable.at``). The thresholds of each model seen are kept in
``<git-common-dir>/gitokens/cache/tiers-<digest>.json``, one file per installed genai-prices data, so a capture
imports genai-prices (a quarter of a second) only when a model appears for the first time.
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path
from typing import Any

from gitokens import atomic
from gitokens.pricedata import data_version


class Tiers:
    """Each (model, provider)'s thresholds, from the cache file or genai-prices; the file is read when a
    call is first placed (a capture with nothing new never reads it)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.version = ""
        self.known: dict[str, list[int]] | None = None
        self.added = False

    def tier(self, model: str | None, provider: str | None, prompt: int) -> int:
        """How many of the model's thresholds a request of ``prompt`` input tokens is above."""
        if model is None:
            return 0
        starts = self.starts(model, provider)
        return bisect.bisect_left(starts, prompt) if starts else 0

    def starts(self, model: str, provider: str | None) -> list[int]:
        """The model's thresholds, ascending (none: one tier), for a caller that looks many calls up."""
        known = self.known if self.known is not None else self._load()
        key = f"{provider or ''}|{model}"
        starts = known.get(key)
        if starts is None:
            starts = known[key] = thresholds(model, provider)
            self.added = True
        return starts

    def _load(self) -> dict[str, list[int]]:
        self.version = data_version()
        self.known = {}
        stored = _read(atomic.versioned(self.path, self.version)) if self.path is not None else None
        if isinstance(stored, dict) and stored.get("genai-prices") == self.version:
            models = stored.get("models")
            if isinstance(models, dict):
                self.known = {k: v for k, v in models.items() if isinstance(v, list) and all(type(n) is int for n in v)}
        return self.known

    def save(self) -> None:
        """Keep what was looked up for the next capture (nothing to do when nothing was)."""
        if self.path is None or not self.added:
            return
        body = json.dumps({"genai-prices": self.version, "models": self.known}, sort_keys=True)
        file = atomic.versioned(self.path, self.version)
        atomic.keep(file, body.encode("utf-8"))  # failing, the next capture looks the models up again
        atomic.prune_versions(self.path, file)
        self.added = False


def thresholds(model: str, provider: str | None) -> list[int]:
    """Every threshold of the model's prices, at any date (ascending); none for a model genai-prices lacks."""
    from genai_prices.types import TieredPrices

    from gitokens.pricing import genai_model  # found as reports price it

    found = genai_model(model, provider)
    if found is None:
        return []
    prices = found.model.prices
    tables = [c.prices for c in prices] if isinstance(prices, list) else [prices]
    return sorted(
        {
            tier.start
            for table in tables
            for value in vars(table).values()
            if isinstance(value, TieredPrices)
            for tier in value.tiers
        }
    )


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
