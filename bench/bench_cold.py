"""The report and `git tokens ci` with nothing cached (a runner's fresh clone), this checkout's gitokens
against a baseline installation, in alternating pairs, each against `git log --all --notes=tokens
--format=%N` measured in the same round.

    python bench/bench_cold.py --baseline /path/to/main-venv/bin/python --runs 5
    python bench/bench_cold.py --baseline ... --commits 20000

A cold run moves by a third between runs on a shared machine, so each round runs both installations one
after the other (the order alternating between rounds) and the table gives medians and minimums. Each
round, on its own copies of the benchmark repository (one per installation, so neither reads the
other's caches):

- `git log --all --notes=tokens --format=%N` (the target's floor) and `git log --notes=tokens
  --format=%N` (HEAD only, what the other benchmarks divide by);
- `git tokens report --format json` after `rm -rf .git/gitokens` (cold), then again (warm);
- `git tokens ci` (a push to the default branch, no remote, a budget; as `bench_ci.py`) after
  `rm -rf .git/gitokens` (a fresh clone), and on a copy one record ahead given the cache the first copy's
  `ci` left (the Action's restored cache).

Wall time and peak RSS (the command and the processes it waited for, ``ru_maxrss`` from ``os.wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench_report import LAUNCHER
from make_ledger import add_spec_arguments, git, prepare, scratch_copy

GIT_LOG_ALL = ["git", "log", "--all", "--notes=tokens", "--format=%N"]
GIT_LOG = ["git", "log", "--notes=tokens", "--format=%N"]
REPORT = ["git", "tokens", "report", "--format", "json"]
CI = ["git", "tokens", "ci"]
ADD = ["git", "tokens", "add", "--input", "100", "--output", "20", "--model", "gpt-4o"]


def timed(python: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command, launched from a small process (see bench_report)."""
    done = subprocess.run(
        [python, "-S", "-c", LAUNCHER, *argv], env=dict(env), cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"error: {' '.join(argv)} could not be launched:\n{done.stderr}")
    elapsed, rss, code = json.loads(done.stdout.splitlines()[-1])
    if code != 0:
        raise SystemExit(f"error: {' '.join(argv)} exited {code} in {cwd}")
    return float(elapsed), rss / 1024


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_spec_arguments(parser, commits=100_000)
    parser.add_argument("--baseline", required=True, help="the python of the baseline installation's virtualenv")
    parser.add_argument("--runs", type=int, default=3, help="alternating rounds (default 3)")
    args = parser.parse_args(argv)
    work_dir, pristine, _, env = prepare(args)
    versions = {"before": str(Path(args.baseline).absolute()), "after": sys.executable}
    scratch = work_dir / "scratch" / "bench-cold"
    envs, repos, restored, ci_envs = {}, {}, {}, {}
    for name, python in versions.items():
        bindir = str(Path(python).parent)
        envs[name] = dict(env) | {"PATH": os.pathsep.join([bindir, env.get("PATH", "")])}
        repos[name] = scratch_copy(pristine, scratch / name)
        (repos[name] / ".gitokens.yml").write_text("budgets:\n  month: {usd: 1000000000}\n")
        restored[name] = scratch_copy(pristine, scratch / f"{name}-restored")
        subprocess.run(ADD, env=envs[name], cwd=restored[name], check=True, capture_output=True)
        (restored[name] / ".gitokens.yml").write_text((repos[name] / ".gitokens.yml").read_text())
        ci_envs[name] = _ci_env(envs[name], repos[name], scratch / f"{name}-runner")
    samples: dict[str, list[tuple[float, float]]] = {}
    print(f"load average at the start: {load()}")
    for round_no in range(args.runs):
        order = list(versions) if round_no % 2 == 0 else list(reversed(versions))
        samples.setdefault("git log --all", []).append(timed(sys.executable, GIT_LOG_ALL, env, repos["after"]))
        samples.setdefault("git log (HEAD)", []).append(timed(sys.executable, GIT_LOG, env, repos["after"]))
        for name in order:
            python, repo = versions[name], repos[name]
            shutil.rmtree(repo / ".git" / "gitokens", ignore_errors=True)
            samples.setdefault(f"report cold, {name}", []).append(timed(python, REPORT, envs[name], repo))
            samples.setdefault(f"report warm, {name}", []).append(timed(python, REPORT, envs[name], repo))
            shutil.rmtree(repo / ".git" / "gitokens", ignore_errors=True)
            samples.setdefault(f"ci fresh clone, {name}", []).append(timed(python, CI, ci_envs[name], repo))
            ahead = restored[name]
            shutil.rmtree(ahead / ".git" / "gitokens", ignore_errors=True)
            shutil.copytree(repo / ".git" / "gitokens" / "cache", ahead / ".git" / "gitokens" / "cache")
            samples.setdefault(f"ci restored cache, {name}", []).append(timed(python, CI, ci_envs[name], ahead))
        print(f"round {round_no + 1}: load average {load()}", flush=True)
    _table(samples)
    return 0


def _ci_env(env: dict[str, str], repo: Path, temp: Path) -> dict[str, str]:
    """A push to the default branch's last 20 commits, as GitHub describes it to the Action."""
    temp.mkdir(parents=True, exist_ok=True)
    tip = git(repo, "rev-parse", "HEAD", env=env).strip()
    before = git(repo, "rev-parse", "HEAD~20", env=env).strip()
    (temp / "event.json").write_text(json.dumps({"ref": "refs/heads/main", "before": before, "after": tip}))
    return env | {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(temp / "event.json"),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": tip,
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
        "GITHUB_OUTPUT": str(temp / "output"),
        "RUNNER_TEMP": str(temp),
        "GITOKENS_BUDGET_USD": "1000000",
    }


def _table(samples: dict[str, list[tuple[float, float]]]) -> None:
    floor = statistics.median(s for s, _ in samples["git log --all"])
    head = statistics.median(s for s, _ in samples["git log (HEAD)"])
    print(f"\n{'':<32} {'median':>9} {'min':>9} {'/ git log --all':>16} {'/ git log':>10} {'peak RSS':>9}  samples")
    for label, runs in samples.items():
        seconds = [s for s, _ in runs]
        median = statistics.median(seconds)
        row = f"{label:<32} {median * 1000:>7,.0f}ms {min(seconds) * 1000:>7,.0f}ms"
        row += f" {median / floor:>15.2f}x {median / head:>9.2f}x {max(m for _, m in runs):>6,.0f}MiB  "
        print(row + " ".join(f"{s * 1000:,.0f}" for s in seconds))


if __name__ == "__main__":
    raise SystemExit(main())
