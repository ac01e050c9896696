"""What a record cost: rates from genai-prices or ``.gitokens.yml``, applied to a record's tokens.

Our records count tokens the Anthropic way (``input_tokens`` excludes cache reads and writes); genai-prices
counts total input (its ``input_tokens`` includes them). We convert: input = input + cache_read + cache_write,
with the cache counts passed as well, so that genai-prices prices each cache token at its own rate and the
rest at the input rate.

Reports price hundreds of thousands of records, and ``calc_price`` costs ~80 µs a call, so we call it only to
find a model, then keep each model's rates per UTC day (genai-prices dates its price changes by UTC day;
off-peak prices that change within a day are looked up per record) and do the arithmetic ourselves, exactly
(integers, one correctly rounded division: the same float as genai-prices' ``Decimal`` total), tiers
included: its long-context tiers apply a higher rate to every token of a request whose total input is
above a threshold, decided per request (a record that sums several requests sums only requests of one
tier, and is priced at the tier of its average request), and 1-hour cache writes at their own rate.
Models priced by units our records do not carry (per-request fees, separately priced reasoning,
characters) go through ``calc_price`` itself.

genai-prices is imported on first use: ``git tokens add`` never pays its import. A report does not either,
once its models have been looked up: ``PriceCache`` keeps what genai-prices answered for each (model,
provider) it was asked about (the id priced, the provider, each dated price as a ``PriceTable``) in one small
file per installed genai-prices data, and the whole package (a quarter of a second: its data is one very
large module) is imported only for a model the file does not have yet, a model whose price changes within a
day, or one priced by units our arithmetic does not cover.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gitokens import __version__, atomic
from gitokens.config import Config, ModelPrices, Split
from gitokens.ledger.record import Record
from gitokens.pricedata import data_version as genai_data_version

if TYPE_CHECKING:
    from collections.abc import Iterable

    from genai_prices import types as gp

CostMode = Literal["auto", "calculate", "reported"]
COST_MODES: tuple[CostMode, ...] = ("auto", "calculate", "reported")
UNKNOWN_MODEL = "(unknown model)"
GENAI = "genai-prices"
OVERRIDE = "override"

_TOKEN_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok")
# Priced units whose counts are always 0 for our records (we never report them), so they add nothing and
# the arithmetic below stays exact. Any other unit (per-request fees, reasoning, characters, ...) sends
# the model through calc_price. tests/test_pricing.py checks the arithmetic against calc_price.
_ABSENT_KEYS = frozenset(
    {
        "cache_write_5m_mtok",
        "web_searches_kcount",
        "storage_searches_kcount",
        "input_audio_mtok",
        "output_audio_mtok",
        "cache_audio_read_mtok",
        "input_image_mtok",
        "output_image_mtok",
        "cache_image_read_mtok",
        "input_video_mtok",
        "output_video_mtok",
    }
)

_Dec5 = tuple[Decimal, Decimal, Decimal, Decimal, Decimal]  # input, output, cache read, cache write, 1h cache write
_Int5 = tuple[int, int, int, int, int]  # the same five, in 1/PriceTable.scale USD per token


@dataclass(frozen=True)
class Tier:
    """Rates (USD per million tokens) for a request whose input, cache included, is above ``above`` tokens."""

    above: int
    input: float
    output: float
    cache_read: float | None
    cache_write: float | None
    cache_write_1h: float | None = None


@dataclass(frozen=True)
class Rates:
    """A model's rates in USD per million tokens; a cache rate of None means those tokens cost the input rate."""

    input: float
    output: float
    cache_read: float | None
    cache_write: float | None
    cache_write_1h: float | None  # None: 1-hour cache writes cost the cache write rate
    source: str  # "genai-prices", "override", or "alias -> <model> (<source>)"
    priced_as: str  # the model id actually priced
    provider: str | None = None  # the genai-prices provider whose price list was used
    tiers: tuple[Tier, ...] = ()  # higher rates for long requests, lowest threshold first


@dataclass(frozen=True)
class Cost:
    usd: float | None  # None: unpriced (never silently 0)
    estimated: bool  # the input/output split was estimated from a total with config.split
    reported: bool  # the record's own cost_usd was used


