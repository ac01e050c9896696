"""sync: clones sharing one bare remote end with the same ledger, lose nothing, double nothing, retry races."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import commit, git, run

from gitokens.cli import cli
from gitokens.git import notes as git_notes
from gitokens.git.repo import NOTES_REF, open_repo
from gitokens.ledger import edits, store
from gitokens.share import sync

ROOT = Path(__file__).resolve().parent.parent


def add(path: Path, tokens: int, rev: str = "HEAD") -> str:
    repo = open_repo(path)
    built = edits.build(repo, counts={"input_tokens": tokens, "output_tokens": 1}, model="gpt-4o")
    return edits.add(repo, built, rev=rev).record.id


def ids(path: Path) -> list[str]:
    return sorted(store.load(open_repo(path), use_cache=False).entries)


def notes(path: Path, ref: str = NOTES_REF) -> dict[str, bytes]:
    """Every note of ``ref`` as commit -> content; fails if a commit has two copies."""
    found: dict[str, bytes] = {}
    for commit_id, data in open_repo(path).read_notes(ref):
        assert commit_id not in found, f"{commit_id} has notes at two depths"
        found[commit_id] = data
    return found


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """A bare remote with one pushed commit (main), and two clones of it: (remote, a, b, the commit)."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    a = tmp_path / "a"
    git(tmp_path, "clone", "-q", str(remote), str(a))
    first = commit(a, "first")
    git(a, "push", "-q", "origin", "main")
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(remote), str(b))
    return remote, a, b, first


def test_two_clones_converge_in_either_order_repeatedly(team: tuple[Path, Path, Path, str]) -> None:
    remote, a, b, shared = team
    added: list[str] = []
    for round_no in range(4):
        first, second = (a, b) if round_no % 2 == 0 else (b, a)
        for clone in (a, b):
            added.append(add(clone, 100 + round_no, rev=shared))  # the same commit on both sides
            own = commit(clone, f"{clone.name} {round_no}")
            added.append(add(clone, 200 + round_no, rev=own))  # and a commit only this clone has
            git(clone, "push", "-q", "origin", f"HEAD:refs/heads/{clone.name}")
        sync.sync(open_repo(first))
        sync.sync(open_repo(second))
        sync.sync(open_repo(first))
        tips = {open_repo(p).notes_tip() for p in (a, b)} | {open_repo(remote).notes_tip()}
        assert len(tips) == 1
        assert ids(a) == ids(b) == ids(remote) == sorted(added)
        assert notes(a) == notes(b)
        for data in notes(a).values():
            lines = data.split(b"\n")[:-1]
            assert lines == sorted(set(lines)), "a note with doubled or unsorted lines"
    again = sync.sync(open_repo(a))
    assert (again.received, again.sent, again.pushed) == (0, 0, False)
    assert open_repo(a).notes_tip() == open_repo(remote).notes_tip()


