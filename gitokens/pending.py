"""The pending queue: records waiting for the next commit, in ``<git-common-dir>/gitokens/pending/``.

One file per record, written atomically (temp file + rename), so any number of processes can queue
at once. The post-commit hook claims files by renaming them (one rename wins), attaches them, and
deletes them only after the ledger write succeeded; on failure it puts them back.

Whoever queues a record makes sure its id is new to the ledger (random ids are; sources with stable
ids check the ledger first), so the hook can count what it attaches as new.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitokens.errors import InvalidRecord
from gitokens.git import Repo
from gitokens.records import Record

_SUFFIX = ".json"


@dataclass(frozen=True)
class Claimed:
    """Pending records taken by one process, and the files to delete or give back."""

    records: list[Record]
    files: list[tuple[Path, Path]]  # (claimed path, original path)
    skipped: list[str]


def queue_dir(repo: Repo) -> Path:
    return repo.state_dir() / "pending"


def enqueue(repo: Repo, record: Record) -> Path:
    """Queue a record for the next commit; returns the file it waits in."""
    folder = queue_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{record.ts.replace(':', '')}-{record.id}{_SUFFIX}"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(record.to_line() + "\n")
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def list_pending(repo: Repo) -> tuple[list[Record], list[str]]:
    """The queued records (oldest first) and one message per file that could not be read."""
    records, problems = [], []
    for path in _files(repo):
        try:
            records.append(_read(path))
        except (OSError, InvalidRecord, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: {exc}")
    return records, problems


def claim(repo: Repo) -> Claimed:
    """Take every readable pending file for this process; unreadable ones stay queued and are reported."""
    records, files, skipped = [], [], []
    for path in _files(repo):
        taken = path.with_name(f".claimed-{os.getpid()}-{path.name}")
        try:
            os.rename(path, taken)
        except FileNotFoundError:
            continue  # another process claimed it first
        try:
            records.append(_read(taken))
        except (OSError, InvalidRecord, UnicodeDecodeError) as exc:
            os.rename(taken, path)
            skipped.append(f"{path.name}: {exc}")
            continue
        files.append((taken, path))
    return Claimed(records, files, skipped)


def done(claimed: Claimed) -> None:
    for taken, _ in claimed.files:
        taken.unlink(missing_ok=True)


def give_back(claimed: Claimed) -> None:
    for taken, original in claimed.files:
        try:
            os.rename(taken, original)
        except OSError as exc:  # pragma: no cover - nothing sensible left to do but say so
            print(f"gitokens: could not return {taken} to the queue: {exc}", file=sys.stderr)


def _files(repo: Repo) -> list[Path]:
    folder = queue_dir(repo)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == _SUFFIX and not p.name.startswith("."))


def _read(path: Path) -> Record:
    return Record.from_line(path.read_text(encoding="utf-8").strip())