@dataclass(frozen=True)
class PriceTable:
    """Rates ready for arithmetic: base rates, then (threshold, rates) from the lowest threshold up.

    Rates are whole numbers of 1/``scale`` USD per token: a cost is one exact integer sum and one division,
    which Python rounds correctly, so it is the same float as genai-prices' exact ``Decimal`` total, ~4x faster.
    """

    base: _Int5
    tiers: tuple[tuple[int, _Int5], ...]
    scale: int
    own_cache_read: bool
    own_cache_write: bool
    exotic: bool  # priced by units we do not replicate: use calc_price
    own_cache_write_1h: bool = False

    @classmethod
    def build(
        cls, base: _Dec5, tiers: list[tuple[int, _Dec5]], own: tuple[bool, bool, bool], exotic: bool
    ) -> PriceTable:
        rates = [*base, *(rate for _, level in tiers for rate in level)]
        places = max(max(0, -int(rate.as_tuple().exponent)) for rate in rates)

        def whole(level: _Dec5) -> _Int5:
            a, b, c, d, e = (int(rate.scaleb(places)) for rate in level)
            return a, b, c, d, e

        return cls(
            base=whole(base),
            tiers=tuple((start, whole(level)) for start, level in tiers),
            scale=10**places * 1_000_000,
            own_cache_read=own[0],
            own_cache_write=own[1],
            exotic=exotic,
            own_cache_write_1h=own[2],
        )

    def at(self, total_input: int, requests: int = 1) -> _Int5:
        """The rates of ``requests`` requests of ``total_input`` tokens of input (cache included) in all: the
        tier of the average request. A record sums only requests of one tier (see ``records``), and the
        average of numbers in one tier's range is in that range, so this is each request's own tier."""
        for start, rates in reversed(self.tiers):
            if total_input > start * requests:  # genai-prices: strictly above the threshold
                return rates
        return self.base

    def usd(self, rates: _Int5, inp: int, out: int, read: int, write: int, write_1h: int) -> float:
        """The exact cost of these counts at ``rates`` (``write_1h`` is a part of ``write``)."""
        r_in, r_out, r_read, r_write, r_1h = rates
        return (r_in * inp + r_out * out + r_read * read + r_write * (write - write_1h) + r_1h * write_1h) / self.scale

    def rates(self, source: str, priced_as: str, provider: str | None) -> Rates:
        per_million = self.scale // 1_000_000

        def read(rates: _Int5) -> tuple[float, float, float | None, float | None, float | None]:
            cache_read = rates[2] / per_million if self.own_cache_read else None
            cache_write = rates[3] / per_million if self.own_cache_write else None
            cache_write_1h = rates[4] / per_million if self.own_cache_write_1h else None
            return rates[0] / per_million, rates[1] / per_million, cache_read, cache_write, cache_write_1h

        tiers = tuple(Tier(start, *read(rates)) for start, rates in self.tiers)
        return Rates(*read(self.base), source=source, priced_as=priced_as, provider=provider, tiers=tiers)

    def to_json(self) -> list[Any]:
        flags = [self.own_cache_read, self.own_cache_write, self.own_cache_write_1h, self.exotic]
        return [list(self.base), [[start, list(rates)] for start, rates in self.tiers], self.scale, flags]

    @classmethod
    def from_json(cls, data: list[Any]) -> PriceTable:
        base, tiers, scale, (read, write, write_1h, exotic) = data
        return cls(
            base=_int5(base),
            tiers=tuple((int(start), _int5(rates)) for start, rates in tiers),
            scale=int(scale),
            own_cache_read=bool(read),
            own_cache_write=bool(write),
            exotic=bool(exotic),
            own_cache_write_1h=bool(write_1h),
        )


def _int5(values: list[Any]) -> _Int5:
    a, b, c, d, e = (int(value) for value in values)
    return a, b, c, d, e


# A model's genai prices by UTC day: (first day or None for always, table), in genai-prices' order; on a
# day, the last one started is in force (``ModelInfo.get_prices``).
Schedule = tuple[tuple[date | None, PriceTable], ...]


