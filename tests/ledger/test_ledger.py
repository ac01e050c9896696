from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import commit, git

from gitokens.git.repo import NOTES_REF, open_repo
from gitokens.ledger import store
from gitokens.ledger.record import Record, new_id


def usage(commit_id: str | None = None, **fields: object) -> Record:
    data = {"id": new_id(), "ts": "2025-09-29T14:03:00Z", "input_tokens": 100, "output_tokens": 20, **fields}
    return Record.from_dict({**data, "commit": commit_id})


def notes_commit_from_files(repo: Path, files: dict[str, bytes]) -> None:
    """Point refs/notes/tokens at a commit whose tree holds exactly ``files`` (paths with / nest)."""
    index = repo / ".git" / "tmp-notes-index"
    env = {"GIT_INDEX_FILE": str(index)}
    for path, data in files.items():
        blob = (
            subprocess.run(
                ["git", "hash-object", "-w", "--stdin"], cwd=repo, input=data, capture_output=True, check=True
            )
            .stdout.decode()
            .strip()
        )
        git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = git(repo, "write-tree", env=env).strip()
    notes = git(repo, "commit-tree", tree, "-m", "hand-made notes").strip()
    git(repo, "update-ref", NOTES_REF, notes)
    index.unlink()


def test_first_note_is_written_with_2_38_fanout(repo: Path) -> None:
    head = commit(repo)
    store.append(open_repo(), {head: [usage(head)]}, "test")
    assert git(repo, "ls-tree", "-r", "--name-only", NOTES_REF).split() == [f"{head[:2]}/{head[2:]}"]
    assert git(repo, "notes", "--ref", "tokens", "list", head).strip()  # git finds it too


def test_reads_notes_written_by_plain_git_notes_add(repo: Path) -> None:
    first, second = commit(repo), commit(repo)
    for target in (first, second):
        line = json.dumps({"ts": "2025-01-02T03:04:05Z", "total_tokens": 500, "note": f"by git {target[:7]}"})
        git(repo, "notes", "--ref", "tokens", "add", "-m", line, target)
    loaded = store.load(open_repo())
    assert sorted(e.attached for e in loaded.entries.values()) == sorted([first, second])
    assert sum(e.record.tokens for e in loaded.entries.values()) == 1000
    assert not loaded.invalid


def test_appending_to_a_flat_note_merges_it_into_the_fanout_path(repo: Path) -> None:
    head = commit(repo)
    git(repo, "notes", "--ref", "tokens", "add", "-m", usage(head).to_line(), head)
    store.append(open_repo(), {head: [usage(head)]}, "test")
    assert git(repo, "ls-tree", "-r", "--name-only", NOTES_REF).split() == [f"{head[:2]}/{head[2:]}"]
    assert len(store.load(open_repo()).entries) == 2


@pytest.mark.parametrize("layout", ["flat", "2/38", "2/2/36", "two depths"])
def test_reads_any_fanout_depth(repo: Path, layout: str) -> None:
    head = commit(repo)
    one, two = usage(head).to_line().encode() + b"\n", usage(head).to_line().encode() + b"\n"
    paths = {
        "flat": {head: one + two},
        "2/38": {f"{head[:2]}/{head[2:]}": one + two},
        "2/2/36": {f"{head[:2]}/{head[2:4]}/{head[4:]}": one + two},
        "two depths": {head: one, f"{head[:2]}/{head[2:]}": two},
    }[layout]
    notes_commit_from_files(repo, paths)
    loaded = store.load(open_repo())
    assert len(loaded.entries) == 2
    assert {e.attached for e in loaded.entries.values()} == {head}
    assert git(repo, "notes", "--ref", "tokens", "show", head).count("\n") >= 1


def test_duplicates_count_once_and_tombstones_apply(repo: Path) -> None:
    first, second = commit(repo), commit(repo)
    kept, copied, removed = usage(first), usage(first), usage(first)
    tomb = Record.from_dict({"id": new_id(), "ts": "2025-10-01T00:00:00Z", "kind": "tombstone", "target": removed.id})
    gitrepo = open_repo()
    store.append(gitrepo, {first: [kept, copied, removed]}, "t")
    store.append(gitrepo, {second: [copied, tomb]}, "t")
    loaded = store.load(gitrepo)
    assert set(loaded.entries) == {kept.id, copied.id}
    assert loaded.entries[copied.id].placements == tuple(sorted([first, second]))
    assert loaded.entries[copied.id].attached == second  # the newer commit
    assert set(loaded.removed) == {removed.id}


