"""How long `git tokens sync` takes to merge two diverged ledgers, against `git notes merge -s cat_sort_uniq`.

    python bench/bench_sync.py                      # 20,000 notes, 1,000 changed notes on each side
    python bench/bench_sync.py --changed 5000 --runs 5

The base ledger comes from ``make_ledger.py`` (20,000 commits, a note on each, 60,000 records). Two
sides are made from it with gitokens' own writer, one notes commit each: ``--changed`` random notes get
one new record line on our side, another ``--changed`` random notes on the remote's side (a few land
on the same notes: those are real content merges). Measured, after one untimed warm-up each, with the
ledger reset to our side before every run:

- the git baseline: ``git notes --ref tokens merge -s cat_sort_uniq refs/notes/theirs``;
- ``gitokens.share.sync.merge(repo, theirs)`` in this process (imports and ``open_repo`` done before): the
  plan (tree diff against the merge base) and the locked write of the merge commit;
- end to end through a remote: ``git tokens sync --no-push`` (start Python, fetch the remote's ledger
  into ``refs/notes/remotes/origin/tokens``, merge) against ``git fetch`` of the same refspec followed by
  ``git notes merge -s cat_sort_uniq`` (one ``sh -c``).

Both merges are checked to give the same note for every commit before anything is timed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from make_ledger import add_spec_arguments, git, prepare, scratch_copy
from timing import Timing, header, measure, ratio_line

THEIRS = "refs/notes/theirs"
TRACKING = "refs/notes/remotes/origin/tokens"
NOTES_REF = "refs/notes/tokens"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_spec_arguments(parser, commits=20_000)
    parser.add_argument("--changed", type=int, default=1000, help="notes changed on each side (default 1,000)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per measurement (default 7)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies (default: delete them)")
    args = parser.parse_args(argv)

    work_dir, pristine, _, env = prepare(args, adopt_env=True)

    from gitokens.git.repo import open_repo
    from gitokens.share import sync

    scratch = work_dir / "scratch"
    local = scratch_copy(pristine, scratch / "bench-sync-local")
    remote = scratch_copy(pristine, scratch / "bench-sync-remote")
    try:
        ours, theirs, overlap = _diverge(local, args.changed, args.seed)
        git(local, "update-ref", THEIRS, theirs, env=env)
        git(remote, "fetch", "-q", str(local), f"+{THEIRS}:{NOTES_REF}", env=env)
        git(local, "remote", "add", "origin", str(remote), env=env)
        print(f"sides: {args.changed:,} notes changed on each, {overlap} changed on both (content merges)")

        repo = open_repo(local)

        def reset() -> None:
            git(local, "update-ref", NOTES_REF, ours, env=env)

        reset()
        git(local, "notes", "--ref", "tokens", "merge", "-q", "-s", "cat_sort_uniq", THEIRS, env=env)
        by_git = _notes(local, env)
        reset()
        sync.merge(repo, theirs, message="bench")
        same = _notes(local, env) == by_git
        print(f"same note for every commit as git's merge: {'yes' if same else 'NO'}")
        if not same:
            return 1

        header("the merge alone")
        git_merge = measure(
            "git notes merge -s cat_sort_uniq",
            ["git", "notes", "--ref", "tokens", "merge", "-q", "-s", "cat_sort_uniq", THEIRS],
            env=env,
            cwd=local,
            runs=args.runs,
            before=lambda _: reset(),
        )
        ours_merge = Timing("gitokens.share.sync.merge, in process")
        for i in range(-1, args.runs):
            reset()
            start = time.perf_counter()
            sync.merge(repo, theirs, message="bench")
            if i >= 0:
                ours_merge.samples.append(time.perf_counter() - start)
        print(ours_merge.row(), flush=True)

        header("end to end, through a remote")
        fetch_merge = (
            f"git fetch -q --no-write-fetch-head origin +{NOTES_REF}:{TRACKING} && "
            f"git notes --ref tokens merge -q -s cat_sort_uniq {TRACKING}"
        )
        git_e2e = measure(
            "git fetch + git notes merge -s cat_sort_uniq",
            ["sh", "-c", fetch_merge],
            env=env,
            cwd=local,
            runs=args.runs,
            before=lambda _: reset(),
        )
        cli_e2e = measure(
            "git tokens sync --no-push",
            ["git", "tokens", "sync", "--no-push"],
            env=env,
            cwd=local,
            runs=args.runs,
            before=lambda _: reset(),
        )
        python = measure(
            "  (floor: python -c 'import gitokens.cli')",
            [sys.executable, "-c", "import gitokens.cli"],
            env=env,
            cwd=local,
            runs=args.runs,
        )

        header("ratios", columns=False)
        print(ratio_line("in-process merge / git notes merge", ours_merge, git_merge))
        print(ratio_line("git tokens sync --no-push / git fetch + git notes merge", cli_e2e, git_e2e))
        print(f"  (of which starting Python and importing the CLI: {python.median * 1000:.0f} ms)")
    finally:
        if not args.keep:
            shutil.rmtree(local, ignore_errors=True)
            shutil.rmtree(remote, ignore_errors=True)
    return 0


def _diverge(path: Path, changed: int, seed: int) -> tuple[str, str, int]:
    """Two notes commits on the base ledger, each adding a line to ``changed`` random notes."""
    from gitokens.git.repo import open_repo

    repo = open_repo(path)
    base = repo.notes_tip()
    assert base is not None
    annotated = sorted({commit for commit, _ in repo.read_notes()})
    rng = random.Random(seed)
    picks = [rng.sample(annotated, changed) for _ in range(2)]
    tips = []
    for side, commits in zip(("ours", "theirs"), picks, strict=True):
        lines = {
            c: [f'{{"bench":"{side}-{n}","id":"{rng.getrandbits(128):032x}"}}'.encode()] for n, c in enumerate(commits)
        }
        repo.pg.references.create(NOTES_REF, repo.pg[base].id, force=True)
        tips.append(repo.append_notes(lines, f"bench: {side}")[1])
    return tips[0], tips[1], len(set(picks[0]) & set(picks[1]))


def _notes(path: Path, env: dict[str, str]) -> dict[str, bytes]:
    listing = git(path, "notes", "--ref", "tokens", "list", env=env).split()
    blobs, commits = listing[0::2], listing[1::2]
    dump = subprocess.run(
        ["git", "-C", str(path), "cat-file", "--batch"],
        env=env,
        input="".join(b + "\n" for b in blobs).encode(),
        capture_output=True,
        check=True,
    ).stdout
    contents: list[bytes] = []
    at = 0
    for _ in blobs:
        header_end = dump.index(b"\n", at)
        size = int(dump[at:header_end].split()[2])
        contents.append(dump[header_end + 1 : header_end + 1 + size])
        at = header_end + 1 + size + 1
    return dict(zip(commits, contents, strict=True))


if __name__ == "__main__":
    sys.exit(main())
