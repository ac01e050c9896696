"""The first-parent chain cached by tip: after the branch grows, moves back, is rewritten, or the file is
damaged, what the cache gives is what a fresh walk by git gives."""

from __future__ import annotations

import marshal
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import commit, git
from hypothesis import given, settings
from hypothesis import strategies as st

from gitokens.git.repo import Repo, first_parents_of, open_repo
from gitokens.report import chain


def oracle(path: Path, tip: str, wanted: set[str]) -> list[tuple[str, list[str] | None]]:
    """The merges and wanted commits on ``tip``'s first-parent chain, and what each merge brought in, by git."""
    steps: list[tuple[str, list[str] | None]] = []
    for line in git(path, "rev-list", "--first-parent", "--parents", tip).splitlines():
        sha, *parents = line.split()
        if len(parents) >= 2:
            steps.append((sha, sorted([sha, *git(path, "rev-list", parents[1], f"^{parents[0]}").split()])))
        elif sha in wanted:
            steps.append((sha, None))
    return steps


def cached(repo: Repo, tip: str, wanted: set[str]) -> list[tuple[str, list[str] | None]]:
    return [(sha, sorted(merged) if merged else None) for sha, merged in chain.first_parents(repo, tip)(wanted)]


def merge_feature(path: Path, name: str) -> None:
    git(path, "switch", "-q", "-c", name)
    commit(path, f"{name} 1")
    commit(path, f"{name} 2")
    git(path, "switch", "-q", "main")
    commit(path, "main meanwhile")
    git(path, "merge", "-q", "--no-ff", "-m", f"Merge branch '{name}'", name)


def grow(path: Path) -> None:
    commit(path)
    merge_feature(path, "later")
    commit(path)


def damage(path: Path) -> None:
    (path / ".git/gitokens/cache" / chain._FILE).write_bytes(b"\x00garbage")


def truncate(path: Path) -> None:
    file = path / ".git/gitokens/cache" / chain._FILE
    file.write_bytes(file.read_bytes()[:-9])


def foreign(path: Path) -> None:
    payload = marshal.dumps(("not", "a", "chain"))
    (path / ".git/gitokens/cache" / chain._FILE).write_bytes(zlib.crc32(payload).to_bytes(4, "big") + payload)


def amend(path: Path) -> None:
    git(path, "commit", "-q", "--amend", "-m", "amended")


SCENARIOS: dict[str, tuple[Callable[[Path], None], bool]] = {  # what happens, and whether the chain extends
    "unchanged": (lambda path: None, False),
    "grown": (grow, True),
    "reset back": (lambda path: git(path, "reset", "-q", "--hard", "HEAD~2"), False),
    "force-reset and regrown": (lambda path: (git(path, "reset", "-q", "--hard", "HEAD~3"), grow(path)), False),
    "amended": (amend, False),
    "damaged file": (damage, False),
    "truncated file": (truncate, False),
    "foreign file": (foreign, False),
}


@pytest.fixture
def history(repo: Path) -> Repo:
    commit(repo, "root")
    merge_feature(repo, "first")
    commit(repo)
    merge_feature(repo, "second")
    commit(repo)
    return open_repo(repo)


@pytest.mark.parametrize("scenario", list(SCENARIOS), ids=list(SCENARIOS))
def test_cached_chain_is_a_fresh_walk(repo: Path, history: Repo, scenario: str) -> None:
    assert cached(history, history.branch_tip("main") or "", set()) == oracle(repo, "main", set())
    SCENARIOS[scenario][0](repo)
    tip = open_repo(repo).branch_tip("main") or ""
    wanted = set(git(repo, "rev-list", "--first-parent", "main").split()[1::3])
    assert cached(open_repo(repo), tip, wanted) == oracle(repo, tip, wanted)
    assert cached(open_repo(repo), tip, wanted) == oracle(repo, tip, wanted)  # now from the file


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if "file" not in s], ids=lambda s: s)
def test_only_a_grown_chain_is_extended(repo: Path, history: Repo, scenario: str) -> None:
    old = chain._walked(history, history.first_parent_walk("main")(), [], {})
    change, extends = SCENARIOS[scenario]
    change(repo)
    tip = open_repo(repo).branch_tip("main") or ""
    extended = chain._extended(history, old, history.first_parent_walk(tip, stop=old.tip))
    assert (extended is not None) == extends


def test_a_chain_whose_tip_is_gone_is_walked_again(repo: Path, history: Repo) -> None:
    old = chain._walked(history, history.first_parent_walk("main")(), [], {})
    gone = chain.Chain(tip="1" * 40, commits=["1" * 40, *old.commits], merged=old.merged)
    assert chain._extended(history, gone, history.first_parent_walk(old.tip, stop=gone.tip)) is None


def test_a_shallow_clone_is_walked_every_time(tmp_path: Path, history: Repo) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{history.workdir}", str(clone))
    tip = git(clone, "rev-parse", "HEAD").strip()
    assert cached(open_repo(clone), tip, set()) == oracle(clone, tip, set())
    git(clone, "fetch", "-q", "--deepen", "3")
    assert cached(open_repo(clone), tip, set()) == oracle(clone, tip, set())
    assert not (clone / ".git/gitokens/cache" / chain._FILE).exists()


@st.composite
def _walk_output(draw: st.DrawFn) -> list[str]:
    """``git rev-list --first-parent --parents`` lines: ids of one width, a root last, any merges; now and
    then a line of another shape (which the positional cut must not trust)."""
    width = draw(st.sampled_from([40, 64, 4]))
    ident = st.text("0123456789abcdef", min_size=width, max_size=width)
    lines = [
        " ".join([draw(ident), *draw(st.lists(ident, min_size=1, max_size=3))]) for _ in range(draw(st.integers(0, 12)))
    ]
    if lines and draw(st.booleans()):
        lines.append(draw(ident))  # the root
    if lines and draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = lines[at] + draw(st.sampled_from(["0", " 0", "00"]))
    return lines


@given(_walk_output())
@settings(max_examples=300, deadline=None)
def test_the_walk_is_cut_by_position_as_the_plain_split_reads_it(lines: list[str]) -> None:
    split = [line.split() for line in lines]
    assert first_parents_of(lines) == (
        [parts[0] for parts in split],
        [parts[1] if len(parts) > 1 else None for parts in split],
        {parts[0]: parts[1:] for parts in split if len(parts) > 2},
    )
