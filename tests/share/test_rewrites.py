"""History rewrites: amend, rebase and `rebase -i` after install; cherry-pick, squash and rebase merges with carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import commit, git, run

from gitokens.git.repo import open_repo
from gitokens.ledger import edits, store


def add(path: Path, tokens: int) -> str:
    repo = open_repo(path)
    built = edits.build(repo, counts={"input_tokens": tokens, "output_tokens": 10}, model="gpt-4o")
    return edits.add(repo, built).record.id


def placed(path: Path) -> dict[str, str]:
    """record id -> the commit it now lives on."""
    return {rid: entry.attached for rid, entry in store.load(open_repo(path), use_cache=False).entries.items()}


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD").strip()


def feature_branch(path: Path, steps: int = 3, name: str = "feature") -> tuple[list[str], list[str]]:
    """main with one commit, ``name`` with ``steps`` commits each holding one record; main moves on after."""
    commit(path, "initial")
    git(path, "checkout", "-q", "-b", name)
    commits, records = [], []
    for step in range(steps):
        commits.append(commit(path, f"{name} step {step}", {f"{name}-{step}.txt": f"step {step}\n"}))
        records.append(add(path, 1000 * (step + 1)))
    git(path, "checkout", "-q", "main")
    commit(path, "unrelated work on main", {"main.txt": "main\n"})
    return commits, records


@pytest.fixture
def installed(repo: Path) -> Path:
    run("install", "--no-prompt")
    return repo


def test_amend_keeps_records(installed: Path) -> None:
    commit(installed, "first")
    record = add(installed, 500)
    git(installed, "commit", "-q", "--amend", "-m", "first, reworded")
    assert placed(installed) == {record: head(installed)}


def test_rebase_keeps_records(installed: Path) -> None:
    commits, records = feature_branch(installed)
    git(installed, "checkout", "-q", "feature")
    git(installed, "rebase", "-q", "main")
    rebased = git(installed, "rev-list", "--reverse", "main..feature").split()
    assert len(rebased) == 3 and not set(rebased) & set(commits)
    assert placed(installed) == dict(zip(records, rebased, strict=True))


@pytest.mark.parametrize("action", ["squash", "fixup"])
def test_interactive_squash_and_fixup_keep_records(installed: Path, action: str) -> None:
    _, records = feature_branch(installed)
    git(installed, "checkout", "-q", "feature")
    editor = f"sed -i -e '2s/^pick/{action}/' -e '3s/^pick/{action}/'"
    git(installed, "rebase", "-q", "-i", "main", env={"GIT_SEQUENCE_EDITOR": editor, "GIT_EDITOR": "true"})
    assert git(installed, "rev-list", "--count", "main..feature").strip() == "1"
    assert placed(installed) == dict.fromkeys(records, head(installed))


def test_cherry_pick_then_carry(repo: Path) -> None:
    commits, records = feature_branch(repo)
    git(repo, "cherry-pick", commits[1])
    assert records[1] not in {r for r, c in placed(repo).items() if c == head(repo)}  # git copies no notes
    out = run("carry", commits[1], "--onto", "HEAD").output
    assert "carried 1 record(s)" in out
    assert placed(repo)[records[1]] == head(repo)
    assert "nothing new to carry" in run("carry", commits[1], "--onto", "HEAD").output


def test_cherry_picked_commits_matched_by_patch_id(repo: Path) -> None:
    commits, records = feature_branch(repo)
    before = head(repo)
    git(repo, "cherry-pick", commits[2], commits[0])  # another order, and one commit left out
    out = run("carry", "main..feature", "--onto", f"{before}..main").output
    assert "2 commit(s) matched" in out and f"no copy of {commits[1][:7]}" in out
    copies = git(repo, "rev-list", "--reverse", f"{before}..main").split()
    where = placed(repo)
    assert (where[records[2]], where[records[0]], where[records[1]]) == (copies[0], copies[1], commits[1])


def squash_merge(path: Path) -> tuple[str, list[str], list[str]]:
    commits, records = feature_branch(path)
    git(path, "merge", "-q", "--squash", "feature")
    git(path, "commit", "-q", "-m", "Add the feature (#17)")
    return head(path), commits, records


def test_merge_squash_then_carry_squash_merged(repo: Path) -> None:
    squash, _, records = squash_merge(repo)
    commit(repo, "later work")
    out = run("carry", "--squash-merged", "feature").output
    assert f"feature was squash-merged as {squash[:7]}" in out and "carried 3 record(s)" in out
    where = placed(repo)
    assert all(where[r] == squash for r in records)
    assert "nothing new to carry" in run("carry", "--squash-merged", "feature").output


def test_squash_merge_with_edits_cannot_be_decided(repo: Path) -> None:
    feature_branch(repo)
    git(repo, "merge", "-q", "--squash", "feature")
    (repo / "feature-1.txt").write_text("edited while merging\n")
    git(repo, "commit", "-q", "-am", "Add the feature, edited")
    result = run("carry", "--squash-merged", "feature")
    assert result.exit_code == 2
    assert "cannot tell where feature landed" in result.output and "--onto COMMIT" in result.output


def test_rebase_merge_is_found_and_carried(repo: Path) -> None:
    commits, records = feature_branch(repo)
    git(repo, "checkout", "-q", "-b", "landed", "feature")
    git(repo, "rebase", "-q", "main")  # no install here: like a server-side rebase merge, no notes copied
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "landed")
    out = run("carry", "--squash-merged", "feature").output
    assert "feature was rebase-merged as 3 commit(s) on main" in out
    copies = git(repo, "rev-list", "--reverse", "HEAD~3..HEAD").split()
    assert placed(repo) == dict(zip(records, copies, strict=True))
    assert set(copies).isdisjoint(commits)


def test_already_merged_branch_is_refused(repo: Path) -> None:
    feature_branch(repo)
    git(repo, "merge", "-q", "--no-edit", "feature")
    result = run("carry", "--squash-merged", "feature")
    assert result.exit_code == 2 and "already part of main" in result.output


def test_gc_after_deleting_a_squash_merged_branch_report_counts_every_record(repo: Path) -> None:
    squash, commits, records = squash_merge(repo)
    run("carry", "--squash-merged", "feature")
    git(repo, "branch", "-q", "-D", "feature")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    assert not any(open_repo(repo).commit_exists(c) for c in commits)
    report = json.loads(run("report", "--format", "json").output)
    assert report["totals"]["sessions"] == len(records)
    assert report["totals"]["total_tokens"] == sum(1000 * (n + 1) + 10 for n in range(3))
    assert set(placed(repo)) == set(records)
    assert {c for c in placed(repo).values()} == {squash}


def test_carry_needs_sources_and_a_target(repo: Path) -> None:
    commit(repo)
    assert run("carry").exit_code == 2
    assert run("carry", "HEAD").exit_code == 2
    assert run("carry", "HEAD", "--squash-merged", "x").exit_code == 2
