"""Whether this checkout's gitokens writes the same reports as a baseline installation, byte for byte: the
report in all five formats at a fixed `now`, built cold (nothing cached), from the columns cache and from
a loaded ledger; the columns cache's arrays; and `ci`'s Markdown report, dashboard, summary and outputs on
a fresh copy (a push to the default branch, a month budget), also at a fixed `now`.

    python bench/report_identity.py --baseline /path/to/main-venv/bin/python
    python bench/report_identity.py --baseline ... --commits 20000

Each installation runs on its own copy of the benchmark repository, in its own process (``EMIT``); the files
are then compared. The price cache is compared by its answers (its version names the installation's path).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from make_ledger import add_spec_arguments, git, prepare, scratch_copy

# Run by each installation's python: argv = repository, output folder, event file.
EMIT = r"""
import hashlib, json, os, re, shutil, sys
from datetime import UTC, datetime
from pathlib import Path
import numpy as np
from gitokens.ci import job
from gitokens.config import Budget
from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.report import cache, pipeline

repo_path, out, event = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
out.mkdir(parents=True, exist_ok=True)
NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
state = repo_path / ".git" / "gitokens"

def emit(tag, loaded, repo):
    for fmt in ("json", "text", "markdown", "html", "csv"):
        (out / f"report-{tag}.{fmt}").write_text(pipeline.run(repo, loaded, fmt=fmt, now=NOW, tz_name="UTC"))

shutil.rmtree(state, ignore_errors=True)
repo = open_repo(str(repo_path))
ahead = getattr(pipeline, "ahead", None)  # what the command line gives a cold report, where it exists
beside = ahead(repo, formats=("text", "markdown", "html")) if ahead else None
emit("cold", cache.load(repo, beside=beside) if ahead else cache.load(repo), repo)
getattr(cache, "written", lambda: None)()
with np.load(next((state / "cache").glob("columns-*.npz"))) as data:
    digest = [f"{k} {data[k].dtype} {data[k].shape} {hashlib.sha256(data[k].tobytes()).hexdigest()}"
              for k in sorted(data.files)]
(out / "columns-cache.txt").write_text("\n".join(digest) + "\n")
prices = json.loads(next((state / "cache").glob("prices-*.json")).read_text())
(out / "prices.json").write_text(json.dumps(prices["models"], sort_keys=True))
emit("warm", cache.load(open_repo(str(repo_path))), open_repo(str(repo_path)))
emit("ledger", store.load(open_repo(str(repo_path))), open_repo(str(repo_path)))

shutil.rmtree(state, ignore_errors=True)
runner = out / "runner"
runner.mkdir()
env = {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": event, "GITHUB_REF": "refs/heads/main",
       "GITHUB_STEP_SUMMARY": str(runner / "summary.md"), "GITHUB_OUTPUT": str(runner / "output"),
       "RUNNER_TEMP": str(runner)}
settings = job.Settings(budget=Budget(usd=1_000_000))
outcome = job.run(open_repo(str(repo_path)), settings, env, now=NOW)
(out / "ci-log.txt").write_text("\n".join(outcome.log) + "\n")
# The outputs' heredoc delimiters are random, and the paths are each installation's runner folder.
output = re.sub(r"gitokens_[0-9a-f]{32}", "gitokens_X", (runner / "output").read_text())
(runner / "output").write_text(output.replace(str(runner), "RUNNER"))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_spec_arguments(parser, commits=100_000)
    parser.add_argument("--baseline", required=True, help="the python of the baseline installation's virtualenv")
    args = parser.parse_args(argv)
    work_dir, pristine, _, env = prepare(args)
    scratch = work_dir / "scratch" / "report-identity"
    folders = {}
    for name, python in (("before", str(Path(args.baseline).absolute())), ("after", sys.executable)):
        repo = scratch_copy(pristine, scratch / name / "repo")  # one name: the report shows the folder's
        (repo / ".gitokens.yml").write_text("budgets:\n  month: {usd: 1000000000}\n")
        tip = git(repo, "rev-parse", "HEAD", env=env).strip()
        before = git(repo, "rev-parse", "HEAD~20", env=env).strip()
        event = scratch / f"{name}-event.json"
        event.write_text(json.dumps({"ref": "refs/heads/main", "before": before, "after": tip}))
        folders[name] = scratch / f"{name}-out"
        shutil.rmtree(folders[name], ignore_errors=True)  # an earlier run's
        subprocess.run(
            [python, "-c", EMIT, str(repo), str(folders[name]), str(event)],
            env=dict(env) | {"PATH": os.pathsep.join([str(Path(python).parent), env["PATH"]])},
            cwd=repo,
            check=True,
        )
    names = sorted(str(p.relative_to(folders["before"])) for p in folders["before"].rglob("*") if p.is_file())
    differ = [n for n in names if (folders["before"] / n).read_bytes() != (folders["after"] / n).read_bytes()]
    for name in names:
        size = (folders["before"] / name).stat().st_size
        print(f"{'DIFFERS' if name in differ else 'same   '} {name} ({size:,} bytes)")
    print(f"{len(names) - len(differ)} of {len(names)} files byte for byte the same")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