def test_cli_prints_received_and_sent(team: tuple[Path, Path, Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, a, b, shared = team
    add(a, 10, rev=shared)
    add(a, 20, rev=shared)
    monkeypatch.chdir(a)
    assert "origin: 0 record(s) received, 2 record(s) sent" in run("sync").output
    add(b, 30, rev=shared)
    monkeypatch.chdir(b)
    assert "would receive 2 record(s) and send 1" in run("sync", "--dry-run").output
    assert len(ids(b)) == 1  # the dry run merged nothing
    out = run("sync", "--no-push").output
    assert "2 record(s) received, 0 record(s) sent" in out and "ledger: merge to" in out
    assert len(ids(b)) == 3 and len(ids(team[0])) == 2  # merged here, not pushed
    assert "0 record(s) received, 1 record(s) sent" in run("sync", "origin").output
    assert len(ids(team[0])) == 3


def test_remote_without_a_ledger_and_unknown_remote(team: tuple[Path, Path, Path, str]) -> None:
    _, a, _, _ = team
    result = sync.sync(open_repo(a))
    assert (result.received, result.sent, open_repo(a).notes_tip()) == (0, 0, None)
    with pytest.raises(sync.UsageError, match="no remote named 'upstream'"):
        sync.sync(open_repo(a), "upstream")


def test_branch_remote_is_the_default(team: tuple[Path, Path, Path, str], tmp_path: Path) -> None:
    _, a, _, shared = team
    other = tmp_path / "other.git"
    git(tmp_path, "init", "-q", "--bare", str(other))
    git(a, "remote", "add", "upstream", str(other))
    git(a, "config", "branch.main.remote", "upstream")
    add(a, 5, rev=shared)
    assert sync.sync(open_repo(a)).remote == "upstream"
    assert len(ids(other)) == 1


REJECT_ONCE = """#!/bin/sh
if [ ! -e rejected-once ]; then
    touch rejected-once
    echo "not this time" >&2
    exit 1
fi
"""


def test_push_rejected_once_is_retried(team: tuple[Path, Path, Path, str]) -> None:
    remote, a, _, shared = team
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(REJECT_ONCE)
    hook.chmod(0o755)
    record = add(a, 42, rev=shared)
    pauses: list[float] = []
    result = sync.sync(open_repo(a), sleep=pauses.append)
    assert (remote / "rejected-once").exists(), "the remote's hook never ran"
    assert result.pushed and result.attempts == 2 and len(pauses) == 1
    assert ids(remote) == [record]


def test_push_rejected_every_time_fails_and_keeps_everything(team: tuple[Path, Path, Path, str]) -> None:
    remote, a, b, shared = team
    add(b, 7, rev=shared)
    sync.sync(open_repo(b))
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'ledger frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    mine = add(a, 8, rev=shared)
    pauses: list[float] = []
    with pytest.raises(sync.SyncFailed, match=f"rejected the ledger push {sync.ATTEMPTS} times") as caught:
        sync.sync(open_repo(a), sleep=pauses.append)
    assert sync.ATTEMPTS >= 5 and "intact locally" in (caught.value.hint or "")
    assert len(pauses) == sync.ATTEMPTS - 1 and all(0 < p <= 1.5 for p in pauses)
    assert len(set(pauses)) == len(pauses)  # jittered
    assert mine in ids(a) and len(ids(a)) == 2  # merged locally, nothing lost
    assert mine not in ids(remote)


def test_unreachable_remote_is_a_clear_error(team: tuple[Path, Path, Path, str], tmp_path: Path) -> None:
    _, a, _, _ = team
    git(a, "remote", "add", "gone", str(tmp_path / "nowhere.git"))
    with pytest.raises(sync.GitTokensError, match="cannot fetch the ledger from 'gone'"):
        sync.sync(open_repo(a), "gone")


CLONE_WORKER = textwrap.dedent(
    """
    import sys
    from gitokens.ledger import edits
    from gitokens.share import sync
    from gitokens.git.repo import open_repo
    repo = open_repo(sys.argv[1])
    for n in range(int(sys.argv[2])):
        built = edits.build(repo, counts={"input_tokens": n + 1, "output_tokens": 1}, model="m")
        print(edits.add(repo, built, rev=sys.argv[3]).record.id, flush=True)
        sync.sync(repo)
    """
)


def test_three_clones_pushing_concurrently_lose_nothing(team: tuple[Path, Path, Path, str], tmp_path: Path) -> None:
    remote, a, b, shared = team
    c = tmp_path / "c"
    git(tmp_path, "clone", "-q", str(remote), str(c))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLONE_WORKER, str(clone), "6", shared],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for clone in (a, b, c)
    ]
    written: list[str] = []
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err
        written += out.split()
    assert len(written) == 18
    assert ids(remote) == sorted(written)


APPEND_WORKER = textwrap.dedent(
    """
    import sys
    from gitokens.ledger import store
    from gitokens.ledger import edits
    from gitokens.git.repo import open_repo
    repo = open_repo(sys.argv[1])
    for n in range(int(sys.argv[2])):
        record = edits.build(repo, counts={"input_tokens": n + 1, "output_tokens": 1}, model="m")
        store.append(repo, {sys.argv[3]: [record]}, "concurrent add")
        print(record.id, flush=True)
    """
)


def test_concurrent_add_during_sync_is_kept(team: tuple[Path, Path, Path, str]) -> None:
    _, a, b, shared = team
    theirs = [add(b, n, rev=shared) for n in range(1, 4)]
    sync.sync(open_repo(b))
    writer = subprocess.Popen(
        [sys.executable, "-c", APPEND_WORKER, str(a), "40", shared], stdout=subprocess.PIPE, text=True
    )
    while writer.poll() is None:
        add(b, 9, rev=shared)
        sync.sync(open_repo(b))
        sync.sync(open_repo(a), push=False)
    mine = writer.communicate()[0].split()
    assert writer.returncode == 0 and len(mine) == 40
    sync.sync(open_repo(a), push=False)
    assert set(mine + theirs) <= set(ids(a))