def on_day(schedule: Schedule, day: date) -> PriceTable:
    """The table in force on ``day``: the last whose start is on or before it, else the first."""
    for start, table in reversed(schedule):
        if start is None or day >= start:
            return table
    return schedule[0][1]


@dataclass(frozen=True)
class _Priced:
    """How one (model, provider) is priced: a fixed override table or a genai-prices model."""

    priced_as: str
    source: str
    provider: str | None
    fixed: PriceTable | None
    info: gp.ModelInfo | None = None  # None when read from the PriceCache
    genai_provider: gp.Provider | None = None
    intraday: bool = False  # genai prices that change within a UTC day (off-peak hours)
    dated: bool = False  # genai prices that change over time
    schedule: Schedule = ()  # genai prices by day (none when intraday)

    def on(self, when: datetime) -> PriceTable:
        """The genai table in force at ``when`` (its UTC day), for a model that is not intraday."""
        if when.tzinfo is not None:
            when = when.astimezone(UTC)
        return on_day(self.schedule, when.date())


def split_total(total: int, split: Split) -> tuple[int, int]:
    """Divide a total known only as a whole into (input, output) tokens with the configured fractions."""
    input_tokens = round(total * split.input)
    return input_tokens, total - input_tokens


def _override_table(prices: ModelPrices) -> PriceTable:
    def dec(value: float) -> Decimal:
        return Decimal(repr(value))

    inp = dec(prices.input)
    cache_read = dec(prices.cache_read) if prices.cache_read is not None else inp
    cache_write = dec(prices.cache_write) if prices.cache_write is not None else inp
    cache_write_1h = dec(prices.cache_write_1h) if prices.cache_write_1h is not None else cache_write
    own = (prices.cache_read is not None, prices.cache_write is not None, prices.cache_write_1h is not None)
    rates = (inp, dec(prices.output), cache_read, cache_write, cache_write_1h)
    return PriceTable.build(rates, [], own, exotic=False)


def _genai_table(model_price: gp.ModelPrice) -> PriceTable:
    from genai_prices.types import TieredPrices

    priced = {key for key, value in vars(model_price).items() if value is not None and not key.startswith("_")}
    exotic = "input_mtok" not in priced or bool(priced - set(_TOKEN_KEYS) - _ABSENT_KEYS)
    prices = [getattr(model_price, key) for key in _TOKEN_KEYS]
    starts = sorted({tier.start for price in prices if isinstance(price, TieredPrices) for tier in price.tiers})

    def at(threshold: int | None) -> _Dec5:
        chosen: list[Decimal] = []
        for price in prices:
            if isinstance(price, TieredPrices):
                rate = price.base
                for tier in price.tiers:  # sorted ascending by genai-prices
                    if threshold is not None and tier.start <= threshold:
                        rate = tier.price
                chosen.append(rate)
            else:
                chosen.append(price if price is not None else Decimal(0))
        # A cache count without its own price stays inside genai-prices' input count: it costs the input rate.
        inp, out, cache_read, cache_write, cache_write_1h = chosen
        cache_write = cache_write if prices[3] is not None else inp
        return (
            inp,
            out,
            cache_read if prices[2] is not None else inp,
            cache_write,
            cache_write_1h if prices[4] is not None else cache_write,  # genai-prices: the parent unit's rate
        )

    own = (prices[2] is not None, prices[3] is not None, prices[4] is not None)
    return PriceTable.build(at(None), [(start, at(start)) for start in starts], own, exotic)


