"""The pending queue: records waiting for the next commit, in ``<git-common-dir>/gitokens/pending/``.

One file per record, written atomically (temp file + rename), so any number of processes can queue
at once. The post-commit hook claims files by renaming them to ``.claimed-<pid>-<name>`` (one rename
wins), attaches them, and deletes them only after the ledger write succeeded; on failure it puts them
back. A claim whose process is gone (killed between claiming and finishing) or older than
``STALE_CLAIM`` seconds is taken back by the next claimant or reader, as ``<name>.retry.json``: its
record may have reached the ledger before the kill, so whoever attaches it checks the ledger first.

Whoever queues a record makes sure its id is new to the ledger (random ids are; sources with stable
ids check the ledger first), so the hook can count what it attaches as new.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from gitokens.errors import InvalidRecord
from gitokens.git.repo import Repo
from gitokens.ledger.record import Record

_SUFFIX = ".json"
_RETRY = ".retry"
_CLAIMED = ".claimed-"
STALE_CLAIM = 600.0  # seconds: a live hook finishes (or gives back) within seconds


@dataclass(frozen=True)
class Claimed:
    """Pending records taken by one process, and the files to delete or give back."""

    records: list[Record]
    files: list[tuple[Path, Path]]  # (claimed path, original path)
    skipped: list[str]
    retried: frozenset[str] = frozenset()  # ids of records taken back from a claim that never finished


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
    take_back(repo)
    for path in _files(repo):
        try:
            records.append(_read(path))
        except (OSError, InvalidRecord, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: {exc}")
    return records, problems


def claim(repo: Repo) -> Claimed:
    """Take every readable pending file for this process; unreadable ones stay queued and are reported."""
    records, files, skipped, retried = [], [], [], set()
    take_back(repo)
    for path in _files(repo):
        taken = path.with_name(f"{_CLAIMED}{os.getpid()}-{path.name}")
        try:
            os.rename(path, taken)
            os.utime(taken)  # the claim's age, for a claimant whose pid was reused
        except FileNotFoundError:
            continue  # another process claimed it first
        try:
            record = _read(taken)
        except (OSError, InvalidRecord, UnicodeDecodeError) as exc:
            os.rename(taken, path)
            skipped.append(f"{path.name}: {exc}")
            continue
        records.append(record)
        files.append((taken, path))
        if path.name.endswith(_RETRY + _SUFFIX):
            retried.add(record.id)
    return Claimed(records, files, skipped, frozenset(retried))


def take_back(repo: Repo) -> list[str]:
    """Return the claims of processes that are gone (or stale) to the queue; the names taken back."""
    folder = queue_dir(repo)
    if not folder.is_dir():
        return []
    back = []
    for path in folder.iterdir():
        if not path.name.startswith(_CLAIMED) or not _abandoned(path):
            continue
        name = path.name[len(_CLAIMED) :].partition("-")[2]
        if not name.endswith(_RETRY + _SUFFIX):
            name = name.removesuffix(_SUFFIX) + _RETRY + _SUFFIX
        try:
            os.rename(path, folder / name)
        except OSError:
            continue  # another process took it back first
        back.append(name)
    return back


def done(claimed: Claimed) -> None:
    for taken, _ in claimed.files:
        taken.unlink(missing_ok=True)


def give_back(claimed: Claimed) -> None:
    for taken, original in claimed.files:
        try:
            os.rename(taken, original)
        except OSError as exc:  # pragma: no cover - nothing sensible left to do but say so
            print(f"gitokens: could not return {taken} to the queue: {exc}", file=sys.stderr)


def _abandoned(claim: Path) -> bool:
    pid = claim.name[len(_CLAIMED) :].partition("-")[0]
    try:
        if time.time() - claim.stat().st_mtime > STALE_CLAIM:
            return True
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):
        return False
    return False


def _files(repo: Repo) -> list[Path]:
    folder = queue_dir(repo)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == _SUFFIX and not p.name.startswith("."))


def _read(path: Path) -> Record:
    return Record.from_line(path.read_text(encoding="utf-8").strip())
