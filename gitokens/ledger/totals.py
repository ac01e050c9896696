"""Per-branch running totals, cached by notes commit so ``git tokens add`` stays fast on a large ledger.

A branch's sessions are distinct sessions (the records' ``session``; a record without one is a session of
its own): a captured agent session is a record per commit, model and hour. So the cache keeps, per branch,
the records of each session, and a removal can take a session away when its last record goes.

The cache (``<git-common-dir>/gitokens/cache/branch-totals.json``) is valid for exactly one notes
commit. Our own writers move it forward by adding what they wrote; anything else that moves the
ledger (a fetch, a merge, plain ``git notes``) leaves it stale, and the next reader rebuilds it once.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gitokens.git.repo import Repo
from gitokens.ledger import store as ledger_mod
from gitokens.ledger.record import Record

_VERSION = 2  # of the cache file: version 1 counted records as sessions


@dataclass
class BranchTotal:
    tokens: int = 0
    records: int = 0
    solo: int = 0  # records without a session: each one a session of its own
    per_session: dict[str, int] = field(default_factory=dict)  # records of each session

    @property
    def sessions(self) -> int:
        return self.solo + len(self.per_session)

    def count(self, record: Record, sign: int = 1) -> None:
        """Count ``record`` in (``sign`` 1) or out (-1)."""
        self.tokens += sign * record.tokens
        self.records += sign
        if record.session is None:
            self.solo += sign
            return
        left = self.per_session.get(record.session, 0) + sign
        if left > 0:
            self.per_session[record.session] = left
        else:
            self.per_session.pop(record.session, None)


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
        totals.setdefault(entry.record.branch, BranchTotal()).count(entry.record)
    return totals


def advance(repo: Repo, written: ledger_mod.Written, added: Iterable[Record], removed: Iterable[Record] = ()) -> None:
    """Carry a cache valid at ``written.parent`` to ``written.tip``, which added records with ids new to the
    ledger (``added``) and tombstones for records that were in effect (``removed``)."""
    totals = _read_cache(repo, written.parent)
    if totals is None:
        return
    for record in added:
        if record.kind == "usage":
            totals.setdefault(record.branch, BranchTotal()).count(record)
    for record in removed:
        totals.setdefault(record.branch, BranchTotal()).count(record, -1)
    _write_cache(repo, written.tip, totals)


def _path(repo: Repo) -> Path:
    return repo.state_dir() / "cache" / "branch-totals.json"


def _read_cache(repo: Repo, tip: str | None) -> Totals | None:
    if tip is None:
        return {}
    try:
        data = json.loads(_path(repo).read_text(encoding="utf-8"))
        if data.get("version") != _VERSION or data.get("tip") != tip:
            return None
        return {
            row[0]: BranchTotal(int(row[1]), int(row[2]), int(row[3]), {str(k): int(n) for k, n in row[4].items()})
            for row in data["branches"]
        }
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def _write_cache(repo: Repo, tip: str | None, totals: Totals) -> None:
    if tip is None:
        return
    path = _path(repo)
    rows = [[branch, t.tokens, t.records, t.solo, t.per_session] for branch, t in totals.items()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"version": _VERSION, "tip": tip, "branches": rows}, handle)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is only slower next time