class Pricer:
    """Prices records for one report: caches lookups, and collects the models it could not price."""

    def __init__(self, config: Config, mode: CostMode = "auto", cache: PriceCache | None = None) -> None:
        if mode not in COST_MODES:
            raise ValueError(f"unknown cost mode {mode!r}")
        self.config = config
        self.mode: CostMode = mode
        self.cache = cache or PriceCache(None)
        self.unpriced: set[str] = set()
        self._overrides = {model.lower(): (model, _override_table(prices)) for model, prices in config.prices.items()}
        self._aliases = {model.lower(): target for model, target in config.aliases.items()}
        self._priced: dict[tuple[str, str | None], _Priced | None] = {}
        self._days: dict[tuple[str, str | None, str], tuple[_Priced, PriceTable | None] | None] = {}
        self._tables: dict[int, tuple[gp.ModelPrice, PriceTable]] = {}  # intraday prices, by genai object

    # -- records -------------------------------------------------------------------------------------

    def cost(self, record: Record) -> Cost:
        """The record's cost in this pricer's mode; an unpriced record has ``usd=None`` and is listed."""
        if record.kind != "usage":
            return Cost(usd=0.0, estimated=False, reported=False)  # a tombstone spends nothing
        if self.mode == "reported" or (self.mode == "auto" and record.cost_usd is not None):
            if record.cost_usd is not None:
                return Cost(usd=record.cost_usd, estimated=False, reported=True)
            self.unpriced.add(record.model or UNKNOWN_MODEL)
            return Cost(usd=None, estimated=False, reported=False)
        return self._calculate(record)

    def _calculate(self, record: Record) -> Cost:
        estimated = record.total_tokens is not None
        model = record.model or self.config.default_model  # a record without a model: the team's default
        if model is None:
            self.unpriced.add(UNKNOWN_MODEL)
            return Cost(usd=None, estimated=estimated, reported=False)
        day = (model, record.provider, record.ts[:10])  # ts is canonical UTC: genai-prices dates prices by UTC day
        found = self._days.get(day) or self._day(day, record.when)
        if found is None:
            self.unpriced.add(model)
            return Cost(usd=None, estimated=estimated, reported=False)
        priced, table = found
        if table is None:
            assert priced.info is not None
            table = self._table(priced.info.get_prices(record.when))
        if record.total_tokens is not None:
            inp, out = split_total(record.total_tokens, self.config.split)
            cache_read = cache_write = write_1h = 0
        else:
            inp, out = record.input_tokens, record.output_tokens
            cache_read, cache_write = record.cache_read_tokens, record.cache_write_tokens
            write_1h = record.cache_write_1h_tokens
        if table.exotic:
            usd = self._calc_price(priced, record, (inp, out, cache_read, cache_write))
            return Cost(usd=usd, estimated=estimated, reported=False)
        # Tiers price one request (a record of several, their average); a total-only record stands for a whole
        # session, so it gets the base rates.
        if estimated or not table.tiers:
            rates = table.base
        else:
            rates = table.at(inp + cache_read + cache_write, record.requests or 1)
        usd = table.usd(rates, inp, out, cache_read, cache_write, write_1h)
        return Cost(usd=usd, estimated=estimated, reported=False)

    def dated(self, model: str, provider: str | None) -> bool:
        """Whether the price of ``model`` changes over time (its tables are then looked up per UTC day)."""
        priced = self._resolve(model, provider)
        return priced is not None and priced.dated

    def table(self, model: str, provider: str | None, when: datetime) -> tuple[bool, PriceTable | None]:
        """Whether ``model`` has a price on ``when``'s UTC day (if not, it is listed as unpriced), and the
        table that prices all its records of that day with our arithmetic (None: ``cost`` them one by one)."""
        day = (model, provider, when.strftime("%Y-%m-%d"))
        found = self._days[day] if day in self._days else self._day(day, when)
        if found is None:
            self.unpriced.add(model)
            return False, None
        table = found[1]
        return True, None if table is None or table.exotic else table

    def _day(self, day: tuple[str, str | None, str], when: datetime) -> tuple[_Priced, PriceTable | None] | None:
        """Resolve a (model, provider, UTC day) once; the table is None when it must be read per record."""
        if day in self._days:
            return self._days[day]
        priced = self._resolve(day[0], day[1])
        found: tuple[_Priced, PriceTable | None] | None
        if priced is None:
            found = None
        elif priced.fixed is not None:
            found = (priced, priced.fixed)
        elif priced.intraday:
            found = (priced, None)
        else:
            found = (priced, priced.on(when))
        self._days[day] = found
        return found

    def _calc_price(self, priced: _Priced, record: Record, counts: tuple[int, int, int, int]) -> float:
        """Price through genai-prices itself, for models priced by units our arithmetic does not cover. A
        record of several requests is priced as that many of its average request, so that a long-context
        tier applies as it did to each of them (``PriceTable.at``)."""
        from genai_prices import Usage

        assert priced.info is not None and priced.genai_provider is not None
        inp, out, cache_read, cache_write = counts
        requests = record.requests or 1
        reasoning = min(record.reasoning_tokens, out) if record.total_tokens is None else 0
        write_1h = record.cache_write_1h_tokens if record.total_tokens is None else 0

        def each(count: int) -> Decimal | int:
            return count if requests == 1 else Decimal(count) / requests

        usage = Usage(
            input_tokens=each(inp + cache_read + cache_write),
            output_tokens=each(out),
            cache_read_tokens=each(cache_read),
            cache_write_tokens=each(cache_write),
        )
        if write_1h:
            usage.cache_write_1h_tokens = each(write_1h)
        if reasoning:  # a part of the output, priced apart only by models that price it apart
            usage.output_reasoning_tokens = each(reasoning)
        calculation = priced.info.calc_price(usage, priced.genai_provider, genai_request_timestamp=record.when)
        return float(calculation.total_price * requests)

    # -- rates ---------------------------------------------------------------------------------------

    def rates(self, model: str, when: datetime | None = None, provider: str | None = None) -> Rates | None:
        """The rates ``model`` is priced at (as of ``when``, default now), or None when it has no price."""
        priced = self._resolve(model, provider)
        if priced is None:
            return None
        when = when or datetime.now(UTC)
        table = priced.fixed
        if table is None:
            if priced.intraday:
                assert priced.info is not None
                table = self._table(priced.info.get_prices(when))
            else:
                table = priced.on(when)
        return table.rates(priced.source, priced.priced_as, priced.provider)

    def _table(self, model_price: gp.ModelPrice) -> PriceTable:
        cached = self._tables.get(id(model_price))
        if cached is None or cached[0] is not model_price:
            cached = self._tables[id(model_price)] = (model_price, _genai_table(model_price))
        return cached[1]

    def _resolve(self, model: str, provider: str | None) -> _Priced | None:
        key = (model, provider)
        if key not in self._priced:
            target = self._aliases.get(model.lower())
            priced = self._lookup(target or model, provider)
            if priced is not None and target is not None:
                priced = dataclasses.replace(priced, source=f"alias -> {target} ({priced.source})")
            self._priced[key] = priced
        return self._priced[key]

    def _lookup(self, model: str, provider: str | None) -> _Priced | None:
        override = self._overrides.get(model.lower())
        if override is not None:
            return _Priced(priced_as=override[0], source=OVERRIDE, provider=None, fixed=override[1])
        known, kept = self.cache.get(model, provider)
        if known:
            return kept
        priced = _genai_priced(model, provider)
        self.cache.put(model, provider, priced)
        return priced


