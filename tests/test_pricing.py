"""Costs: genai-prices rates (checked against genai-prices itself), overrides, aliases, modes, estimates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price, data_snapshot

from gitokens.config import Config, load_config
from gitokens.ledger.record import Record
from gitokens.pricing import UNKNOWN_MODEL, Cost, PriceCache, Pricer, Rates, rates_table

TS = "2025-10-01T12:00:00Z"
WHEN = datetime(2025, 10, 1, 12, tzinfo=UTC)
SONNET = "claude-sonnet-4-5"


def record(**fields: Any) -> Record:
    return Record.from_dict({"id": "r1", "ts": TS, "model": SONNET, **fields})


def counted(model: str, provider: str | None, counts: tuple[int, int, int, int], ts: str = TS) -> Record:
    fields = zip(("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), counts, strict=True)
    return record(model=model, provider=provider, ts=ts, **dict(fields))


def genai_usage(counts: tuple[int, int, int, int]) -> Usage:
    """genai-prices counts total input: its input_tokens include cache reads and writes."""
    inp, out, read, write = counts
    return Usage(input_tokens=inp + read + write, output_tokens=out, cache_read_tokens=read, cache_write_tokens=write)


def config(tmp_path: Path, text: str) -> Config:
    (tmp_path / ".gitokens.yml").write_text(text)
    return load_config(tmp_path)


def sonnet_rates() -> Rates:
    rates = Pricer(Config()).rates(SONNET, WHEN)
    assert rates is not None and rates.source == "genai-prices" and rates.provider == "anthropic"
    return rates


def test_cache_tokens_cost_their_own_rates() -> None:
    rates = sonnet_rates()
    assert rates.cache_read is not None and rates.cache_write is not None
    assert rates.cache_read < rates.input < rates.cache_write
    counts = {"input_tokens": 1_000, "output_tokens": 2_000, "cache_read_tokens": 50_000, "cache_write_tokens": 8_000}
    cost = Pricer(Config()).cost(record(**counts))
    per_million = (rates.input, rates.output, rates.cache_read, rates.cache_write)
    expected = sum(count * rate for count, rate in zip(counts.values(), per_million, strict=True)) / 1e6
    assert cost == Cost(usd=pytest.approx(expected, rel=1e-12), estimated=False, reported=False)


@pytest.mark.parametrize("tokens", ["one-million", "at-the-tier-threshold"])
def test_input_tokens_cost_the_rate_in_force(tokens: str) -> None:
    rates = sonnet_rates()
    # genai-prices' long-context tier: above the threshold every token of the request costs the tier's rate.
    above = rates.tiers[0].above if rates.tiers else 200_000
    count = 1_000_000 if tokens == "one-million" else above
    rate = next((tier.input for tier in reversed(rates.tiers) if count > tier.above), rates.input)
    usd = Pricer(Config()).cost(record(input_tokens=count)).usd
    assert usd == (rate if count == 1_000_000 else pytest.approx(rate * count / 1e6, rel=1e-12))


CASES = [
    ("sonnet-cached", SONNET, None, TS, (3_000, 900, 120_000, 7_000)),
    ("sonnet-long-context", "claude-sonnet-4-5-20250929", "anthropic", TS, (150_000, 900, 60_000, 1)),
    ("gpt-4o-azure", "gpt-4o", "azure", TS, (12_000, 3_000, 4_000, 0)),
    ("gemini-tiered", "gemini-2.5-pro", "google", TS, (190_000, 500, 20_000, 0)),
    ("deepseek-peak", "deepseek-chat", None, "2025-10-01T03:00:00Z", (1_000, 2_000, 3_000, 0)),
    ("deepseek-off-peak", "deepseek-chat", None, "2025-10-01T20:00:00Z", (1_000, 2_000, 3_000, 0)),
    ("perplexity-request-fee", "sonar-pro", "perplexity", TS, (1_000, 2_000, 0, 0)),
]


@pytest.mark.parametrize(("model", "provider", "ts", "counts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_genai_prices(model: str, provider: str | None, ts: str, counts: tuple[int, int, int, int]) -> None:
    rec = counted(model, provider, counts, ts)
    expected = calc_price(genai_usage(counts), model, provider_id=provider, genai_request_timestamp=rec.when)
    assert Pricer(Config(), "calculate").cost(rec).usd == float(expected.total_price)


@pytest.mark.parametrize("provider_id", ["anthropic", "openai", "google"])
def test_every_model_of_a_provider_matches_genai_prices(provider_id: str) -> None:
    """Guards the arithmetic against new price data: every model, below and above the long-context tiers."""
    provider = next(p for p in data_snapshot.get_snapshot().providers if p.id == provider_id)
    pricer, compared = Pricer(Config(), "calculate"), 0
    for model in provider.models:
        for counts in [(2_000, 700, 30_000, 4_000), (90_000, 1_500, 400_000, 20_000)]:
            try:
                expected = calc_price(
                    genai_usage(counts), model.id, provider_id=provider_id, genai_request_timestamp=WHEN
                )
            except LookupError:  # an id that is not also one of its own match patterns
                continue
            assert pricer.cost(counted(model.id, provider_id, counts)).usd == float(expected.total_price), model.id
            compared += 1
    assert compared > 20


def test_override_wins_and_aliases_price_as_their_target(tmp_path: Path) -> None:
    settings = f"prices:\n  {SONNET}: {{input: 3, output: 15}}\naliases:\n  house-model: gpt-4o\n"
    pricer = Pricer(config(tmp_path, settings))
    assert pricer.cost(record(input_tokens=1_000_000)).usd == 3.0  # no tiers in an override
    assert pricer.cost(record(cache_read_tokens=1_000_000)).usd == 3.0  # no cache rate: the input rate
    assert pricer.rates(SONNET) == Rates(3.0, 15.0, None, None, None, source="override", priced_as=SONNET)
    alias, target = pricer.rates("house-model", WHEN), pricer.rates("gpt-4o", WHEN)
    assert alias is not None and target is not None
    assert (alias.source, alias.priced_as, alias.input) == ("alias -> gpt-4o (genai-prices)", "gpt-4o", target.input)
    assert pricer.cost(record(model="house-model", output_tokens=1_000)).usd == pytest.approx(target.output / 1e3)


@pytest.mark.parametrize(
    ("mode", "cost_usd", "expected"),
    [
        ("auto", 1.25, Cost(1.25, estimated=False, reported=True)),
        ("auto", None, Cost(pytest.approx(0.015), estimated=False, reported=False)),
        ("calculate", 1.25, Cost(pytest.approx(0.015), estimated=False, reported=False)),
        ("reported", 1.25, Cost(1.25, estimated=False, reported=True)),
        ("reported", None, Cost(None, estimated=False, reported=False)),
    ],
    ids=["auto-reported", "auto-calculated", "calculate-ignores-reported", "reported", "reported-missing"],
)
def test_cost_modes(tmp_path: Path, mode: Any, cost_usd: float | None, expected: Cost) -> None:
    pricer = Pricer(config(tmp_path, f"prices:\n  {SONNET}: {{input: 3, output: 15}}\n"), mode)
    assert pricer.cost(record(input_tokens=5_000, cost_usd=cost_usd)) == expected
    assert pricer.unpriced == ({SONNET} if expected.usd is None else set())


@pytest.mark.parametrize(
    ("model", "listed"), [("my-internal-llm", "my-internal-llm"), (None, UNKNOWN_MODEL)], ids=["unknown", "no-model"]
)
def test_unpriced_models_cost_none_and_are_listed(model: str | None, listed: str) -> None:
    pricer = Pricer(Config())
    assert pricer.cost(record(model=model, input_tokens=10)) == Cost(None, estimated=False, reported=False)
    assert pricer.rates("my-internal-llm") is None
    assert pricer.unpriced == {listed}
    assert pricer.cost(record(kind="tombstone", target="r0")) == Cost(0.0, estimated=False, reported=False)
    assert pricer.unpriced == {listed}  # a tombstone is not priced


@pytest.mark.parametrize(("split", "inp", "out"), [("", 8_000, 2_000), ("split: {output: 0.5}", 5_000, 5_000)])
def test_total_only_records_are_estimated(tmp_path: Path, split: str, inp: int, out: int) -> None:
    pricer = Pricer(config(tmp_path, f"prices:\n  m: {{input: 2, output: 10}}\n{split}\n"))
    cost = pricer.cost(record(model="m", total_tokens=10_000))
    assert cost == Cost(pytest.approx((inp * 2 + out * 10) / 1e6), estimated=True, reported=False)


def test_provider_narrows_the_lookup_and_unknown_providers_fall_back() -> None:
    pricer = Pricer(Config())
    azure, claude = pricer.rates("gpt-4o", WHEN, provider="azure"), pricer.rates(SONNET, WHEN, provider="claude-code")
    assert azure is not None and azure.provider == "azure"
    assert claude == sonnet_rates()
    table = rates_table(pricer, ["gpt-4o", "nope", "gpt-4o"])
    assert [(model, rates is None) for model, rates in table] == [("gpt-4o", False), ("nope", True)]


def test_importing_pricing_and_config_stays_cheap() -> None:
    code = "import sys, gitokens.pricing; print(sorted({'genai_prices', 'yaml'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


CALLS = [  # (input, output, cache read, cache write, of which 1h): short and long-context requests of one session
    (3, 120, 40_000, 2_000, 0),
    (5, 800, 60_000, 1_500, 1_500),
    (2, 300, 120_000, 60_000, 20_000),
    (4, 2_000, 210_000, 5_000, 0),
    (1, 50, 230_000, 9_000, 9_000),
]


def genai_call(call: tuple[int, int, int, int, int], model: str = SONNET) -> float:
    inp, out, read, write, write_1h = call
    usage = Usage(
        input_tokens=inp + read + write,
        output_tokens=out,
        cache_read_tokens=read,
        cache_write_tokens=write,
        cache_write_1h_tokens=write_1h,
    )
    return float(calc_price(usage, model_ref=model, genai_request_timestamp=WHEN).total_price)


def summed(calls: list[tuple[int, int, int, int, int]], model: str = SONNET) -> Record:
    names = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")
    sums = {name: sum(call[i] for call in calls) for i, name in enumerate(names)}
    return record(model=model, requests=len(calls), **sums)


@pytest.mark.parametrize("model", [SONNET, "claude-opus-4-1", "claude-haiku-4-5"])
def test_a_record_of_requests_of_one_tier_costs_what_its_requests_cost(model: str) -> None:
    short, long = CALLS[:3], CALLS[3:]
    pricer = Pricer(Config(), "calculate")
    for group in (short, long, CALLS[:1]):
        expected = sum(genai_call(call, model) for call in group)
        assert pricer.cost(summed(group, model)).usd == pytest.approx(expected, rel=1e-12)
    # The three short requests add up to more than 200,000 tokens of input, yet none was a long-context one.
    assert sum(c[0] + c[2] + c[3] for c in short) > 200_000


def test_one_hour_cache_writes_cost_their_own_rate() -> None:
    pricer = Pricer(Config(), "calculate")
    five_minutes = pricer.cost(record(model="claude-opus-4-1", cache_write_tokens=1_000_000)).usd
    written = {"cache_write_tokens": 1_000_000, "cache_write_1h_tokens": 1_000_000}
    one_hour = pricer.cost(record(model="claude-opus-4-1", **written))
    assert (five_minutes, one_hour.usd) == (18.75, 30.0)
    rates = pricer.rates("claude-opus-4-1", WHEN)
    assert rates is not None and rates.cache_write_1h == 30.0


def test_an_override_prices_one_hour_writes_at_its_cache_write_rate_unless_told(tmp_path: Path) -> None:
    plain = Pricer(config(tmp_path, "prices:\n  m: {input: 1, output: 2, cache_write: 4}\n"))
    told = Pricer(config(tmp_path, "prices:\n  m: {input: 1, output: 2, cache_write: 4, cache_write_1h: 8}\n"))
    rec = record(model="m", cache_write_tokens=1_000_000, cache_write_1h_tokens=250_000)
    assert (plain.cost(rec).usd, told.cost(rec).usd) == (4.0, 5.0)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"cache_write_tokens": 5, "cache_write_1h_tokens": 6}, "a part of the cache writes"),
        ({"requests": 0}, "requests"),
        ({"requests": "3"}, "requests"),
    ],
    ids=["1h-above-writes", "no-requests", "requests-text"],
)
def test_the_new_fields_are_checked(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        record(**fields)


KEPT = [  # dated prices (claude-sonnet-4-6's tiers end on 2026-03-13), tiers, 1-hour writes, providers
    ("claude-sonnet-4-6", None, "2026-03-12T23:59:00Z", (10, 900, 230_000, 9_000)),
    ("claude-sonnet-4-6", None, "2026-03-13T00:00:00Z", (10, 900, 230_000, 9_000)),
    ("claude-sonnet-4-6", "anthropic", "2026-03-12T10:00:00Z", (3_000, 900, 120_000, 7_000)),
    ("gemini-2.5-pro", "google", TS, (190_000, 500, 20_000, 0)),
    ("gpt-4o", "azure", TS, (12_000, 3_000, 4_000, 0)),
    (SONNET, "claude-code", TS, (150_000, 900, 60_000, 1)),
]


def test_prices_kept_in_the_cache_cost_what_genai_prices_says(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    records = [counted(model, provider, counts, ts) for model, provider, ts, counts in KEPT]
    records += [
        Record.from_dict({"id": "h", "ts": TS, "model": SONNET, "cache_write_tokens": 9, "cache_write_1h_tokens": 4})
    ]
    records += [record(model="no-such-model-anywhere", input_tokens=1)]
    filled = Pricer(Config(), "calculate", PriceCache(path))
    expected = [filled.cost(rec) for rec in records]
    kept = Pricer(Config(), "calculate", PriceCache(path))
    assert [kept.cost(rec) for rec in records] == expected
    assert all(kept.cache.get(rec.model or "", rec.provider)[0] for rec in records)  # every answer from the file
    assert kept.dated("claude-sonnet-4-6", None) and not kept.dated("gpt-4o", "azure")
    assert kept.rates("gemini-2.5-pro", WHEN, "google") == filled.rates("gemini-2.5-pro", WHEN, "google")
    for rec, cost, (model, provider, _, counts) in zip(records, expected, KEPT, strict=False):
        known = None if provider == "claude-code" else provider  # genai-prices does not know it: we fall back
        genai = calc_price(genai_usage(counts), model, provider_id=known, genai_request_timestamp=rec.when)
        assert cost.usd == float(genai.total_price), rec.ts


def test_a_stale_or_damaged_cache_is_asked_again(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    Pricer(Config(), cache=PriceCache(path)).cost(record(input_tokens=1))
    file = PriceCache(path).file
    assert file is not None and file.parent == tmp_path and file != path
    data = json.loads(file.read_text())
    file.write_text(json.dumps({**data, "models": {key: {"id": 1} for key in data["models"]}}))
    rec = record(input_tokens=250_000)
    assert Pricer(Config(), cache=PriceCache(path)).cost(rec) == Pricer(Config()).cost(rec)
    assert PriceCache(path).get(SONNET, None)[0]  # the damaged entry was written again
    file.write_text(json.dumps({**data, "version": "other genai-prices data"}))
    assert not PriceCache(path).get(SONNET, None)[0]


def test_two_installations_keep_each_their_own_prices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One file per genai-prices data: a second installation on the same repository does not throw away the
    first one's answers (which made each rebuild them from genai-prices on every other report)."""
    path = tmp_path / "prices.json"
    path.write_text("{}")  # the single file older versions kept: removed on the next write
    versions = [f"/venv{n}/genai_prices:1:{n}" for n in range(6)]
    for n, version in enumerate(versions):
        monkeypatch.setattr("gitokens.pricing.genai_data_version", lambda version=version: version)
        Pricer(Config(), cache=PriceCache(path)).cost(record(input_tokens=1))
        file = PriceCache(path).file
        assert file is not None
        os.utime(file, ns=(n * 10**9, n * 10**9))  # written in this order, whatever the clock's resolution
    kept = sorted(tmp_path.iterdir())
    assert len(kept) == 4 and not path.exists()
    for n, version in enumerate(versions):
        monkeypatch.setattr("gitokens.pricing.genai_data_version", lambda version=version: version)
        assert PriceCache(path).get(SONNET, None)[0] == (n >= 2), n  # the newest four versions kept
