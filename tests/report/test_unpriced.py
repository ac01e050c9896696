"""Records the report cannot price, and what it tells the user to do: a record without a model (``git tokens
add 54161``) is priced as ``default_model`` when the team names one; under ``--cost-mode reported`` what is
missing is a reported cost, not a price."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import commit, run

SONNET = "claude-sonnet-4-5"


@pytest.fixture
def unsplit(repo: Path) -> Path:
    """A repository with one record of a total without a model, as a first day's `git tokens add` makes."""
    commit(repo, "base")
    assert run("add", "54161", "OAuth2 integration").exit_code == 0
    return repo


def report(*args: str) -> str:
    result = run("report", "--wide", *args)  # a hint on one line, however long
    assert result.exit_code == 0, result.output
    return result.output


def test_without_a_default_the_hint_names_what_fixes_it(unsplit: Path) -> None:
    text = report("--sections", "overall")
    assert "(unknown model)" not in text and "no price for these models" not in text
    assert "warning: records without a model have no price" in text
    assert "hint: set `default_model: <model>` in .gitokens.yml to price them, or give --model when recording" in text
    assert json.loads(report("--format", "json"))["unpriced_models"] == ["(unknown model)"]


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_default_model_prices_records_without_one_and_says_so(unsplit: Path, fmt: str) -> None:
    (unsplit / ".gitokens.yml").write_text(f"default_model: {SONNET}\n")
    assert run("add", "54161", "--model", SONNET, "the same, named").exit_code == 0
    data = json.loads(report("--format", "json"))
    costs = {row["model"]: row["cost_usd"] for row in data["by_model"]}
    assert costs["(unknown)"] == costs[SONNET] and costs[SONNET] > 0
    assert data["unpriced_models"] == [] and data["totals"]["unpriced_sessions"] == 0
    assert data["default_model"] == {"model": SONNET, "records": 1, "total_tokens": 54161}
    [line] = [c for c in data["cost_analysis"] if c["model"] == "(unknown)"]
    assert line["rate_source"] == f"default_model -> {SONNET} (genai-prices)"
    out = report("--format", fmt)
    assert f"ecords without a model priced as {SONNET}" in out.replace("<code>", "")
    assert "no price" not in out.lower()  # no warning, no unpriced note, no unpriced row


def test_a_blended_rate_is_a_prices_entry_named_as_the_default(unsplit: Path) -> None:
    (unsplit / ".gitokens.yml").write_text("default_model: blended\nprices:\n  blended: {input: 2, output: 2}\n")
    data = json.loads(report("--format", "json"))
    assert data["totals"]["cost_usd"] == pytest.approx(54161 * 2 / 1e6)
    assert data["cost_analysis"][0]["rate_source"] == "default_model -> blended (override)"


def test_a_default_model_without_a_price_is_listed_by_its_name(unsplit: Path) -> None:
    (unsplit / ".gitokens.yml").write_text("default_model: acme-llm-9000\n")
    text = report("--sections", "overall")
    assert "warning: no price for these models: acme-llm-9000" in text
    assert "records without a model have no price" not in text


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_reported_mode_misses_a_reported_cost_not_a_price(unsplit: Path, fmt: str) -> None:
    assert run("add", "--model", "gpt-4o", "--input", "100", "--output", "10").exit_code == 0
    out = report("--cost-mode", "reported", "--format", fmt).lower()
    assert "no price for" not in out and "<strong>no price" not in out and "have no price" not in out
    flat = re.sub(r"</?(code|strong)>", "", out)
    assert "o reported cost on records of gpt-4o and on records without a model" in flat
    assert "cost-mode auto" in flat
