"""How long `git tokens export` and `import` take on a large ledger, and what `gitokens.record` costs a caller.

    python bench/bench_io.py                        # 20,000 commits, a note on each, 60,000 records
    python bench/bench_io.py --commits 100000 --runs 3

Measured, each after one untimed warm-up (median and min):

- the git floor: ``git log --notes=tokens --format=%N`` dumping the same ledger to a file;
- ``git tokens export`` to a file as JSONL, JSON and CSV;
- ``git tokens import`` of the JSONL export into a copy of the repository whose ledger was deleted (every
  record lands on the commit it names), and the same import again (every record already there);
- in-process, per call: ``gitokens.record(...)`` queueing one record, against the floor of writing one
  small file atomically (``mkstemp`` + ``os.replace``) in the same folder, and ``gitokens.usage_fields``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from make_ledger import add_spec_arguments, prepare, scratch_copy
from timing import Timing, header, measure, measure_call, ratio_line, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_spec_arguments(parser, commits=20_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    parser.add_argument("--calls", type=int, default=300, help="timed in-process calls (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies (default: delete them)")
    args = parser.parse_args(argv)

    work_dir, pristine, _, env = prepare(args)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    source = scratch_copy(pristine, work_dir / "scratch" / "bench-io-source")
    target = scratch_copy(pristine, work_dir / "scratch" / "bench-io-target")
    out = work_dir / "scratch" / "bench-io-out"
    out.mkdir(parents=True, exist_ok=True)
    r: dict[str, Timing] = {}
    try:
        header("export (ledger -> file)")
        dump = ["git", "log", "--all", "--notes=tokens", "--format=%N", f"--output={out / 'git-log.txt'}"]
        r["git_log"] = measure(
            "git log --notes=tokens --format=%N  (git floor)", dump, env=env, cwd=source, runs=args.runs
        )
        for fmt in ("jsonl", "json", "csv"):
            r[fmt] = measure(
                f"git tokens export --format {fmt}",
                ["git", "tokens", "export", "--format", fmt, str(out / f"all.{fmt}")],
                env=env,
                cwd=source,
                runs=args.runs,
            )
        lines = sum(1 for _ in (out / "all.jsonl").open(encoding="utf-8"))
        print(f"  ({lines:,} records exported)")

        header("import (file -> ledger)")
        _git(env, target, "update-ref", "-d", "refs/notes/tokens")
        state = target / ".git" / "gitokens"

        def empty_ledger(i: int) -> None:
            subprocess.run(["git", "update-ref", "-d", "refs/notes/tokens"], env=env, cwd=target, check=False)
            shutil.rmtree(state, ignore_errors=True)

        importing = ["git", "tokens", "import", str(out / "all.jsonl")]
        r["import"] = measure(
            "git tokens import all.jsonl, empty ledger",
            importing,
            env=env,
            cwd=target,
            runs=args.runs,
            before=empty_ledger,
        )
        r["reimport"] = measure(
            "git tokens import all.jsonl again (adds nothing)", importing, env=env, cwd=target, runs=args.runs
        )

        header("Python API, per call (in-process)")
        r.update(_api_calls(target, args.calls))
    finally:
        if not args.keep:
            for path in (source, target, out):
                shutil.rmtree(path, ignore_errors=True)

    header("ratios (medians)", columns=False)
    for fmt in ("jsonl", "json", "csv"):
        print(ratio_line(f"export --format {fmt} / git log --notes dump", r[fmt], r["git_log"]))
    print(ratio_line("import (empty ledger) / git log --notes dump", r["import"], r["git_log"]))
    print(ratio_line("import again / import (empty ledger)", r["reimport"], r["import"]))
    print(ratio_line("gitokens.record / atomic file write", r["record"], r["file_write"]))
    return 0


def _api_calls(repo: Path, calls: int) -> dict[str, Timing]:
    import gitokens
    from gitokens.git.repo import open_repo
    from gitokens.ledger import pending

    response = {
        "model": "gpt-4o",
        "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 1000}},
    }
    folder = pending.queue_dir(open_repo(repo))
    folder.mkdir(parents=True, exist_ok=True)
    line = b'{"id":"x","ts":"2025-01-01T00:00:00Z"}\n'

    def write_file() -> None:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(line)
        os.replace(tmp, folder / f"floor-{os.path.basename(tmp)}.txt")

    results = {
        "file_write": measure_call("write one file atomically  (floor)", write_file, runs=calls),
        "record": measure_call(
            "gitokens.record(1200, 300, model=...)",
            lambda: gitokens.record(1200, 300, model="gpt-4o", repo=repo),
            runs=calls,
        ),
        "usage": measure_call(
            "gitokens.usage_fields(chat completion)", lambda: gitokens.usage_fields(response), runs=calls
        ),
    }
    shutil.rmtree(folder, ignore_errors=True)
    return results


def _git(env: dict[str, str], repo: Path, *args: str) -> None:
    run(["git", *args], env=env, cwd=repo)


if __name__ == "__main__":
    sys.exit(main())
