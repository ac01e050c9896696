"""``git tokens report --database``: the report over published repositories, in every format one
repository's report has, with a Repositories section.

The same report model and renderings as a ledger's: the columns come from the database (``load``) and
``report.build`` sums them as it sums a ledger's. What needs a commit graph comes from what was
published: the merges and pull requests each repository's own report found, and the records each brought
in. There is no current branch across repositories, so the branch section is left out unless asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gitokens.config import load_config
from gitokens.db import schema
from gitokens.db.connection import connect
from gitokens.db.load import Published, load
from gitokens.db.url import resolve
from gitokens.git.repo import Repo
from gitokens.report import pipeline
from gitokens.report.aggregate import MODEL, PROVIDER, Records, share, split_by
from gitokens.report.columns import Columns
from gitokens.report.merges import merge_totals
from gitokens.report.model import Merge, Report, Row, Table


def fetch(repo: Repo | None, url: str | None, names: Sequence[str] = (), *, cost_mode: str = "auto") -> Published:
    """What the database at ``url`` (else the environment's, else the config's) holds for ``names``."""
    root = repo.workdir if repo is not None else None
    target = resolve(url, load_config(root).database.url, root)
    with connect(target, write=False) as db:
        schema.readable(db)
        published = load(db, names, reported_costs=cost_mode == "reported")
    known = {r["name"] for r in published.repositories}
    missing = [name for name in names if name not in known]
    if missing:
        from gitokens.errors import UsageError

        raise UsageError(
            f"--repository: {missing[0]!r} was never published to {target.shown}",
            hint="git tokens report --database URL --sections repositories lists the repositories it holds",
        )
    return published


def run(repo: Repo | None, published: Published, *, fmt: str = "text", color: bool = False, **choices: Any) -> str:
    """The report over ``published``, rendered in ``fmt``."""
    return pipeline.run(repo, published.columns, fmt=fmt, color=color, across=Across(published), **choices)


@dataclass
class Across:
    """``report.build.Across`` for published repositories."""

    published: Published

    @property
    def name(self) -> str:
        names = [r["name"] for r in self.published.repositories]
        return names[0] if len(names) == 1 else f"{len(names)} repositories"

    def finish(self, report: Report, columns: Columns, records: Records) -> None:
        report.by_repository = self._repositories(columns, records, report)
        defaults = {r["default_branch"] for r in self.published.repositories if r["default_branch"]}
        report.default_branch = defaults.pop() if len(defaults) == 1 else "each repository's default branch"
        if "merges" in report.sections:
            report.by_merge, brought = self._merges(columns, records)
            report.merge_totals = merge_totals(report.by_merge, records.sums(brought))

    def _repositories(self, columns: Columns, records: Records, report: Report) -> Table:
        text = columns.texts["repository"]
        groups = split_by(text.codes[records.rows], np.arange(len(records.rows)))
        by_name = {text.labels[code]: rows for code, rows in groups.items()}
        sums = dict(zip(by_name, records.sums_by(by_name), strict=True))
        rows = []
        for meta in self.published.repositories:
            totals = sums.get(meta["name"])
            row = Row(meta["name"]) if totals is None else Row(meta["name"], totals)
            row.extra = {
                "team": meta["team"],
                "default_branch": meta["default_branch"],
                "published_at": meta["published_at"],
                "share": share(row.totals.total_tokens, report.totals.total_tokens),
            }
            rows.append(row)
        rows.sort(key=lambda r: (-r.totals.total_tokens, r.key or ""))
        return Table("repository", rows)

    def _merges(self, columns: Columns, records: Records) -> tuple[list[Merge], np.ndarray]:
        """The published merges, each with the selected records it brought in (newest first)."""
        selected = np.full(len(columns), -1, dtype=np.intp)
        selected[records.rows] = np.arange(len(records.rows))
        merges, every = [], []
        for m in self.published.merges:
            brought = selected[m.rows]
            brought = np.unique(brought[brought >= 0])
            if not len(brought):
                continue
            merges.append(
                Merge(
                    commit=m.commit,
                    merged_at=m.merged_at,
                    kind=m.kind,
                    pr=m.pr,
                    source_branch=m.source_branch,
                    title=m.title,
                    totals=records.sums(brought),
                    by_model=records.table("model", records.group(MODEL, brought)).rows,
                    by_provider=records.table("provider", records.group(PROVIDER, brought)).rows,
                    repository=m.repository,
                )
            )
            every.append(brought)
        return merges, np.unique(np.concatenate(every)) if every else np.zeros(0, dtype=np.intp)
