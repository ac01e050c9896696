"""How long the GitHub Action's `git tokens ci` takes, against `git tokens report --format markdown` and
`git log --notes=tokens --format=%N` on the same ledger, in the same run.

    python bench/bench_ci.py                      # 100,000 commits / notes, 300,000 records, 3 runs
    python bench/bench_ci.py --commits 20000 --runs 5

`ci` runs as on a push to the default branch with no remote (the fetch is the network's business):
it loads the ledger, looks for squash merges among the pushed commits, writes the Markdown report and
the HTML dashboard, and checks a budget given on the command line and a month budget from .gitokens.yml.
Repeated runs find the report's columns cache warm, as a second run in one job would; a runner starts
each job with a fresh clone, so the first (cold) run is the one a workflow pays, unless the Action
restored the cache an earlier run saved: measured on a clone one record ahead of the one that ran, given
that one's `.git/gitokens/cache`.
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
from timing import header, measure, ratio_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_spec_arguments(parser, commits=100_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement (default 3)")
    args = parser.parse_args(argv)
    work_dir, pristine, _, env = prepare(args)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    repo = scratch_copy(pristine, work_dir / "scratch" / "bench-ci")
    (repo / ".gitokens.yml").write_text("budgets:\n  month: {usd: 1000000000}\n")
    temp = work_dir / "scratch" / "bench-ci-runner"
    temp.mkdir(parents=True, exist_ok=True)
    tip = git(repo, "rev-parse", "HEAD", env=env).strip()
    before = git(repo, "rev-parse", "HEAD~20", env=env).strip()
    (temp / "event.json").write_text(json.dumps({"ref": "refs/heads/main", "before": before, "after": tip}))
    ci_env = env | {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(temp / "event.json"),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": tip,
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
        "GITHUB_OUTPUT": str(temp / "output"),
        "RUNNER_TEMP": str(temp),
        "GITOKENS_BUDGET_USD": "1000000",
    }
    runs = args.runs
    header("commands")
    floor = measure(
        "git log --notes=tokens --format=%N",
        ["git", "log", "--notes=tokens", "--format=%N"],
        env=env,
        cwd=repo,
        runs=runs,
    )
    cold = measure(
        "git tokens ci: first run (no caches)", ["git", "tokens", "ci"], env=ci_env, cwd=repo, runs=1, warmup=0
    )
    # A runner's fresh clone given the cache an earlier run saved (the Action's `cache` input): a clone one
    # record ahead of the one that ran, with that one's .git/gitokens/cache copied in.
    restored = scratch_copy(pristine, work_dir / "scratch" / "bench-ci-restored")
    add = ["git", "tokens", "add", "--input", "100", "--output", "20", "--model", "gpt-4o"]
    subprocess.run(add, env=env, cwd=restored, check=True, capture_output=True)
    shutil.rmtree(restored / ".git" / "gitokens", ignore_errors=True)  # what `add` kept: a fresh clone has none
    shutil.copytree(repo / ".git" / "gitokens" / "cache", restored / ".git" / "gitokens" / "cache")
    (restored / ".gitokens.yml").write_text((repo / ".gitokens.yml").read_text())
    ci_restored = measure(
        "git tokens ci: fresh clone, restored cache",
        ["git", "tokens", "ci"],
        env=ci_env,
        cwd=restored,
        runs=1,
        warmup=0,
    )
    ci = measure("git tokens ci: repeated", ["git", "tokens", "ci"], env=ci_env, cwd=repo, runs=runs)
    report = ["git", "tokens", "report", "--format", "markdown"]
    fresh = scratch_copy(pristine, work_dir / "scratch" / "bench-ci-report")
    report_cold = measure(
        "git tokens report --format markdown: first run", report, env=env, cwd=fresh, runs=1, warmup=0
    )
    markdown = measure("git tokens report --format markdown: repeated", report, env=env, cwd=repo, runs=runs)
    header("ratios", columns=False)
    print(ratio_line("ci first run / git log --notes", cold, floor))
    print(ratio_line("ci first run / report --format markdown first run", cold, report_cold))
    print(ratio_line("ci fresh clone, restored cache / git log --notes", ci_restored, floor))
    print(ratio_line("ci repeated / git log --notes", ci, floor))
    print(ratio_line("ci repeated / report --format markdown repeated", ci, markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
