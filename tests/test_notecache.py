"""The parsed-notes cache: same ledger with or without it, reused, rebuilt when unreadable."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import commit, git, run

from gitokens import ledger
from gitokens.git import open_repo
from gitokens.notecache import cache_dir


def snapshot(loaded: ledger.Ledger) -> tuple[object, ...]:
    entries = sorted((e.record.to_line(), e.attached, e.placements) for e in loaded.entries.values())
    return entries, sorted(loaded.removed), [i.describe() for i in loaded.invalid]


def busy_repo(repo: Path) -> None:
    for n in range(6):
        head = commit(repo)
        run("add", str(100 + n), f"note {n}")
    run("rm", json.loads(run("log", "--json").output)[0]["id"])
    open_repo().append_notes({head: [b"not a record"]}, "a bad line")  # (git notes append would flatten the tree)


def test_cached_and_uncached_loads_agree(repo: Path) -> None:
    busy_repo(repo)
    fresh = ledger.load(open_repo(), use_cache=False)
    first, second = ledger.load(open_repo()), ledger.load(open_repo())
    assert snapshot(fresh) == snapshot(first) == snapshot(second)
    assert len(fresh.invalid) == 1 and len(fresh.removed) == 1
    assert len(list(cache_dir(open_repo()).iterdir())) == len(open_repo().notes_groups())


def test_only_changed_subtrees_are_parsed_again(repo: Path) -> None:
    busy_repo(repo)
    ledger.load(open_repo())
    before = {p.name: p.stat().st_mtime_ns for p in cache_dir(open_repo()).iterdir()}
    run("add", "5")
    ledger.load(open_repo())
    after = {p.name: p.stat().st_mtime_ns for p in cache_dir(open_repo()).iterdir()}
    assert len(set(after) - set(before)) == 1  # the one subtree the add changed
    assert len(set(before) - set(after)) == 1  # its old version is dropped
    assert all(after[name] == before[name] for name in set(after) & set(before))


def test_unreadable_cache_file_is_rebuilt(repo: Path) -> None:
    busy_repo(repo)
    expected = snapshot(ledger.load(open_repo()))
    for path in cache_dir(open_repo()).iterdir():
        path.write_bytes(b"\x00garbage")
    assert snapshot(ledger.load(open_repo())) == expected


def test_notes_stored_flat_are_read_uncached(repo: Path) -> None:
    head = commit(repo)
    git(repo, "notes", "--ref", "tokens", "add", "-m", '{"ts": "2025-01-01T00:00:00Z", "total_tokens": 9}', head)
    assert [e.record.tokens for e in ledger.load(open_repo()).entries.values()] == [9]
    assert not cache_dir(open_repo()).exists()