def _start(constraint: object) -> date | None:
    from genai_prices.types import StartDateConstraint

    return constraint.start_date if isinstance(constraint, StartDateConstraint) else None


def _genai_priced(model: str, provider: str | None) -> _Priced | None:
    """How genai-prices prices ``model`` (None: it has no match), looked up in genai-prices itself."""
    from genai_prices.types import StartDateConstraint

    found = genai_model(model, provider)
    if found is None:
        return None
    prices = found.model.prices
    dated = isinstance(prices, list)
    schedule: Schedule = ()
    intraday = False
    if isinstance(prices, list):
        intraday = any(c.constraint is not None and not isinstance(c.constraint, StartDateConstraint) for c in prices)
        if not intraday:
            schedule = tuple((_start(c.constraint), _genai_table(c.prices)) for c in prices)
    else:
        schedule = ((None, _genai_table(prices)),)
    return _Priced(
        priced_as=found.model.id,
        source=GENAI,
        provider=found.provider.id,
        fixed=None,
        info=found.model,
        genai_provider=found.provider,
        intraday=intraday,
        dated=dated,
        schedule=schedule,
    )


def genai_model(model: str, provider: str | None) -> gp.PriceCalculation | None:
    """genai-prices' match for ``model``: the record's provider narrows the search when genai-prices knows
    it (azure, google, openrouter...); a provider it does not know, or one without this model, falls back
    to matching the model name alone. None when nothing matches."""
    from genai_prices import Usage, calc_price

    for provider_id in dict.fromkeys((provider, None)):
        try:
            return calc_price(Usage(), model, provider_id=provider_id)
        except LookupError:
            continue
    return None


