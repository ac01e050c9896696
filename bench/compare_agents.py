"""The other agents' readers against ccusage and against the corpus's ground truth, agent by agent.

For each agent ccusage also reads, ``agentcorpus_more.make`` writes a corpus shaped as the agent writes its
logs into a home of its own; then:

- ours: every log the reader lists (``gitokens.capture.agents.READERS``), each call once per key, summed per
  token kind and priced with the rates gitokens prices with (genai-prices), call by call;
- ccusage: ``ccusage <agent> daily --json --offline --timezone UTC`` with ``HOME`` at the corpus's home (its
  own way of finding each agent's logs), its ``totals``;
- the truth: the calls the generator wrote, once.

Printed per agent: tokens per kind (truth, ours, ccusage), whether ours equal the truth and whether ccusage's
do, ccusage's cost against ours (ccusage prices with LiteLLM's list; both priced only where genai-prices knows
the model), the time ratio of our reader alone to ccusage (each the median of ``--runs`` runs, ccusage's
including its process start), and that of the whole ``git tokens capture --agent AGENT --all-history``
command, process start included, to ccusage. A report, not a test: it exits 0.

Run it from the repository root: ``python bench/compare_agents.py [--calls 2000] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentcorpus_more import AGENTS, KINDS, Call, Spec, make
from bench_capture import find_ccusage

from gitokens.capture.agents import READERS, AgentCall
from gitokens.config import Config
from gitokens.pricing import Pricer

CCUSAGE_KINDS = {
    "input": "inputTokens",
    "output": "outputTokens",
    "cache_read": "cacheReadTokens",
    "cache_write": "cacheCreationTokens",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="model calls per agent (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each reader (default 3)")
    parser.add_argument("--agent", action="append", choices=AGENTS, help="only these agents (default all)")
    parser.add_argument("--ccusage", type=Path, help="the ccusage executable (default: look for it)")
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).resolve().parent / ".work")
    args = parser.parse_args(argv)
    ccusage = find_ccusage(args.ccusage, args.work_dir.resolve())
    if ccusage is None:
        print("ccusage: not found (see bench/README.md); comparing with the ground truth only")
    base = args.work_dir.resolve() / "compare-agents" / f"calls{args.calls}-seed{args.seed}"
    shutil.rmtree(base, ignore_errors=True)
    pricer = Pricer(Config())
    rows = []
    for agent in args.agent or AGENTS:
        home = base / agent
        truth = make(agent, home, Spec(calls=args.calls, seed=args.seed))
        ours, our_time = _timed(lambda home=home, agent=agent: read(agent, home), args.runs)
        capture_time = _capture_time(agent, home, base / f"{agent}-repo", args.runs)
        theirs, their_time = (None, None)
        if ccusage is not None:
            theirs, their_time = _timed(lambda home=home, agent=agent: run_ccusage(ccusage, agent, home), args.runs)
        rows.append(_row(agent, truth, ours, theirs, pricer, our_time, their_time) | {"capture_time": capture_time})
    _print(rows, args)
    return 0


def _capture_time(agent: str, home: Path, repo: Path, runs: int) -> float:
    """The median time of the whole command a user runs, ``git tokens capture --agent AGENT --all-history``
    (its process start and imports included, as ccusage's time includes its own), each run in a new
    repository so that every run reads all the logs."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TZ": "UTC",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    times = []
    for _ in range(max(runs, 1)):
        shutil.rmtree(repo, ignore_errors=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "start"], check=True, env=env)
        command = [sys.executable, "-m", "gitokens", "capture", "--agent", agent, "--all-history"]
        began = time.perf_counter()
        subprocess.run(command, cwd=repo, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def read(agent: str, home: Path) -> list[AgentCall]:
    reader, seen = READERS[agent], {}
    for path in reader.logs({"HOME": str(home)}):
        for call in reader.read(path).calls:
            seen.setdefault(call.key, call)
    return list(seen.values())


def run_ccusage(ccusage: Path, agent: str, home: Path) -> dict[str, Any]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "NO_COLOR": "1", "TZ": "UTC"}
    command = [str(ccusage), agent, "daily", "--json", "--offline", "--timezone", "UTC"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    try:
        totals: dict[str, Any] = json.loads(done.stdout).get("totals") or {}
    except ValueError:
        totals = {"error": (done.stderr or done.stdout).strip()[:200]}
    return totals


def _timed(work: Any, runs: int) -> tuple[Any, float]:
    times, result = [], None
    for _ in range(max(runs, 1)):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return result, statistics.median(times)


def _sum_truth(calls: list[Call]) -> dict[str, int]:
    return {kind: sum(getattr(c, kind) for c in calls) for kind in KINDS}


def _sum_ours(calls: list[AgentCall]) -> dict[str, int]:
    names = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
    return {kind: sum(getattr(c, name) for c in calls) for kind, name in zip(KINDS, names, strict=True)}


def _cost(pricer: Pricer, calls: list[AgentCall]) -> float | None:
    """Our cost: each call at its model's genai-prices rates on its day; None when a model has no price."""
    total = 0.0
    for call in calls:
        rates = (
            pricer.rates(call.model or "", datetime.fromtimestamp(call.epoch, UTC), call.provider)
            if call.model
            else None
        )
        if rates is None:
            return None
        read = rates.cache_read if rates.cache_read is not None else rates.input
        write = rates.cache_write if rates.cache_write is not None else rates.input
        total += (
            call.input_tokens * rates.input
            + call.output_tokens * rates.output
            + call.cache_read_tokens * read
            + call.cache_write_tokens * write
        ) / 1e6
    return total


def _row(
    agent: str,
    truth: list[Call],
    ours: list[AgentCall],
    theirs: dict[str, Any] | None,
    pricer: Pricer,
    our_time: float,
    their_time: float | None,
) -> dict[str, Any]:
    return {
        "agent": agent,
        "calls": len(truth),
        "truth": _sum_truth(truth),
        "ours": _sum_ours(ours),
        "theirs": {k: theirs.get(v) for k, v in CCUSAGE_KINDS.items()} if theirs and "error" not in theirs else None,
        "error": theirs.get("error") if theirs else None,
        "our_cost": _cost(pricer, ours),
        "their_cost": theirs.get("totalCost") if theirs else None,
        "our_time": our_time,
        "their_time": their_time,
    }


def _print(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"corpus: {args.calls} calls per agent, seed {args.seed}; times: median of {args.runs} runs\n")
    print("tokens per kind (input / output / cache read / cache write; reasoning is inside output):")
    for row in rows:
        for who in ("truth", "ours", "theirs"):
            counts = row[who]
            shown = (
                " / ".join(f"{counts[k]:,}" if counts and counts.get(k) is not None else "-" for k in KINDS[:4])
                if counts
                else row["error"] or "-"
            )
            extra = f" (reasoning {counts['reasoning']:,})" if counts and who != "theirs" else ""
            print(f"  {row['agent']:<9} {who:<7} {shown}{extra}")
    print()
    header = (
        f"{'agent':<9} {'calls':>6}  {'ours = truth':<12} {'ccusage = truth':<15} "
        f"{'total tokens ccusage/ours':>25} {'cost diff %':>11} {'time ours/ccusage':>17} {'capture/ccusage':>15}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ours, truth, theirs = row["ours"], row["truth"], row["theirs"]
        same = all(ours[k] == truth[k] for k in KINDS)
        their_same = "-" if theirs is None else str(all(theirs[k] == truth[k] for k in KINDS[:4]))
        total = sum(ours[k] for k in KINDS[:4])
        ratio = "-" if theirs is None else f"{sum(theirs[k] or 0 for k in KINDS[:4]) / max(total, 1):.4f}"
        cost = "-"
        if row["our_cost"] and row["their_cost"] is not None:
            cost = f"{(row['their_cost'] - row['our_cost']) / row['our_cost'] * 100:+.2f}"
        speed = "-" if not row["their_time"] else f"{row['our_time'] / row['their_time']:.3f}"
        whole = "-" if not row["their_time"] else f"{row['capture_time'] / row['their_time']:.3f}"
        print(
            f"{row['agent']:<9} {row['calls']:>6}  {same!s:<12} {their_same:<15} {ratio:>25} {cost:>11} {speed:>17}"
            f" {whole:>15}"
        )


if __name__ == "__main__":
    sys.exit(main())
