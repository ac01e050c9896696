"""Publishing a ledger to a database, and reporting over many published repositories.

Measured, as subprocesses of the installed ``git tokens`` on a fresh copy of the repository (no caches, as
on a CI runner), in one run:

- ``git tokens publish`` of the whole ledger into an empty SQLite file and an empty PostgreSQL database,
  then again after 1,000 new records, against ``git log --notes=tokens --format=%N`` dumping the ledger
  (the DESIGN's baseline for reading a ledger);
- ``git tokens report --database --format json`` over REPOS repositories holding TOTAL records between
  them (one smaller ledger published under REPOS names) against ``git tokens report --format json`` of one
  ledger of about that size (the ``--commits``/``--records`` repository), with its caches cold and warm.

PostgreSQL is a throwaway cluster (Debian's initdb/pg_ctl, as the tests start it); ``--no-postgres``
skips it.

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


def across(args: argparse.Namespace, one: Path, env: dict[str, str], work: Path) -> None:
    spec = LedgerSpec(commits=max(args.each // 3, 1), records=args.each, seed=2)
    small, meta = ensure_ledger(spec, args.work_dir.resolve())
    url = f"sqlite:///{work / 'many.db'}"
    (work / "many.db").unlink(missing_ok=True)
    copy = scratch_copy(small, work / "many")
    git(copy, "remote", "add", "origin", "https://example.com/bench/r0.git", env=env)
    for n in range(args.repos):
        git(copy, "remote", "set-url", "origin", f"https://example.com/bench/r{n}.git", env=env)
        timed(["git", "tokens", "publish", url], env, copy)
    total = args.repos * meta["records"]
    report = ["git", "tokens", "report", "--format", "json", "-o", os.devnull]
    fresh = scratch_copy(one, work / "one")
    cold = timed(report, env, fresh)
    warm = timed(report, env, fresh)
    database = timed([*report, "--database", url], env, fresh)
    print(
        f"report over {args.repos} repositories / {total:,} published records: {database:.2f}s; one ledger of "
        f"{meta_records(one):,} records: {cold:.2f}s cold ({database / cold:.2f}x), {warm:.2f}s warm "
        f"({database / warm:.2f}x)"
    )


def meta_records(repo: Path) -> int:
    import json

    return int(json.loads((repo.parent / "meta.json").read_text())["records"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_spec_arguments(parser, commits=100_000)
    parser.add_argument("--repos", type=int, default=20, help="repositories in the database report (default 20)")
    parser.add_argument("--each", type=int, default=15_000, help="records in each of them (default 15,000)")
    parser.add_argument("--no-postgres", action="store_true", help="only SQLite")
    args = parser.parse_args()
    work, repo, _, env = prepare(args)
    scratch = work / "publish"
    shutil.rmtree(scratch, ignore_errors=True)
    publishing(repo, env, scratch, not args.no_postgres)
    across(args, repo, env, scratch)


if __name__ == "__main__":
    main()
