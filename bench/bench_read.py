"""How long reading the whole ledger takes, against `git log --notes=tokens --format=%N` in the same run.

    python bench/bench_read.py                      # 20,000 commits, a note on each, 60,000 records
    python bench/bench_read.py --commits 100000 --runs 3 --profile

Measured (median and min of ``--runs`` runs after one untimed warm-up):

- the git floor: ``git log --notes=tokens --format=%N`` (HEAD, as the design's target says) and with
  ``--branches`` (every commit that has a note), output to /dev/null;
- ``gitokens.ledger.store.load(open_repo(path))`` in this process, timing only the load (imports and
  ``open_repo`` done before), then split into walking the notes tree and reading the blobs
  (``repo.read_notes``), parsing the lines (``Record.from_line``; and ``json.loads`` alone, the part no
  validation can remove) and the rest of ``load`` (dedupe by id, copies, tombstones);
- the CLI: ``git tokens log --json > /dev/null`` and ``git tokens show`` (the branch summary).

``--profile`` adds a cProfile of one load (top functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from make_ledger import add_spec_arguments, prepare, scratch_copy
from timing import Timing, header, measure, measure_call, ms, ratio_line

if TYPE_CHECKING:
    from gitokens.git.repo import Repo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_spec_arguments(parser, commits=20_000)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per measurement (default 7)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one load")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (default: delete it)")
    parser.add_argument("--json", type=Path, help="also write the results (medians, mins, samples) here")
    args = parser.parse_args(argv)

    work_dir, pristine, meta, env = prepare(args, adopt_env=True)

    from gitokens.git.repo import open_repo
    from gitokens.ledger.record import Record
    from gitokens.ledger.store import load

    repo_path = scratch_copy(pristine, work_dir / "scratch" / "bench-read")
    results: dict[str, Timing] = {}
    runs = args.runs
    try:
        header("git floor")
        dumped = {
            variant: _count_lines(["git", "log", *extra, "--notes=tokens", "--format=%N"], env, repo_path)
            for variant, extra in (("head", []), ("branches", ["--branches"]))
        }
        results["git_log"] = measure(
            "git log --notes=tokens --format=%N",
            ["git", "log", "--notes=tokens", "--format=%N"],
            env=env,
            cwd=repo_path,
            runs=runs,
        )
        results["git_log_branches"] = measure(
            "git log --branches --notes=tokens --format=%N",
            ["git", "log", "--branches", "--notes=tokens", "--format=%N"],
            env=env,
            cwd=repo_path,
            runs=runs,
        )
        print(
            f"  (ledger lines dumped: {dumped['head']:,} from HEAD, {dumped['branches']:,} with --branches, "
            f"of {meta['records']:,})"
        )

        header("gitokens, in process (after import and open_repo)")

        results["load_cold"] = _measure_fresh(
            "store.load(repo, use_cache=False): parse everything",
            lambda repo: load(repo, use_cache=False),
            repo_path,
            runs,
        )
        results["load"] = _measure_fresh(
            "store.load(repo): parsed notes cached", lambda repo: load(repo), repo_path, runs
        )
        results["read"] = _measure_fresh(
            "  walk tree + read blobs: list(repo.read_notes())",
            lambda repo: list(repo.read_notes()),
            repo_path,
            runs,
        )
        notes = list(open_repo(repo_path).read_notes())
        lines = [(commit, raw.decode("utf-8")) for commit, blob in notes for raw in blob.split(b"\n") if raw.strip()]
        results["split"] = measure_call(
            "  split blobs into lines + decode",
            lambda: [(c, r.decode()) for c, b in notes for r in b.split(b"\n") if r.strip()],
            runs=runs,
        )
        results["parse"] = measure_call(
            "  Record.from_line on every line",
            lambda: [Record.from_line(text, commit=commit) for commit, text in lines],
            runs=runs,
        )
        results["json"] = measure_call(
            "    of which json.loads alone", lambda: [json.loads(text) for _, text in lines], runs=runs
        )
        records = [Record.from_line(text, commit=commit) for commit, text in lines]
        results["to_line"] = measure_call(
            "  (for scale: Record.to_line on every record)", lambda: [r.to_line() for r in records], runs=runs
        )
        rest = results["load_cold"].median - results["read"].median - results["split"].median - results["parse"].median
        print(f"{'  rest of load (dedupe, copies, tombstones), by difference':<58} {ms(max(rest, 0.0)):>10}")
        gc.disable()
        try:
            results["load_nogc"] = _measure_fresh(
                "store.load(repo) with the cyclic GC disabled", lambda repo: load(repo), repo_path, runs
            )
        finally:
            gc.enable()
        ledger = load(open_repo(repo_path))
        print(
            f"  (loaded {len(ledger.entries):,} records in effect, {len(ledger.removed):,} removed, "
            f"{len(ledger.tombstones):,} tombstones, {len(ledger.invalid):,} invalid lines)"
        )

        header("gitokens CLI")
        results["cli_log_json"] = measure(
            "git tokens log --json > /dev/null", ["git", "tokens", "log", "--json"], env=env, cwd=repo_path, runs=runs
        )
        results["cli_show"] = measure(
            "git tokens show  (branch summary)", ["git", "tokens", "show"], env=env, cwd=repo_path, runs=runs
        )
        results["cli_floor"] = measure(
            "python -c 'import gitokens.cli'  (import floor)",
            [sys.executable, "-c", "import gitokens.cli"],
            env=env,
            cwd=repo_path,
            runs=runs,
        )

        if args.profile:
            header("cProfile of one store.load (top 20 by own time)", columns=False)
            repo = open_repo(repo_path)
            profiler = cProfile.Profile()
            profiler.enable()
            load(repo)
            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(20)
            print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[:6000])
    finally:
        if not args.keep:
            shutil.rmtree(repo_path, ignore_errors=True)

    r = results
    header("ratios (medians)", columns=False)
    print(ratio_line("store.load, nothing cached / git log", r["load_cold"], r["git_log"]))
    print(ratio_line("store.load, cached / git log", r["load"], r["git_log"]))
    print(ratio_line("store.load, cached / git log --branches", r["load"], r["git_log_branches"]))
    print(ratio_line("git tokens log --json / git log", r["cli_log_json"], r["git_log"]))
    print(ratio_line("git tokens show / git log", r["cli_show"], r["git_log"]))
    print(ratio_line("store.load with GC off / with GC on", r["load_nogc"], r["load"]))
    total = r["load_cold"].median
    for key, label in (
        ("read", "walk + read blobs"),
        ("split", "split + decode"),
        ("parse", "Record.from_line"),
        ("json", "  json.loads part"),
    ):
        print(f"{'share of load: ' + label:<58} {100 * r[key].median / total:>8.0f}%")
    if args.json:
        data = {k: {"median": t.median, "min": t.min, "samples": t.samples} for k, t in results.items()}
        args.json.write_text(json.dumps({"repository": meta, "results": data}, indent=2) + "\n")
    return 0


def _measure_fresh(label: str, fn: Callable[[Repo], object], path: Path, runs: int) -> Timing:
    """Time ``fn(repo)`` on a freshly opened repository each run (libgit2's object cache starts empty)."""
    from gitokens.git.repo import open_repo

    timing = Timing(label)
    for i in range(-1, runs):
        repo = open_repo(path)
        start = time.perf_counter()
        fn(repo)
        elapsed = time.perf_counter() - start
        if i >= 0:
            timing.samples.append(elapsed)
    print(timing.row(), flush=True)
    return timing


def _count_lines(argv: list[str], env: dict[str, str], cwd: Path) -> int:
    out = subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.PIPE).stdout
    return sum(1 for line in out.split(b"\n") if line.strip())


if __name__ == "__main__":
    sys.exit(main())
