"""``--breakdown``: each row of the daily, weekly and monthly tables split by model, as ccusage's is.

One grouping by (period, model) pairs gives every period's model rows at once; each trend row gets them
as ``models``, largest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gitokens.report.aggregate import MODEL, Records, split_by
from gitokens.report.columns import factorize
from gitokens.report.model import Row, Table


def add_models(records: Records, period: int, table: Table, key: Callable[[Any], str] = str) -> None:
    """Give each row of ``table`` (keyed by ``key(label)`` of the ``period`` dimension) its per-model rows."""
    if not len(records):
        return
    periods, models = records.dimensions[period], records.dimensions[MODEL]
    width = len(models.labels)
    pairs, inverse = factorize(periods.codes.astype(np.int64) * width + models.codes)
    groups = split_by(inverse, np.arange(len(records)))
    rows: dict[str, list[Row]] = {}
    for (code, _), totals in zip(groups.items(), records.sums_by(groups), strict=True):
        p, m = divmod(int(pairs[code]), width)
        rows.setdefault(key(periods.labels[p]), []).append(Row(str(models.labels[m]), totals))
    for row in table.rows:
        mine = sorted(rows.get(str(row.key), []), key=lambda r: (-r.totals.total_tokens, r.key or ""))
        row.extra["models"] = [r.to_dict("model") for r in mine]
