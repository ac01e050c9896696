"""The other agents' readers against ccusage and against the corpus's ground truth, agent by agent, at one
or more corpus sizes.

For each agent ccusage also reads, ``agentcorpus_more.make`` writes a corpus shaped as the agent writes its
logs into a home of its own (kept under ``--work-dir`` and reused while the generator's source is the same);
then:

- ours: every log the reader lists (``gitokens.capture.agents.READERS``), each call once per key, summed per
  token kind and priced with the rates gitokens prices with (genai-prices), call by call;
- ccusage: ``ccusage <agent> daily --json --offline --timezone UTC`` with ``HOME`` at the corpus's home (its
  own way of finding each agent's logs), its ``totals``;
- the truth: the calls the generator wrote, once.

Printed per size and agent: tokens per kind (truth, ours, ccusage), whether ours equal the truth and whether
ccusage's do, ccusage's cost against ours (ccusage prices with LiteLLM's list; both priced only where
genai-prices knows the model), and the times, each the median (and min) of ``--runs`` runs taken in turn:

- ccusage's whole run (its process start included);
- the reader alone: every log read once in a new process, the interpreter's start and imports left out and
  the cyclic garbage collector off (what ``git tokens capture`` spends reading), and its ratio to ccusage;
- the whole ``git tokens capture --agent AGENT --all-history`` (process start and imports included, as
  ccusage's time includes its own) in a new repository each run, and its ratio to ccusage;
- the floor, for the agents whose logs are a store of one row per call (Goose, Copilot CLI, OpenCode, Kilo)
  and for Droid: the least any reader of every call must do in Python, timed as the reader is (a new
  process, imports left out, GC off), and its ratio to ccusage. A store: open it and fetch the columns a
  call needs from each call's row (``FLOOR_SQL``), nothing made of them. Droid: list the session files and
  read each settings file's and transcript's bytes. A floor above 1.00x means no reader that gives every
  call in Python can be as fast as ccusage's whole run on that corpus.

``--baseline PYTHON`` times the same two with another installation's interpreter (a virtualenv of the code
before a change) in the same runs, and checks that both readers give the same readings: a digest of every
call, position, malformed line and warning of every log. A report, not a test: it exits 0.

Run it from the repository root: ``python bench/compare_agents.py [--calls 2000 [--calls 20000 ...]]``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcorpus_more import Call

    from gitokens.capture.agents import AgentCall
    from gitokens.pricing import Pricer

BENCH = Path(__file__).resolve().parent
CCUSAGE_KINDS = {
    "input": "inputTokens",
    "output": "outputTokens",
    "cache_read": "cacheReadTokens",
    "cache_write": "cacheCreationTokens",
}


@dataclass
class Times:
    """One agent's samples in seconds: ccusage's, the reader's and the whole command's, ours and the
    baseline's; and whether every baseline reading gave the same digest as ours."""

    ccusage: list[float] = field(default_factory=list)
    reader: list[float] = field(default_factory=list)
    capture: list[float] = field(default_factory=list)
    base_reader: list[float] = field(default_factory=list)
    base_capture: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    same: bool | None = None


def main(argv: list[str] | None = None) -> int:
    from agentcorpus_more import AGENTS  # here: the timing process (``--time-read``) loads no test helpers

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, action="append", help="model calls per agent; repeat for a size sweep (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--agent", action="append", choices=AGENTS, help="only these agents (default all)")
    parser.add_argument("--ccusage", type=Path, help="the ccusage executable (default: look for it)")
    parser.add_argument("--baseline", type=Path, help="the Python of another installation to time beside this one")
    parser.add_argument("--work-dir", type=Path, default=BENCH / ".work")
    args = parser.parse_args(argv)
    from bench_capture import find_ccusage

    ccusage = find_ccusage(args.ccusage, args.work_dir.resolve())
    if ccusage is None:
        print("ccusage: not found (see bench/README.md); comparing with the ground truth only")
    print(f"load average at the start: {', '.join(f'{n:.2f}' for n in os.getloadavg())}")
    for calls in args.calls or [2000]:
        rows = [_agent_row(agent, calls, args, ccusage) for agent in args.agent or AGENTS]
        _print(rows, calls, args)
    print(f"\nload average at the end: {', '.join(f'{n:.2f}' for n in os.getloadavg())}")
    return 0


