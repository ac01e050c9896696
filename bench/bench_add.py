"""How long `git tokens add` and the post-commit hook take on a large ledger, against floors measured in the same run.

    python bench/bench_add.py                       # 100,000 commits, a note on each, 300,000 records
    python bench/bench_add.py --commits 20000 --runs 9

Measured (each command run ``--runs`` times after one untimed warm-up; median and min):

- the Python floor: ``python -c "import pygit2, click"`` with this interpreter (what any pygit2+click CLI pays);
- the git floor: ``git notes --ref tokens append -m <line> HEAD``;
- ``git tokens add --input 100 --output 20 --model m`` cold (the per-branch totals cache removed first, so the
  whole ledger is loaded to rebuild it: what the first add after a fetch or a plain ``git notes`` write pays)
  and warm, through git (``git tokens``) and as ``python -m gitokens``;
- ``git commit --allow-empty`` without the hook, with the hook and nothing queued, and with the hook
  attaching one queued record (``add --pending``), and the ``git tokens add`` that follows a hook attach.

The repository is built once per parameter set (bench/make_ledger.py, cached under --work-dir) and each run
works on a fresh copy of it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from make_ledger import add_spec_arguments, prepare, scratch_copy
from timing import Timing, header, measure, ratio_line, run

from gitokens.ledger.record import Record, format_timestamp, new_id

ADD_ARGS = ("add", "--input", "100", "--output", "20", "--model", "m")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_spec_arguments(parser, commits=100_000)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per measurement (default 15)")
    parser.add_argument("--cold-runs", type=int, default=5, help="timed cold adds (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (default: delete it)")
    parser.add_argument("--json", type=Path, help="also write the results (medians, mins, samples) here")
    args = parser.parse_args(argv)

    work_dir, pristine, meta, env = prepare(args)
    python = sys.executable
    print(f"python: {python} ({sys.version.split()[0]}); git: {_out(['git', '--version'], env, work_dir).strip()}")
    repo = scratch_copy(pristine, work_dir / "scratch" / "bench-add")
    results: dict[str, Timing] = {}
    try:
        tip0 = _out(["git", "rev-parse", "refs/notes/tokens"], env, repo).strip()
        head = _out(["git", "rev-parse", "HEAD"], env, repo).strip()
        cache = repo / ".git" / "gitokens" / "cache"

        header("floors")
        results["py_pass"] = measure("python -c pass", [python, "-c", "pass"], env=env, cwd=repo, runs=args.runs)
        results["py_floor"] = measure(
            "python -c 'import pygit2, click'  (python floor)",
            [python, "-c", "import pygit2, click"],
            env=env,
            cwd=repo,
            runs=args.runs,
        )
        results["py_cli_import"] = measure(
            "python -c 'import gitokens.cli'",
            [python, "-c", "import gitokens.cli"],
            env=env,
            cwd=repo,
            runs=args.runs,
        )

        def note_line(i: int) -> str:
            return Record(
                id=new_id(),
                ts=format_timestamp(datetime.now(UTC)),
                commit=head,
                branch="main",
                author="bench@example.com",
                model="m",
                input_tokens=100,
                output_tokens=20,
            ).to_line()

        results["git_notes"] = measure(
            "git notes --ref tokens append -m <line> HEAD  (git floor)",
            lambda i: ["git", "notes", "--ref", "tokens", "append", "-m", note_line(i), "HEAD"],
            env=env,
            cwd=repo,
            runs=args.runs,
        )
        _git(env, repo, "update-ref", "refs/notes/tokens", tip0)  # back to the generated ledger

        header("git tokens add")
        results["add_first"] = measure(
            "git tokens add, first run on this ledger (cold)",
            ["git", "tokens", *ADD_ARGS],
            env=env,
            cwd=repo,
            runs=1,
            warmup=0,
        )
        results["add_cold"] = measure(
            "git tokens add, cold (totals cache removed)",
            ["git", "tokens", *ADD_ARGS],
            env=env,
            cwd=repo,
            runs=args.cold_runs,
            warmup=0,
            before=lambda i: shutil.rmtree(cache, ignore_errors=True),
        )
        results["add_warm"] = measure(
            "git tokens add, warm", ["git", "tokens", *ADD_ARGS], env=env, cwd=repo, runs=args.runs
        )
        results["add_warm_m"] = measure(
            "python -m gitokens add, warm", [python, "-m", "gitokens", *ADD_ARGS], env=env, cwd=repo, runs=args.runs
        )
        results["add_pending"] = measure(
            "git tokens add --pending", ["git", "tokens", *ADD_ARGS, "--pending"], env=env, cwd=repo, runs=args.runs
        )
        _clear_queue(repo)
        print(f"  (a warm add prints: {_out(['git', 'tokens', *ADD_ARGS], env, repo).strip()!r})")

        header("post-commit hook (git commit --allow-empty -m x)")
        commit = ["git", "commit", "-q", "--allow-empty", "-m", "x"]
        results["commit_nohook"] = measure("git commit, no hook", commit, env=env, cwd=repo, runs=args.runs)
        run(["git", "tokens", "install", "--no-prompt"], env=env, cwd=repo)
        results["commit_hook_empty"] = measure(
            "git commit, hook installed, nothing queued", commit, env=env, cwd=repo, runs=args.runs
        )
        pending = ["git", "tokens", *ADD_ARGS, "--pending"]
        results["commit_hook_pending"] = measure(
            "git commit, hook attaches 1 queued record",
            commit,
            env=env,
            cwd=repo,
            runs=args.runs,
            before=lambda i: run(pending, env=env, cwd=repo),
        )
        _check_queue_empty(repo)

        def commit_with_pending(i: int) -> None:
            run(pending, env=env, cwd=repo)
            run(commit, env=env, cwd=repo)

        results["add_after_hook"] = measure(
            "git tokens add right after a hook attached a record",
            ["git", "tokens", *ADD_ARGS],
            env=env,
            cwd=repo,
            runs=args.cold_runs,
            warmup=0,
            before=commit_with_pending,
        )
        run(["git", "tokens", "uninstall"], env=env, cwd=repo)
    finally:
        if not args.keep:
            shutil.rmtree(repo, ignore_errors=True)

    r = results
    header("ratios (medians)", columns=False)
    print(ratio_line("git tokens add (warm) / python floor", r["add_warm"], r["py_floor"]))
    print(ratio_line("git tokens add (warm) / git notes append", r["add_warm"], r["git_notes"]))
    print(ratio_line("python -m gitokens add (warm) / python floor", r["add_warm_m"], r["py_floor"]))
    print(ratio_line("python -m gitokens add (warm) / git notes append", r["add_warm_m"], r["git_notes"]))
    print(ratio_line("git tokens add (cold) / git tokens add (warm)", r["add_cold"], r["add_warm"]))
    print(ratio_line("git tokens add after a hook attach / warm add", r["add_after_hook"], r["add_warm"]))
    print(ratio_line("import gitokens.cli / import pygit2, click", r["py_cli_import"], r["py_floor"]))
    added_empty = r["commit_hook_empty"].median - r["commit_nohook"].median
    added_pending = r["commit_hook_pending"].median - r["commit_nohook"].median
    print(f"{'hook adds to a commit, nothing queued':<58} {added_empty * 1000:>7.1f} ms")
    print(f"{'hook adds to a commit, 1 queued record':<58} {added_pending * 1000:>7.1f} ms")
    if args.json:
        data = {k: {"median": t.median, "min": t.min, "samples": t.samples} for k, t in results.items()}
        args.json.write_text(json.dumps({"repository": meta, "results": data}, indent=2) + "\n")
    return 0


def _out(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    return subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.PIPE).stdout.decode()


def _git(env: dict[str, str], repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], env=env, cwd=repo, check=True)


def _queue(repo: Path) -> Path:
    return repo / ".git" / "gitokens" / "pending"


def _clear_queue(repo: Path) -> None:
    shutil.rmtree(_queue(repo), ignore_errors=True)


def _check_queue_empty(repo: Path) -> None:
    left = [p.name for p in _queue(repo).glob("*")] if _queue(repo).is_dir() else []
    if left:
        print(f"warning: the hook left {len(left)} file(s) in the queue: {left[:3]}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
