"""The price tiers' cache: one file per installed genai-prices data, so two installations on one repository
keep each their own (one shared file was thrown away by each, and each capture then imported genai-prices)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitokens.capture.tiers import Tiers

SONNET = "claude-sonnet-4-5"


def test_two_genai_prices_installations_keep_each_their_own_tiers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tiers.json"
    path.write_text("{}")  # the single file older versions kept
    looked_up: list[str] = []
    monkeypatch.setattr("gitokens.capture.tiers.thresholds", lambda model, provider: looked_up.append(model) or [9])
    for version in ("/a/genai_prices:1:1", "/b/genai_prices:1:2", "/a/genai_prices:1:1", "/b/genai_prices:1:2"):
        monkeypatch.setattr("gitokens.capture.tiers.data_version", lambda version=version: version)
        tiers = Tiers(path)
        assert tiers.tier(SONNET, None, 10) == 1 and tiers.tier(SONNET, None, 5) == 0
        tiers.save()
    assert looked_up == [SONNET, SONNET]  # once per installation, then from its own file
    assert len(list(tmp_path.iterdir())) == 2 and not path.exists()
