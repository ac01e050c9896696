"""The parsed-notes cache: same ledger with or without it, reused, rebuilt when unreadable."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import commit, git, run

from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.ledger.cache import cache_dir
from gitokens.ledger.record import Record


def snapshot(loaded: store.Ledger) -> tuple[object, ...]:
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
    fresh = store.load(open_repo(), use_cache=False)
    first, second = store.load(open_repo()), store.load(open_repo())
    assert snapshot(fresh) == snapshot(first) == snapshot(second)
    assert len(fresh.invalid) == 1 and len(fresh.removed) == 1
    assert len(list(cache_dir(open_repo()).iterdir())) == len(open_repo().notes_groups())


def test_only_changed_subtrees_are_parsed_again(repo: Path) -> None:
    busy_repo(repo)
    store.load(open_repo())
    before = {p.name: p.stat().st_mtime_ns for p in cache_dir(open_repo()).iterdir()}
    run("add", "5")
    store.load(open_repo())
    after = {p.name: p.stat().st_mtime_ns for p in cache_dir(open_repo()).iterdir()}
    assert len(set(after) - set(before)) == 1  # the one subtree the add changed
    assert len(set(before) - set(after)) == 1  # its old version is dropped
    assert all(after[name] == before[name] for name in set(after) & set(before))


def test_unreadable_cache_file_is_rebuilt(repo: Path) -> None:
    busy_repo(repo)
    expected = snapshot(store.load(open_repo()))
    for path in cache_dir(open_repo()).iterdir():
        path.write_bytes(b"\x00garbage")
    assert snapshot(store.load(open_repo())) == expected


def test_notes_stored_flat_are_read_uncached(repo: Path) -> None:
    head = commit(repo)
    git(repo, "notes", "--ref", "tokens", "add", "-m", '{"ts": "2025-01-01T00:00:00Z", "total_tokens": 9}', head)
    assert [e.record.tokens for e in store.load(open_repo()).entries.values()] == [9]
    assert not cache_dir(open_repo()).exists()


def test_a_cold_ledger_of_many_subtrees_is_parsed_by_several_processes(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = open_repo()
    base = commit(repo)
    tree = opened.pg[base].tree.id
    lines = {}
    for n in range(120):  # commits spread over many fanout subtrees
        made = str(
            opened.pg.create_commit(
                None, opened.pg.default_signature, opened.pg.default_signature, f"c{n}", tree, [opened.pg.head.target]
            )
        )
        lines[made] = [
            Record.from_dict({"id": f"r{n}", "ts": "2025-10-01T10:00:00Z", "total_tokens": n}).to_line().encode()
        ]
    lines[base] = [b"not a record"]
    opened.append_notes(lines, "many notes")
    assert len(opened.notes_groups()) > store._PARALLEL_FROM
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    started = []
    real = multiprocessing.get_context("fork")

    class Counting:
        def Process(self, *args: Any, **kwargs: Any) -> Any:
            started.append(kwargs["args"][1])
            return real.Process(*args, **kwargs)

        def Value(self, *args: Any, **kwargs: Any) -> Any:
            return real.Value(*args, **kwargs)

    monkeypatch.setattr(multiprocessing, "get_context", lambda method: Counting())
    parallel = store.load(open_repo())
    assert len(started) == 2 and all(started)  # two worker processes, taking subtrees from the list of those to parse
    assert len(list(cache_dir(open_repo()).iterdir())) == len(open_repo().notes_groups())
    assert snapshot(parallel) == snapshot(store.load(open_repo(), use_cache=False))
    assert len(parallel.entries) == 120 and len(parallel.invalid) == 1
