"""Pricing a report's records all at once, from their columns.

``Pricer.cost`` prices one record; a report prices hundreds of thousands. Records are grouped by
(model, provider, UTC day), the rates of each group looked up once, and the arithmetic done per price
table on whole columns. It is the same arithmetic as ``Pricer.cost``, exactly: integer rates times
integer counts, then one division, which is correctly rounded in float64 as long as the sum is below
2^53 (a row above that, or a model priced by units we do not replicate, goes through ``Pricer.cost``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from gitokens.pricing import UNKNOWN_MODEL, Pricer, PriceTable
from gitokens.report import columns as cols
from gitokens.report.columns import (
    CACHE_READ,
    CACHE_WRITE,
    CACHE_WRITE_1H,
    INPUT,
    OUTPUT,
    REQUESTS,
    TOTAL_ONLY,
    Columns,
    factorize,
)

_DAY = 86_400_000
_EXACT = 2.0**53
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def costs(pricer: Pricer, columns: Columns, rows: np.ndarray) -> np.ndarray:
    """The cost in USD of each of ``rows`` in the pricer's mode; NaN where unknown (and the model listed)."""
    reported = columns.cost_usd[rows]
    out = np.full(len(rows), np.nan)
    model = columns.texts["model"]
    model_codes = model.codes[rows]
    if pricer.mode == "calculate":
        todo = np.arange(len(rows))
    else:
        has = ~np.isnan(reported)
        out[has] = reported[has]
        todo = np.flatnonzero(~has)
        if pricer.mode == "reported":
            for code in cols.distinct(model_codes[todo]).tolist():
                pricer.unpriced.add(model.labels[code] if code >= 0 else UNKNOWN_MODEL)
            return out
    default = pricer.config.default_model  # what a record without a model is priced as, if anything
    if default is None and (model_codes[todo] < 0).any():
        pricer.unpriced.add(UNKNOWN_MODEL)
        todo = todo[model_codes[todo] >= 0]
    if not len(todo):
        return out
    provider = columns.texts["provider"]
    ts = columns.ts[rows[todo]]
    # Group by (model, provider), and by UTC day for the models whose price changed over time.
    pairs = model_codes[todo].astype(np.int64) * (len(provider.labels) + 1) + provider.codes[rows[todo]] + 1
    distinct, which = factorize(pairs)
    dated = np.array([pricer.dated(*_names(columns, pair, default)) for pair in distinct.tolist()], dtype=bool)
    days = ts // _DAY
    days = np.where(dated[which], days - days.min(), -1)
    groups, inverse = factorize(which * (int(days.max()) + 2) + days + 1)
    sample = np.zeros(len(groups), dtype=np.int64)
    sample[inverse] = np.arange(len(inverse))  # a row of each group: any one has its model, provider and day
    tables: list[PriceTable] = []
    numbers: dict[int, int] = {}
    table_of = np.full(len(groups), -1, dtype=np.int64)  # -1: unpriced, -2: priced one record at a time
    for g, i in enumerate(sample.tolist()):
        when = _EPOCH + timedelta(milliseconds=int(ts[i]))
        priced, table = pricer.table(*_names(columns, int(pairs[i]), default), when)
        if table is not None:
            number = numbers.get(id(table))
            if number is None:
                number = numbers[id(table)] = len(tables)
                tables.append(table)
            table_of[g] = number
        elif priced:
            table_of[g] = -2
    group_table = table_of[inverse]
    for n, table in enumerate(tables):
        picked = todo[group_table == n]
        out[picked] = _priced(table, columns.counts[rows[picked]], pricer.config.split.input)
    slow = todo[group_table == -2]
    overflow = todo[np.isinf(out[todo])]
    for i in np.concatenate([slow, overflow]).tolist():
        usd = pricer.cost(cols.record(columns, int(rows[i]))).usd
        out[i] = np.nan if usd is None else usd
    return out


def _names(columns: Columns, pair: int, default: str | None) -> tuple[str, str | None]:
    """The (model, provider) of a pair code; a record without a model (code -1) is priced as ``default``."""
    model, provider = columns.texts["model"], columns.texts["provider"]
    m, p = divmod(pair, len(provider.labels) + 1)
    return (model.labels[m] if m >= 0 else str(default)), provider.labels[p - 1] if p else None


def _priced(table: PriceTable, counts: np.ndarray, split_input: float) -> np.ndarray:
    """``PriceTable`` arithmetic on a block of records; inf marks a row whose sum is too large to be exact."""
    total = counts[:, TOTAL_ONLY]
    estimated = total >= 0
    split_in = np.rint(total * split_input).astype(np.int64)
    inp = np.where(estimated, split_in, counts[:, INPUT])
    out = np.where(estimated, total - split_in, counts[:, OUTPUT])
    read = np.where(estimated, 0, counts[:, CACHE_READ])
    write = np.where(estimated, 0, counts[:, CACHE_WRITE])
    write_1h = np.where(estimated, 0, counts[:, CACHE_WRITE_1H])
    rates = np.tile(np.array(table.base, dtype=np.int64), (len(counts), 1))
    if table.tiers:
        # Tiers price one request (a record of several, their average: see PriceTable.at); a total-only record
        # stands for a whole session, so it gets the base rates.
        prompt = np.where(estimated, -1, inp + read + write)
        requests = np.maximum(counts[:, REQUESTS], 1)
        for start, level in table.tiers:  # lowest threshold first: a higher tier overrides a lower one
            rates[prompt > start * requests] = level
    parts = np.stack([inp, out, read, write - write_1h, write_1h], axis=1)
    approx = (rates.astype(np.float64) * parts).sum(axis=1)
    exact = (rates * parts).sum(axis=1)
    usd: np.ndarray = exact / table.scale
    usd[approx >= _EXACT] = np.inf
    return usd