def test_merge_is_planned_again_when_the_ledger_moves(team: tuple[Path, Path, Path, str]) -> None:
    _, a, b, shared = team
    add(a, 1, rev=shared)
    theirs = add(b, 2, rev=shared)
    sync.sync(open_repo(b))
    repo = open_repo(a)
    remote_tip = git_notes.fetch_notes(repo, "origin")
    planned = sync.plan(repo, repo.notes_tip(), remote_tip)
    late = add(a, 3, rev=shared)  # lands between planning and writing
    before = repo.notes_tip()
    with pytest.raises(git_notes.NotesMoved):
        git_notes.write_notes(repo, planned.local, [planned.local or "", remote_tip or ""], planned.changes, "stale")
    assert repo.notes_tip() == before
    sync.merge(repo, remote_tip, message="merge")
    assert {late, theirs} <= set(ids(a)) and len(ids(a)) == 3


# -- a ledger edited by hand -----------------------------------------------------------------------


def hand_edit(path: Path, commit_id: str, extra_line: str, flat_copy: bytes) -> None:
    """With git plumbing: add a line to the commit's 2/38 note and a second note for it stored flat."""
    env = {"GIT_INDEX_FILE": str(path / ".git" / "hand-index")}
    git(path, "read-tree", NOTES_REF, env=env)
    fanout = f"{commit_id[:2]}/{commit_id[2:]}"
    current = git(path, "cat-file", "blob", f"{NOTES_REF}:{fanout}")
    edited = (path / "edited").resolve()
    edited.write_text(current + extra_line + "\n")
    blob = git(path, "hash-object", "-w", str(edited)).strip()
    edited.write_bytes(flat_copy)
    flat = git(path, "hash-object", "-w", str(edited)).strip()
    edited.unlink()
    git(path, "update-index", "--cacheinfo", f"100644,{blob},{fanout}", env=env)
    git(path, "update-index", "--add", "--cacheinfo", f"100644,{flat},{commit_id}", env=env)
    tree = git(path, "write-tree", env=env).strip()
    new = git(path, "commit-tree", tree, "-p", NOTES_REF, "-m", "edited by hand").strip()
    git(path, "update-ref", NOTES_REF, new)