def test_conflicting_content_under_one_id_is_flagged(repo: Path) -> None:
    head = commit(repo)
    a = usage(head)
    b = a.replace(note="edited by hand")
    store.append(open_repo(), {head: [a, b]}, "t")
    loaded = store.load(open_repo())
    assert len(loaded.entries) == 1 and loaded.conflicting_ids == {a.id}


def test_bad_lines_are_reported_with_their_commit_and_kept(repo: Path) -> None:
    head = commit(repo)
    good = usage(head)
    notes_commit_from_files(repo, {head: b"\n".join([b"{not json", good.to_line().encode(), b"\xff\xfe", b"", b""])})
    loaded = store.load(open_repo())
    assert list(loaded.entries) == [good.id]
    assert [(i.commit, i.line_no) for i in loaded.invalid] == [(head, 1), (head, 3)]
    store.append(open_repo(), {head: [usage(head)]}, "t")  # a later write keeps the bad lines
    raw = subprocess.run(["git", "notes", "--ref", "tokens", "show", head], cwd=repo, capture_output=True).stdout
    assert b"{not json" in raw and b"\xff\xfe" in raw
    assert len(store.load(open_repo()).invalid) == 2


def test_records_on_commits_that_are_gone_still_count(repo: Path) -> None:
    commit(repo)
    git(repo, "switch", "-q", "-c", "doomed")
    doomed = commit(repo, "doomed work")
    store.append(open_repo(), {doomed: [usage(doomed, branch="doomed")]}, "t")
    git(repo, "switch", "-q", "main")
    git(repo, "branch", "-q", "-D", "doomed")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    assert not open_repo().commit_exists(doomed)
    loaded = store.load(open_repo())
    assert [(e.attached, e.record.branch) for e in loaded.entries.values()] == [(doomed, "doomed")]


def test_git_notes_merge_cat_sort_uniq_of_two_diverged_ledgers_reads_completely(repo: Path) -> None:
    shared, mine, theirs = commit(repo), commit(repo), commit(repo)
    gitrepo = open_repo()
    base = usage(shared)
    store.append(gitrepo, {shared: [base]}, "base")
    git(repo, "update-ref", "refs/notes/theirs", NOTES_REF)
    ours = [usage(shared), usage(mine)]
    store.append(gitrepo, {shared: [ours[0]], mine: [ours[1]]}, "ours")
    their_records = [usage(shared), usage(theirs)]
    lines = {shared: [their_records[0].to_line().encode()], theirs: [their_records[1].to_line().encode()]}
    gitrepo.append_notes(lines, "theirs", ref="refs/notes/theirs")
    git(repo, "notes", "--ref", "tokens", "merge", "-s", "cat_sort_uniq", "refs/notes/theirs")
    loaded = store.load(open_repo())
    assert set(loaded.entries) == {r.id for r in [base, *ours, *their_records]}
    assert not loaded.invalid


WRITER = """
import sys
from gitokens.ledger import store
from gitokens.git.repo import open_repo
from gitokens.ledger.record import Record, new_id
repo = open_repo(sys.argv[1])
for n in range(int(sys.argv[3])):
    rec = Record.from_dict({"id": new_id(), "ts": "2025-01-01T00:00:00Z", "total_tokens": 1,
                            "note": sys.argv[2] + "-" + str(n)})
    store.append(repo, {sys.argv[4 + n % 2]: [rec]}, "concurrent")
"""


def test_concurrent_writers_lose_nothing(repo: Path) -> None:
    a, b = commit(repo), commit(repo)
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(repo), f"w{w}", "50", a, b], stderr=subprocess.PIPE)
        for w in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    loaded = store.load(open_repo())
    notes = sorted(e.record.note or "" for e in loaded.entries.values())
    assert notes == sorted(f"w{w}-{n}" for w in range(4) for n in range(50))
    assert git(repo, "rev-list", "--count", NOTES_REF).strip() == "200"