def _agent_row(agent: str, calls: int, args: argparse.Namespace, ccusage: Path | None) -> dict[str, Any]:
    from gitokens.config import Config
    from gitokens.pricing import Pricer

    base = args.work_dir.resolve() / "compare-agents" / f"calls{calls}-seed{args.seed}-{_fingerprint()}"
    home = base / agent
    truth = corpus(agent, home, calls, args.seed)
    ours = read(agent, home)
    theirs = run_ccusage(ccusage, agent, home) if ccusage is not None else None
    times = Times()
    for _ in range(max(args.runs, 1)):
        if ccusage is not None:
            times.ccusage.append(_timed(lambda: run_ccusage(ccusage, agent, home)))
        seconds, mine = time_reader(Path(sys.executable), agent, home)
        times.reader.append(seconds)
        times.capture.append(capture_time(Path(sys.executable), agent, home, base / f"{agent}-repo"))
        if agent in FLOOR_SQL or agent == "droid":
            times.floor.append(floor_time(agent, home))
        if args.baseline is not None:
            seconds, digest = time_reader(args.baseline, agent, home)
            times.base_reader.append(seconds)
            times.base_capture.append(capture_time(args.baseline, agent, home, base / f"{agent}-repo"))
            times.same = times.same is not False and digest == mine
    return _row(agent, truth, ours, theirs, Pricer(Config())) | {"times": times}


def _fingerprint() -> str:
    """The corpus generator's source, hashed: a corpus kept from an earlier run is reused only when it is the
    same generator's."""
    digest = hashlib.sha256()
    for path in (
        BENCH / "agentcorpus_more.py",
        *(BENCH.parent / "tests" / name for name in ("agentlogs.py", "agentlogs_more.py")),
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def corpus(agent: str, home: Path, calls: int, seed: int) -> list[Call]:
    """The agent's corpus under ``home`` and its truth: written (and its truth saved beside it) when missing,
    read back otherwise."""
    from agentcorpus_more import Call, Spec, make

    kept = home.parent / f"{agent}.truth.json"
    if kept.exists() and home.exists():
        return [Call(**row) for row in json.loads(kept.read_text())]
    shutil.rmtree(home, ignore_errors=True)
    truth = make(agent, home, Spec(calls=calls, seed=seed))
    kept.write_text(json.dumps([asdict(call) for call in truth]))
    return truth


def time_reader(python: Path, agent: str, home: Path) -> tuple[float, str]:
    """The time one new process of ``python`` takes to read every log of the agent (its start and imports
    left out), and the digest of what it read."""
    command = [str(python), str(BENCH / "compare_agents.py"), "--time-read", agent, str(home)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=_env(home))
    answer = json.loads(done.stdout)
    return answer["seconds"], answer["digest"]


def _time_read(agent: str, home: str) -> None:
    """In the timing process: read every log once, print the time and the readings' digest as JSON. The cyclic
    garbage collector is off, as ``git tokens capture`` runs the readers (``capture._without_cyclic_gc``): with
    it on, its passes over the calls read so far grow with them (a third of Gemini's reading of 100,000
    calls)."""
    from gitokens.capture.agents import READERS

    reader = READERS[agent]
    gc.disable()
    began = time.perf_counter()
    readings = [(path, reader.read(path)) for path in reader.logs({"HOME": home})]
    seconds = time.perf_counter() - began
    digest = hashlib.sha256()
    for path, reading in readings:
        shown = [str(path), reading.calls, sorted(reading.position.items()), reading.malformed, reading.warnings]
        digest.update(repr(shown).encode())
    print(json.dumps({"seconds": seconds, "digest": digest.hexdigest()}))


_STEPS = "SELECT rowid, session_id, message_id, data FROM part WHERE data LIKE '%step-finish%' ORDER BY rowid"
FLOOR_SQL = {
    "goose": (
        "SELECT id, session_id, created_timestamp, model, input_tokens, output_tokens, cache_read_tokens, "
        "cache_write_tokens, cost FROM usage_ledger ORDER BY id",
        "SELECT id, working_dir, provider_name, model_config_json FROM sessions",
    ),
    "copilot": (
        "SELECT id, session_id, created_at, model, input_tokens, output_tokens, cache_read_tokens, "
        "cache_write_tokens FROM assistant_usage_events ORDER BY id",
    ),
    "opencode": (
        "SELECT rowid, session_id, message_id, data FROM part WHERE data LIKE '%step-finish%' ORDER BY rowid",
    ),
    "kilo": ("SELECT rowid, session_id, message_id, data FROM part WHERE data LIKE '%step-finish%' ORDER BY rowid",),
}
"""Per store agent, the queries that fetch what any reader of every call needs from the rows (the call's time,
model, counts and session; the session's directory): a lower bound, since the readers also need more (an
OpenCode step's message)."""


def floor_time(agent: str, home: Path) -> float:
    """The floor (see the module's docstring), in a new process as ``time_reader`` times the reader."""
    command = [sys.executable, str(BENCH / "compare_agents.py"), "--time-floor", agent, str(home)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=_env(home))
    seconds: float = json.loads(done.stdout)["seconds"]
    return seconds


def _time_floor(agent: str, home: str) -> None:
    """In the timing process: the floor's work, its time printed as JSON. The stores are found by the reader
    before the clock starts (a few file checks); Droid's files are listed on the clock, as its reader lists
    them."""
    from gitokens.capture.agents import READERS

    stores = READERS[agent].logs({"HOME": home}) if agent in FLOOR_SQL else []
    gc.disable()
    began = time.perf_counter()
    if agent == "droid":
        _droid_bytes(os.path.join(home, ".factory", "sessions"))
    for path in stores:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        for query in FLOOR_SQL[agent]:
            connection.execute(query).fetchall()
        connection.close()
    print(json.dumps({"seconds": time.perf_counter() - began}))


def _droid_bytes(root: str) -> list[bytes]:
    """Every ``*.settings.json`` under ``root`` (two folders down) and its transcript, read whole with the
    fewest system calls (open, fstat, read)."""
    read: list[bytes] = []
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False):
            read += _droid_bytes(entry.path)
        elif entry.name.endswith(".settings.json"):
            for name in (entry.path, entry.path[: -len(".settings.json")] + ".jsonl"):
                handle = os.open(name, os.O_RDONLY)
                read.append(os.read(handle, os.fstat(handle).st_size + 1))
                os.close(handle)
    return read


