"""Per-branch running totals, cached by notes commit so ``git tokens add`` stays fast on a large ledger.

The cache (``<git-common-dir>/gitokens/cache/branch-totals.json``) is valid for exactly one notes
commit. Our own writers move it forward by adding what they wrote; anything else that moves the
ledger (a fetch, a merge, plain ``git notes``) leaves it stale, and the next reader rebuilds it once.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gitokens import ledger as ledger_mod
from gitokens.git import Repo
from gitokens.records import Record


@dataclass(frozen=True)
class BranchTotal:
    sessions: int = 0
    tokens: int = 0

    def plus(self, record: Record) -> BranchTotal:
        return BranchTotal(self.sessions + 1, self.tokens + record.tokens)


Totals = dict[str | None, BranchTotal]


def branch_total(repo: Repo, branch: str | None) -> BranchTotal:
    """The sessions and tokens recorded on ``branch`` (by the records' own branch field)."""
    tip = repo.notes_tip()
    totals = _read_cache(repo, tip)
    if totals is None:
        totals = compute(ledger_mod.load(repo))
        _write_cache(repo, tip, totals)
    return totals.get(branch, BranchTotal())


def compute(ledger: ledger_mod.Ledger) -> Totals:
    totals: Totals = {}
    for entry in ledger.entries.values():
        branch = entry.record.branch
        totals[branch] = totals.get(branch, BranchTotal()).plus(entry.record)
    return totals


def advance(repo: Repo, written: ledger_mod.Written, added: Iterable[Record], removed: Iterable[Record] = ()) -> None:
    """Carry a cache valid at ``written.parent`` to ``written.tip``, which added records with ids new to the
    ledger (``added``) and tombstones for records that were in effect (``removed``)."""
    totals = _read_cache(repo, written.parent)
    if totals is None:
        return
    for record in added:
        if record.kind == "usage":
            totals[record.branch] = totals.get(record.branch, BranchTotal()).plus(record)
    for record in removed:
        was = totals.get(record.branch, BranchTotal())
        totals[record.branch] = BranchTotal(was.sessions - 1, was.tokens - record.tokens)
    _write_cache(repo, written.tip, totals)


def _path(repo: Repo) -> Path:
    return repo.state_dir() / "cache" / "branch-totals.json"


def _read_cache(repo: Repo, tip: str | None) -> Totals | None:
    if tip is None:
        return {}
    try:
        data = json.loads(_path(repo).read_text(encoding="utf-8"))
        if data.get("tip") != tip:
            return None
        return {row[0]: BranchTotal(int(row[1]), int(row[2])) for row in data["branches"]}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _write_cache(repo: Repo, tip: str | None, totals: Totals) -> None:
    if tip is None:
        return
    path = _path(repo)
    rows = [[branch, t.sessions, t.tokens] for branch, t in totals.items()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"tip": tip, "branches": rows}, handle)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is only slower next time