_CACHE_LAYOUT = 1
_CACHE_FILES = 4  # versions kept side by side


class PriceCache:
    """genai-prices' answers for the (model, provider) pairs a repository's records name, in one JSON file
    valid for the installed genai-prices data and this gitokens: each pair's id priced, provider, whether its
    price is dated, and its tables by day, exactly as ``_genai_priced`` built them (whole numbers), or that
    genai-prices has no match. A pair whose price changes within a day, or that some table prices by units
    we do not replicate, is kept as needing genai-prices itself. The file is read on the first lookup and
    rewritten after one that genai-prices answered. ``path`` None: nothing is kept.

    ``path`` names the files, one per version (``atomic.versioned``): two installations reporting on one
    repository each keep their own, where one file for both had each rebuild it from genai-prices on every
    other report. The newest few are kept.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, Any] | None = None
        self._version = ""

    @property
    def file(self) -> Path | None:
        """The file for the installed genai-prices data and gitokens (None: nothing is kept)."""
        if self.path is None:
            return None
        if not self._version:
            self._version = f"{_CACHE_LAYOUT}:{__version__}:{genai_data_version()}"
        return atomic.versioned(self.path, self._version)

    def get(self, model: str, provider: str | None) -> tuple[bool, _Priced | None]:
        """Whether this pair's answer is kept, and the answer (None: genai-prices has no match)."""
        entries = self._load()
        key = _cache_key(model, provider)
        if key not in entries:
            return False, None
        entry = entries[key]
        if entry is None:
            return True, None
        try:
            return True, _Priced(
                priced_as=str(entry["id"]),
                source=GENAI,
                provider=str(entry["provider"]),
                fixed=None,
                dated=bool(entry["dated"]),
                schedule=tuple(
                    (date.fromisoformat(start) if start else None, PriceTable.from_json(table))
                    for start, table in entry["schedule"]
                ),
            )
        except (KeyError, TypeError, ValueError):
            return False, None  # damaged: genai-prices answers, and the entry is rewritten

    def put(self, model: str, provider: str | None, priced: _Priced | None) -> None:
        entries = self._load()
        entry: dict[str, Any] | None = None
        if priced is not None:
            if priced.intraday or any(table.exotic for _, table in priced.schedule):
                return  # always through genai-prices
            entry = {
                "id": priced.priced_as,
                "provider": priced.provider,
                "dated": priced.dated,
                "schedule": [[start and start.isoformat(), table.to_json()] for start, table in priced.schedule],
            }
        entries[_cache_key(model, provider)] = entry
        self._save(entries)

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            if (file := self.file) is not None:
                try:
                    data = json.loads(file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    data = None
                if isinstance(data, dict) and data.get("version") == self._version:
                    models = data.get("models")
                    self._entries = models if isinstance(models, dict) else {}
        return self._entries

    def _save(self, entries: dict[str, Any]) -> None:
        if self.path is None or (file := self.file) is None:
            return
        body = json.dumps({"version": self._version, "models": entries}, sort_keys=True)
        atomic.keep(file, body.encode("utf-8"))  # failing, the next report asks genai-prices again
        atomic.prune_versions(self.path, file, _CACHE_FILES)


def _cache_key(model: str, provider: str | None) -> str:
    return json.dumps([model, provider])


def rates_table(pricer: Pricer, models: Iterable[str]) -> list[tuple[str, Rates | None]]:
    """Each model with the rates it is priced at today (None: no price), for ``git tokens prices``."""
    return [(model, pricer.rates(model)) for model in dict.fromkeys(models)]