def test_hand_edited_ledger_keeps_corrupt_line_and_both_copies(
    team: tuple[Path, Path, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, a, b, shared = team
    first = add(a, 1, rev=shared)
    sync.sync(open_repo(a))
    sync.sync(open_repo(b))
    from_b = add(b, 2, rev=shared)
    elsewhere = open_repo(b)
    flat_record = edits.build(elsewhere, counts={"input_tokens": 3, "output_tokens": 1}, model="m")
    flat_line = flat_record.replace(commit=shared).to_line()
    hand_edit(a, shared, "this line is not a record", (flat_line + "\n").encode())
    monkeypatch.chdir(a)
    report = run("doctor").output
    assert "1 ledger line(s) are not valid records" in report and "at two fanout depths" in report
    sync.sync(open_repo(a))
    sync.sync(open_repo(b))
    sync.sync(open_repo(a))
    assert open_repo(a).notes_tip() == open_repo(b).notes_tip() == open_repo(remote).notes_tip()
    merged = notes(b)[shared]  # one note: the two copies joined
    assert b"this line is not a record\n" in merged and flat_line.encode() in merged
    assert ids(b) == sorted([first, from_b, flat_record.id])
    loaded = store.load(open_repo(b))
    assert [bad.text for bad in loaded.invalid] == ["this line is not a record"]


# -- interop with git notes merge -s cat_sort_uniq -------------------------------------------------


def random_edits(path: Path, ref: str, commits: list[str], seed: int, base_lines: int) -> None:
    """Edit a notes ref the way people and tools do: git notes append/add -f/remove, and gitokens' own writes."""
    import random

    rng = random.Random(seed)
    repo = open_repo(path)
    for step in range(8):
        target = rng.choice(commits)
        action = rng.random()
        line = f'{{"id":"{ref[-5:]}-{seed}-{step}","n":{rng.randint(0, base_lines)}}}'
        if action < 0.35:
            repo.append_notes({target: [line.encode()]}, "gitokens write", ref=ref)
        elif action < 0.6:
            git(path, "notes", "--ref", ref, "append", "-m", line, target)
        elif action < 0.8:
            git(path, "notes", "--ref", ref, "add", "-f", "-m", line, target)
        else:
            git(path, "notes", "--ref", ref, "remove", "--ignore-missing", target)


@pytest.mark.parametrize("seed", range(8), ids=[f"seed{s}" for s in range(8)])
def test_merge_equals_git_notes_merge_cat_sort_uniq(repo: Path, seed: int) -> None:
    commits = [commit(repo, f"c{n}") for n in range(12)]
    handle = open_repo(repo)
    for n, target in enumerate(commits[:8]):
        handle.append_notes({target: [f'{{"id":"base-{n}"}}'.encode(), f'{{"id":"base-{n}b"}}'.encode()]}, "base")
    git(repo, "update-ref", "refs/notes/theirs", NOTES_REF)
    random_edits(repo, NOTES_REF, commits, seed, 3)
    random_edits(repo, "refs/notes/theirs", commits, seed + 100, 3)
    local = handle.notes_tip()
    theirs = handle.notes_tip("refs/notes/theirs")
    git(repo, "notes", "--ref", "tokens", "merge", "-q", "-s", "cat_sort_uniq", "refs/notes/theirs")
    by_git = notes(repo)
    git(repo, "update-ref", NOTES_REF, local or "")
    sync.merge(open_repo(repo), theirs, message="merge")
    assert notes(repo) == by_git
    git(repo, "update-ref", "refs/notes/ours", open_repo(repo).notes_tip() or "")
    git(repo, "update-ref", NOTES_REF, local or "")  # and git's merge of our merge changes nothing more
    git(repo, "notes", "--ref", "tokens", "merge", "-q", "-s", "cat_sort_uniq", "refs/notes/ours")
    assert notes(repo) == by_git


def test_fast_forward_both_ways(repo: Path) -> None:
    target = commit(repo)
    handle = open_repo(repo)
    handle.append_notes({target: [b"one"]}, "one")
    older = handle.notes_tip()
    handle.append_notes({target: [b"two"]}, "two")
    newer = handle.notes_tip()
    assert sync.plan(handle, older, newer).kind == "fast-forward"
    assert sync.plan(handle, newer, older).kind == "up to date"
    assert sync.plan(handle, None, newer).received == 2
    git(repo, "update-ref", NOTES_REF, older or "")
    sync.merge(handle, newer, message="ff")
    assert handle.notes_tip() == newer


def test_sync_does_not_run_hooks(team: tuple[Path, Path, Path, str]) -> None:
    _, a, _, shared = team
    marker = a / "hook-ran"
    for name in ("pre-push", "reference-transaction"):
        hook = a / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\ncat >/dev/null\necho {name} >> '{marker}'\n")
        hook.chmod(0o755)
    add(a, 1, rev=shared)
    assert sync.sync(open_repo(a)).pushed
    assert not marker.exists()


def deep_notes(path: Path, notes_by_commit: dict[str, str]) -> str:
    """A notes commit (no parent, no ref) with each note at 2/2/36: git's layout past 65,536 notes."""
    env = {"GIT_INDEX_FILE": str(path / ".git" / "deep-index")}
    for commit_id, text in notes_by_commit.items():
        (path / "note").write_text(text)
        blob = git(path, "hash-object", "-w", "note").strip()
        where = f"{commit_id[:2]}/{commit_id[2:4]}/{commit_id[4:]}"
        git(path, "update-index", "--add", "--cacheinfo", f"100644,{blob},{where}", env=env)
    (path / "note").unlink()
    tree = git(path, "write-tree", env=env).strip()
    return git(path, "commit-tree", tree, "-m", "deep").strip()


@pytest.mark.parametrize("deep_side", ["theirs", "ours"])
def test_merge_across_fanout_depths_equals_git(repo: Path, deep_side: str) -> None:
    commits = [commit(repo, f"c{n}") for n in range(4)]
    handle = open_repo(repo)
    handle.append_notes({c: [f"flat-{n}".encode(), b"shared"] for n, c in enumerate(commits[:3])}, "2/38")
    shallow = handle.notes_tip() or ""
    deep = deep_notes(repo, {c: f"deep-{n}\nshared\n" for n, c in enumerate(commits[1:])})
    ours, theirs = (shallow, deep) if deep_side == "theirs" else (deep, shallow)
    git(repo, "update-ref", "refs/notes/theirs", theirs)
    git(repo, "update-ref", NOTES_REF, ours)
    git(repo, "notes", "--ref", "tokens", "merge", "-q", "-s", "cat_sort_uniq", "refs/notes/theirs")
    by_git = notes(repo)
    git(repo, "update-ref", NOTES_REF, ours)
    assert sync.merge(open_repo(repo), theirs, message="merge").kind == "merge"
    assert notes(repo) == by_git
    assert by_git[commits[1]] == b"deep-0\nflat-1\nshared\n"


def test_a_teammate_sharing_with_plain_git_and_one_with_sync_converge(team: tuple[Path, Path, Path, str]) -> None:
    remote, a, b, shared = team
    fetch = ["fetch", "-q", "origin", "+refs/notes/tokens:refs/notes/remotes/origin/tokens"]
    merge = ["notes", "--ref", "tokens", "merge", "-q", "-s", "cat_sort_uniq", "refs/notes/remotes/origin/tokens"]
    added = [add(a, 1, rev=shared), add(b, 2, rev=shared)]
    git(a, "push", "-q", "origin", "refs/notes/tokens")  # a: plain git only
    sync.sync(open_repo(b))
    added.append(add(a, 3, rev=shared))
    added.append(add(b, 4, rev=shared))
    sync.sync(open_repo(b))
    git(a, *fetch)
    git(a, *merge)
    git(a, "push", "-q", "origin", "refs/notes/tokens")
    sync.sync(open_repo(b))
    assert notes(a) == notes(b) == notes(remote)
    assert ids(a) == ids(b) == sorted(added)


@pytest.mark.parametrize(
    "bad",
    ['{"ts":"9999-12-31T23:00:00-05:00","total_tokens":5}', "[" * 1100 + "]" * 1100, "not json"],
    ids=["overflowing-ts", "deep", "text"],
)
def test_a_received_bad_line_is_reported_kept_and_inert(
    team: tuple[Path, Path, Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bad: str
) -> None:
    _, a, b, shared = team
    kept = add(a, 10, rev=shared)
    git(a, "notes", "--ref=tokens", "append", "-m", bad, shared)
    sync.sync(open_repo(a))
    monkeypatch.chdir(b)
    result = run("sync")
    assert "warning: received 1 ledger line(s) that are not valid records" in result.stderr
    assert bad in git(b, "notes", "--ref=tokens", "show", shared).splitlines()
    assert kept in run("log", "--json").stdout
    env = {
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "s"),
        "GITHUB_OUTPUT": str(tmp_path / "o"),
    }
    ci = run_env("ci", env=env)
    assert ci.exit_code == 0 and "1 line(s) are not valid records, kept and skipped" in ci.output


def run_env(*args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("kind", ["blob", "tree"])
def test_a_remote_ledger_that_is_no_notes_commit_is_refused_and_ours_kept(
    team: tuple[Path, Path, Path, str], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    _, a, b, shared = team
    mine = add(b, 10, rev=shared)
    bad = git(a, "rev-parse", "HEAD^{tree}").strip()
    if kind == "blob":
        bad = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=a, input=b"x", capture_output=True)
        bad = bad.stdout.decode().strip()
    git(a, "push", "-q", "origin", f"{bad}:{NOTES_REF}")
    before = git(b, "rev-parse", NOTES_REF)
    monkeypatch.chdir(b)
    result = CliRunner().invoke(cli, ["sync"])
    assert (
        result.exit_code == 1
        and f"error: the ledger on 'origin' is not usable: its {NOTES_REF} is a {kind}" in result.stderr
    )
    assert "hint: someone with a good ledger can repair the remote" in result.stderr
    assert git(b, "rev-parse", NOTES_REF) == before and ids(b) == [mine]


def test_concurrent_syncs_in_one_clone_all_succeed(team: tuple[Path, Path, Path, str]) -> None:
    remote, a, b, shared = team
    written = [add(b, n, rev=shared) for n in range(1, 4)]
    sync.sync(open_repo(b))
    written += [add(a, n, rev=shared) for n in range(1, 4)]
    exe = str(Path(sys.executable).parent / "git-tokens")
    for _ in range(3):
        written.append(add(a, 7, rev=shared))
        syncs = [subprocess.Popen([exe, "sync"], cwd=a, stderr=subprocess.PIPE, text=True) for _ in range(6)]
        for process in syncs:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
    assert ids(remote) == ids(a) == sorted(written)
