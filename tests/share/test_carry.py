"""carry: a squash-merged branch's records follow the squash commit and survive the branch's garbage collection."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import commit, git

from gitokens.git.repo import open_repo
from gitokens.ledger import edits, store
from gitokens.ledger.record import Record
from gitokens.report import pipeline
from gitokens.share.carry import carry


def record_on_head(path: Path, tokens: int) -> Record:
    repo = open_repo(path)
    built = edits.build(repo, counts={"input_tokens": tokens, "output_tokens": 100}, model="gpt-4o")
    return edits.add(repo, built).record


def squash_merge(path: Path) -> tuple[str, list[str], list[Record]]:
    """main, a feature branch with a record on each of its two commits, squash-merged as "Add search (#17)"."""
    commit(path, "initial")
    git(path, "checkout", "-q", "-b", "feature/search")
    feature, records = [], []
    for step, tokens in enumerate((1200, 3400)):
        feature.append(commit(path, f"search step {step}"))
        records.append(record_on_head(path, tokens))
    git(path, "checkout", "-q", "main")
    commit(path, "unrelated work on main")
    git(path, "merge", "-q", "--squash", "feature/search")
    git(path, "commit", "-q", "-m", "Add search (#17)")
    return git(path, "rev-parse", "HEAD").strip(), feature, records


def forget_branch(path: Path, branch: str) -> None:
    git(path, "branch", "-q", "-D", branch)
    git(path, "reflog", "expire", "--expire=now", "--all")
    git(path, "gc", "-q", "--prune=now")


def test_carried_records_survive_gc_once_each(repo: Path) -> None:
    squash, feature, records = squash_merge(repo)
    written = carry(open_repo(repo), store.load(open_repo(repo)), feature, squash)
    assert sorted(r.id for r in written) == sorted(r.id for r in records)
    forget_branch(repo, "feature/search")
    assert not any(open_repo(repo).commit_exists(c) for c in feature)
    loaded = store.load(open_repo(repo))
    assert sorted(loaded.entries) == sorted(r.id for r in records)
    assert {e.attached for e in loaded.entries.values()} == {squash}
    provenance = {e.record.id: e.record.commit for e in loaded.usage()}
    assert provenance == {r.id: c for r, c in zip(records, feature, strict=True)}


def test_squash_commit_is_a_squash_row_in_the_report(repo: Path) -> None:
    squash, feature, records = squash_merge(repo)
    carry(open_repo(repo), store.load(open_repo(repo)), feature, "HEAD")
    forget_branch(repo, "feature/search")
    report = pipeline.make(open_repo(repo), store.load(open_repo(repo)))
    assert [(m.commit, m.kind, m.pr, m.source_branch) for m in report.by_merge] == [
        (squash, "squash", 17, "feature/search")
    ]
    assert report.by_merge[0].totals.sessions == 2
    assert report.by_merge[0].totals.total_tokens == sum(r.tokens for r in records) == 4800


def test_copies_are_the_original_lines(repo: Path) -> None:
    squash, feature, records = squash_merge(repo)
    carry(open_repo(repo), store.load(open_repo(repo)), feature, squash)
    notes = dict(open_repo(repo).read_notes())
    originals = notes[feature[0]].splitlines() + notes[feature[1]].splitlines()
    assert notes[squash].splitlines() == sorted(originals) == sorted(r.to_line().encode() for r in records)


def test_carry_twice_adds_nothing(repo: Path) -> None:
    squash, feature, _ = squash_merge(repo)
    carry(open_repo(repo), store.load(open_repo(repo)), feature, squash)
    tip = open_repo(repo).notes_tip()
    assert carry(open_repo(repo), store.load(open_repo(repo)), feature, squash) == []
    assert carry(open_repo(repo), store.load(open_repo(repo)), [*feature, squash], squash) == []
    assert open_repo(repo).notes_tip() == tip


def test_removals_are_carried_with_their_records(repo: Path) -> None:
    squash, feature, records = squash_merge(repo)
    loaded = store.load(open_repo(repo))
    edits.remove(open_repo(repo), loaded, [loaded.entries[records[0].id]])
    written = carry(open_repo(repo), store.load(open_repo(repo)), feature, squash)
    assert sorted(r.kind for r in written) == ["tombstone", "usage", "usage"]
    forget_branch(repo, "feature/search")
    loaded = store.load(open_repo(repo))
    assert list(loaded.entries) == [records[1].id]
    assert list(loaded.removed) == [records[0].id]


@pytest.mark.parametrize("source", ["feature/search", "feature/search~1"], ids=["branch", "revision"])
def test_sources_may_be_revisions(repo: Path, source: str) -> None:
    squash, _, records = squash_merge(repo)
    written = carry(open_repo(repo), store.load(open_repo(repo)), [source], squash)
    expected = records[1] if source == "feature/search" else records[0]
    assert written == [expected]
