"""Publishing a ledger to a database, and reporting over many published repositories.

Measured, as subprocesses of the installed ``git tokens`` on a fresh copy of the repository (no caches, as
on a CI runner), in one run:

- ``git tokens publish`` of the whole ledger into an empty SQLite file and an empty PostgreSQL database,
  then again after 1,000 new records, against ``git log --notes=tokens --format=%N`` dumping the ledger
  (the DESIGN's baseline for reading a ledger);
- ``git tokens report --database --format json`` over REPOS repositories of EACH records (REPOS distinct
  ledgers, seeds 100, 101, ..., each published under its own name) against ``git tokens report --format
  json`` of one ledger of REPOS x EACH records, with its caches cold and warm.

PostgreSQL is a throwaway cluster (Debian's initdb/pg_ctl, as the tests start it); ``--no-postgres``
skips it. ``--part publish`` or ``--part across`` runs one half.

    python bench/bench_publish.py                    # 300,000 records; report over 20 x 15,000
    python bench/bench_publish.py --each 50000       # 20 x 50,000 = 1,000,000 published records
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from make_ledger import LedgerSpec, add_spec_arguments, ensure_ledger, git, prepare, scratch_copy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return seconds


def add_records(repo: Path, env: dict[str, str], count: int) -> None:
    """``count`` new records on HEAD, in one notes commit."""
    script = (
        "import sys; from gitokens.git.repo import open_repo; from gitokens.ledger import store;"
        "from gitokens.ledger.record import Record; r = open_repo('.'); head = r.head_commit();"
        f"store.append(r, {{head: [Record(id=f'bench-new-{{n}}', ts='2026-12-01T10:00:00Z', source='api',"
        f" model='gpt-4o', input_tokens=n + 1, output_tokens=1) for n in range({count})]}}, 'bench')"
    )
    subprocess.run([sys.executable, "-c", script], env=env, cwd=repo, check=True)


@contextlib.contextmanager
def databases(work: Path, postgres: bool) -> Iterator[dict[str, str]]:
    """An empty SQLite file, and an empty PostgreSQL database when asked, by kind; removed afterwards."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "bench.db").unlink(missing_ok=True)
    urls = {"sqlite": f"sqlite:///{work / 'bench.db'}"}
    if not postgres:
        yield urls
        return
    from pgserver import running_server

    with running_server() as server:
        urls["postgresql"] = server.url(server.create_database())
        yield urls


def publishing(repo: Path, env: dict[str, str], work: Path, postgres: bool) -> None:
    dump = timed(["git", "log", "--notes=tokens", "--format=%N", "refs/notes/tokens", "--all"], env, repo)
    print(f"baseline git log --notes=tokens --format=%N: {dump:.2f}s")
    with databases(work, postgres) as urls:
        for kind, url in urls.items():
            copy = scratch_copy(repo, work / f"publish-{kind}")
            git(copy, "remote", "add", "origin", f"https://example.com/bench/{kind}.git", env=env)
            first = timed(["git", "tokens", "publish", url], env, copy)
            add_records(copy, env, 1000)
            later = timed(["git", "tokens", "publish", url], env, copy)
            again = timed(["git", "tokens", "publish", url], env, copy)
            print(
                f"{kind:10} first publish {first:7.2f}s ({first / dump:.2f}x the git log)   "
                f"1,000 new {later:5.2f}s ({later / first:.3f}x the first)   nothing new {again:5.2f}s"
            )


def across(args: argparse.Namespace, env: dict[str, str], work: Path) -> None:
    work_dir = args.work_dir.resolve()
    url = f"sqlite:///{work / 'many.db'}"
    (work / "many.db").unlink(missing_ok=True)
    publish = 0.0
    for n in range(args.repos):
        ledger, _ = ensure_ledger(LedgerSpec(commits=max(args.each // 3, 1), records=args.each, seed=100 + n), work_dir)
        copy = scratch_copy(ledger, work / "many")
        git(copy, "remote", "add", "origin", f"https://example.com/bench/r{n}.git", env=env)
        publish += timed(["git", "tokens", "publish", url], env, copy)
    total = args.repos * args.each
    one, meta = ensure_ledger(LedgerSpec(commits=max(total // 3, 1), records=total, seed=1), work_dir)
    report = ["git", "tokens", "report", "--format", "json", "-o", os.devnull]
    fresh = scratch_copy(one, work / "one")
    cold = timed(report, env, fresh)
    warm = timed(report, env, fresh)
    database = timed([*report, "--database", url], env, fresh)
    print(
        f"{args.repos} distinct ledgers of {args.each:,} records published in {publish:.1f}s; report over them "
        f"({total:,} records): {database:.2f}s; one ledger of {meta['records']:,} records: {cold:.2f}s cold "
        f"({database / cold:.2f}x), {warm:.2f}s warm ({database / warm:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_spec_arguments(parser, commits=100_000)
    parser.add_argument("--repos", type=int, default=20, help="repositories in the database report (default 20)")
    parser.add_argument("--each", type=int, default=15_000, help="records in each of them (default 15,000)")
    parser.add_argument("--no-postgres", action="store_true", help="only SQLite")
    parser.add_argument("--part", choices=("all", "publish", "across"), default="all", help="run one half")
    args = parser.parse_args()
    work, repo, _, env = prepare(args)
    scratch = work / "publish"
    shutil.rmtree(scratch, ignore_errors=True)
    if args.part in ("all", "publish"):
        publishing(repo, env, scratch, not args.no_postgres)
    if args.part in ("all", "across"):
        across(args, env, scratch)


if __name__ == "__main__":
    main()