def _env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TZ": "UTC",
        "NO_COLOR": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }


def capture_time(python: Path, agent: str, home: Path, repo: Path) -> float:
    """The time of the whole command a user runs, ``git tokens capture --agent AGENT --all-history`` (its
    process start and imports included, as ccusage's time includes its own), in a new repository so that it
    reads all the logs."""
    env = _env(home)
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "start"], check=True, env=env)
    command = [str(python), "-m", "gitokens", "capture", "--agent", agent, "--all-history"]
    began = time.perf_counter()
    subprocess.run(command, cwd=repo, env=env, capture_output=True, check=True)
    return time.perf_counter() - began


def read(agent: str, home: Path) -> list[AgentCall]:
    from gitokens.capture.agents import READERS

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


def _timed(work: Any) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def _sum_truth(calls: list[Call]) -> dict[str, int]:
    from agentcorpus_more import KINDS

    return {kind: sum(getattr(c, kind) for c in calls) for kind in KINDS}


def _sum_ours(calls: list[AgentCall]) -> dict[str, int]:
    from agentcorpus_more import KINDS

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
    agent: str, truth: list[Call], ours: list[AgentCall], theirs: dict[str, Any] | None, pricer: Pricer
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
    }


def _print(rows: list[dict[str, Any]], calls: int, args: argparse.Namespace) -> None:
    from agentcorpus_more import KINDS

    print(f"\n== corpus: {calls} calls per agent, seed {args.seed}; times: median (min) of {args.runs} runs\n")
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
        f"{'total tokens ccusage/ours':>25} {'cost diff %':>11}"
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
        print(f"{row['agent']:<9} {row['calls']:>6}  {same!s:<12} {their_same:<15} {ratio:>25} {cost:>11}")
    _print_times(rows, calls, args)


def _print_times(rows: list[dict[str, Any]], calls: int, args: argparse.Namespace) -> None:
    """Each time as median (min) in ms, and its ratio to ccusage's (median over median: below 1 is faster)."""
    base = args.baseline is not None
    print(f"\ntimes at {calls} calls per agent, ms (x = median / ccusage's median)")
    header = f"{'agent':<9} {'ccusage':>15} {'reader':>22} {'capture':>22} {'floor':>22}"
    if base:
        header += f" {'baseline reader':>22} {'baseline capture':>22} {'same readings':>13}"
    print(header)
    print("-" * len(header))
    for row in rows:
        times: Times = row["times"]
        their = statistics.median(times.ccusage) if times.ccusage else None
        line = f"{row['agent']:<9} {_shown(times.ccusage, None):>15} {_shown(times.reader, their):>22}"
        line += f" {_shown(times.capture, their):>22} {_shown(times.floor, their):>22}"
        if base:
            line += f" {_shown(times.base_reader, their):>22} {_shown(times.base_capture, their):>22}"
            line += f" {times.same!s:>13}"
        print(line)


def _shown(samples: list[float], against: float | None) -> str:
    if not samples:
        return "-"
    median = statistics.median(samples)
    text = f"{median * 1000:.0f} ({min(samples) * 1000:.0f})"
    return text + (f" {median / against:.2f}x" if against else "")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--time-read"]:
        _time_read(sys.argv[2], sys.argv[3])
        sys.exit(0)
    if sys.argv[1:2] == ["--time-floor"]:
        _time_floor(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(main())
