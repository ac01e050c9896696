"""How long `git tokens report --format json` takes, and how much memory, against `git log --notes=tokens
--format=%N` dumping the same ledger in the same run; then where the time and the memory go.

    python bench/bench_report.py                        # 100,000 commits / notes, 300,000 records, 3 runs
    python bench/bench_report.py --commits 20000 --runs 5
    python bench/bench_report.py --profile              # + a cProfile of one in-process report
    python bench/bench_report.py --experiments          # + measured prototypes of the proposed speed-ups

Measured, each command's wall time and peak resident memory (``ru_maxrss`` of the command and the processes
it waited for, from ``os.wait4``: what ``/usr/bin/time -v`` reports):

- the git floor: ``git log --notes=tokens --format=%N`` from HEAD (the design's baseline) and with
  ``--branches`` (every annotated commit), output to /dev/null;
- ``git tokens report --format json > /dev/null``: the first run on a fresh copy of the repository (nothing
  cached: every note parsed), ``--runs`` repeated runs with nothing changed (the columns cache), and
  ``--runs`` runs each right after a ``git tokens add`` (the ledger moved: columns rebuilt from the
  parsed-notes cache, where one subtree is parsed again);
- the import floor of the report command (``gitokens.cli``, ``report.pipeline``, ``render`` and genai-prices);
- in this process, on a freshly opened repository each run: ``store.load``, ``columns.from_ledger``,
  ``columns.from_rows(store.load_rows(..))`` (a report's columns rebuilt without a record object each),
  ``cache.load`` from its cache, pricing every record (``costs``), ``pipeline.make`` (pricing
  included) and ``render.render(.., "json")``;
- in a child process, the peak memory after each of those stages.

``--experiments`` times prototypes of the proposed optimisations on the same ledger, in this file only
(nothing in gitokens changes): one ``json.loads`` per note instead of per line, building records without
re-validating canonical lines, ``__slots__`` records, a parsed-record cache loaded with ``marshal``, and
parsing ``ts`` once.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import io
import json
import marshal
import pickle
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from make_ledger import add_spec_arguments, prepare, scratch_copy
from timing import Timing, header, measure_call, ms, ratio_line

GIB = 1024 * 1024  # ru_maxrss is in KiB on Linux

# Runs a command and prints its wall time, peak RSS and exit code. A process inherits the peak RSS of the
# process it was spawned from (exec keeps the old memory map's high-water mark in ru_maxrss, and
# subprocess spawns with vfork), so commands are not spawned from this benchmark once it has grown: this
# small launcher spawns them, and its own ~10 MiB is the floor of every peak measured.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps([time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status)]))
"""

# The stages of one report, each followed by the process's own peak RSS so far (VmHWM: not inherited).
STAGES = """
import json, re, sys
from pathlib import Path
from gitokens.report import cache
from gitokens.ledger import store
from gitokens.report import render
from gitokens.report import pipeline
from gitokens.git.repo import open_repo

def peak():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1])

out = {"imports": peak()}
repo = open_repo(sys.argv[1])
loaded = cache.load(repo)
out["cache.load"] = peak()
model = pipeline.make(repo, loaded)
out["pipeline.make"] = peak()
text = render.render(model, "json")
out["render json"] = peak()
out["records"] = len(loaded)
print(json.dumps(out))
"""


@dataclass
class Measured(Timing):
    """Wall times (s) and peak RSS (KiB) of a command's runs."""

    rss: list[int] = field(default_factory=list)

    def row(self) -> str:
        peak = f"{max(self.rss) / 1024:,.0f} MiB" if self.rss else ""
        if len(self.samples) == 1:
            return f"{self.label:<58} {ms(self.samples[0]):>10}  {'':>10}  {peak:>9}  (1 run)"
        return f"{self.label:<58} {ms(self.median):>10}  {ms(self.min):>10}  {peak:>9}  ({len(self.samples)} runs)"


def run_child(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[float, int]:
    """Run a command with stdout to /dev/null; its wall time and peak RSS (KiB, its waited-for children included)."""
    launcher = [sys.executable, "-S", "-c", LAUNCHER, *argv]
    done = subprocess.run(launcher, env=dict(env), cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"error: the launcher failed on {' '.join(argv)}:\n{done.stderr}")
    elapsed, rss, code = json.loads(done.stdout.splitlines()[-1])
    if code != 0:
        raise SystemExit(f"error: {' '.join(argv)} exited {code}:\n{done.stderr}")
    return float(elapsed), int(rss)


def measure_child(
    label: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, runs: int, warmup: int = 1
) -> Measured:
    result = Measured(label)
    for i in range(-warmup, runs):
        elapsed, rss = run_child(argv, env, cwd)
        if i >= 0:
            result.samples.append(elapsed)
            result.rss.append(rss)
    print(result.row(), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_spec_arguments(parser, commits=100_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement (default 3)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one in-process report")
    parser.add_argument("--experiments", action="store_true", help="time prototypes of the proposed speed-ups")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (default: delete it)")
    parser.add_argument("--json", type=Path, help="also write the results (medians, mins, samples) here")
    args = parser.parse_args(argv)

    work_dir, pristine, meta, env = prepare(args, adopt_env=True)
    repo_path = scratch_copy(pristine, work_dir / "scratch" / "bench-report")
    runs = args.runs
    r: dict[str, Timing] = {}
    try:
        print(f"\n== commands{'':<48} {'median':>10}  {'min':>10}  {'peak RSS':>9}")
        report = ["git", "tokens", "report", "--format", "json"]
        r["report_first"] = measure_child("git tokens report --format json: first run", report, env, repo_path, 1, 0)
        r["git_log"] = measure_child(
            "git log --notes=tokens --format=%N", ["git", "log", "--notes=tokens", "--format=%N"], env, repo_path, runs
        )
        r["git_log_branches"] = measure_child(
            "git log --branches --notes=tokens --format=%N",
            ["git", "log", "--branches", "--notes=tokens", "--format=%N"],
            env,
            repo_path,
            runs,
        )
        r["report"] = measure_child(
            "git tokens report --format json: repeated, unchanged", report, env, repo_path, runs
        )
        r["report_moved"] = Measured("git tokens report after one git tokens add")
        add = ["git", "tokens", "add", "--input", "100", "--output", "20", "--model", "gpt-4o"]
        for _ in range(runs):
            run_child(add, env, repo_path)
            elapsed, rss = run_child(report, env, repo_path)
            r["report_moved"].samples.append(elapsed)
            r["report_moved"].rss.append(rss)
        print(r["report_moved"].row(), flush=True)
        r["cli_floor"] = measure_child(
            "python -c 'import gitokens.cli'", [sys.executable, "-c", "import gitokens.cli"], env, repo_path, runs
        )
        floor = "import gitokens.cli, gitokens.report.pipeline, gitokens.report.render, genai_prices.data_snapshot"
        r["floor"] = measure_child(
            "python -c '... + report.pipeline, render, genai_prices'",
            [sys.executable, "-c", floor],
            env,
            repo_path,
            runs,
        )

        header("in process, fresh repository each run (after imports)")
        stages = _in_process(repo_path, runs)
        r.update(stages)

        header("peak RSS after each stage (one child process)", columns=False)
        memory = _memory(repo_path, env)

        if args.profile:
            _profile(repo_path)
        if args.experiments:
            r.update(_experiments(repo_path, runs))
    finally:
        if not args.keep:
            shutil.rmtree(repo_path, ignore_errors=True)

    header("ratios (medians)", columns=False)
    print(ratio_line("report / git log", r["report"], r["git_log"]))
    print(ratio_line("report / git log --branches", r["report"], r["git_log_branches"]))
    print(ratio_line("first report / git log", r["report_first"], r["git_log"]))
    print(ratio_line("report after an add / git log", r["report_moved"], r["git_log"]))
    print(ratio_line("repeated report / first report", r["report"], r["report_first"]))
    print(ratio_line("store.load alone (notes cache) / git log", r["load"], r["git_log"]))
    print(ratio_line("report imports / report", r["floor"], r["report"]))
    print(ratio_line("report imports / git log", r["floor"], r["git_log"]))
    for key in ("report_first", "report_moved", "report"):
        measured = r[key]
        rss = max(measured.rss) if isinstance(measured, Measured) else 0
        print(f"{measured.label + ': peak RSS / 1 GiB':<58} {rss / GIB:>9.2f}x  ({rss / 1024:,.0f} MiB)")
    total = sum(r[k].median for k in ("columns", "make", "render"))
    for key, label in (
        ("columns", "cache.load (cached)"),
        ("pricing", "  pricing (inside make)"),
        ("make", "pipeline.make"),
        ("render", "render json"),
    ):
        print(f"{'share of a repeated in-process report: ' + label:<58} {100 * r[key].median / total:>8.0f}%")
    if args.json:
        data = {k: {"median": t.median, "min": t.min, "samples": t.samples} for k, t in r.items()}
        data["memory"] = memory  # type: ignore[assignment]
        args.json.write_text(json.dumps({"repository": meta, "results": data}, indent=2) + "\n")
    return 0


def _in_process(repo_path: Path, runs: int) -> dict[str, Timing]:
    import numpy as np

    from gitokens.config import load_config
    from gitokens.git.repo import open_repo
    from gitokens.ledger.store import load, load_rows
    from gitokens.pricing import Pricer
    from gitokens.report import cache, columns, pipeline, render
    from gitokens.report.costs import costs

    names = {
        "load": "store.load(repo)  (parsed-notes cache)",
        "from_ledger": "columns.from_ledger(ledger)",
        "rebuild": "columns.from_rows(store.load_rows(repo))  (no columns cache)",
        "columns": "cache.load(repo)  (columns cache)",
        "pricing": "  pricing: costs() of every record (fresh Pricer)",
        "make": "pipeline.make(repo, columns)  (pricing included)",
        "render": "render.render(model, 'json')",
    }
    timings = {key: Timing(label) for key, label in names.items()}
    for i in range(-1, runs):
        gc.collect()  # the previous run's ledger and model are garbage: not something this run pays for
        repo = open_repo(repo_path)
        start = time.perf_counter()
        loaded = load(repo)
        loaded_at = time.perf_counter()
        columns.from_ledger(loaded)
        built_at = time.perf_counter()
        del loaded
        gc.collect()
        rebuild_at = time.perf_counter()
        columns.from_rows(load_rows(repo))
        rebuilt_at = time.perf_counter()
        gc.collect()
        opened_at = time.perf_counter()
        cols = cache.load(repo)
        columns_at = time.perf_counter()
        costs(Pricer(load_config(repo.workdir)), cols, np.arange(len(cols)))
        priced_at = time.perf_counter()
        model = pipeline.make(repo, cols)
        made_at = time.perf_counter()
        render.render(model, "json")
        done_at = time.perf_counter()
        del model, cols
        if i >= 0:
            timings["load"].samples.append(loaded_at - start)
            timings["from_ledger"].samples.append(built_at - loaded_at)
            timings["rebuild"].samples.append(rebuilt_at - rebuild_at)
            timings["columns"].samples.append(columns_at - opened_at)
            timings["pricing"].samples.append(priced_at - columns_at)
            timings["make"].samples.append(made_at - priced_at)
            timings["render"].samples.append(done_at - made_at)
    for timing in timings.values():
        print(timing.row(), flush=True)
    rest = timings["make"].median - timings["pricing"].median
    print(f"{'  pipeline.make without pricing, by difference':<58} {ms(max(rest, 0.0)):>10}")
    return timings


def _memory(repo_path: Path, env: Mapping[str, str]) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", STAGES, str(repo_path)], env=dict(env), check=True, capture_output=True, text=True
    ).stdout
    data: dict[str, int] = json.loads(out)
    for stage in ("imports", "cache.load", "pipeline.make", "render json"):
        print(f"  {stage:<56} {data[stage] / 1024:>8,.0f} MiB")
    grown = data["cache.load"] - data["imports"]
    print(
        f"  cache.load grows the process by {grown / 1024:,.0f} MiB for {data['records']:,} records in effect: "
        f"{grown * 1024 / data['records']:,.0f} bytes each"
    )
    return data


def _profile(repo_path: Path) -> None:
    from gitokens.git.repo import open_repo
    from gitokens.report import cache, pipeline, render

    header("cProfile of one repeated report in process: load, make, render (top 25 by own time)", columns=False)
    repo = open_repo(repo_path)
    profiler = cProfile.Profile()
    profiler.enable()
    render.render(pipeline.make(repo, cache.load(repo)), "json")
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[:8000])


def _experiments(repo_path: Path, runs: int) -> dict[str, Timing]:
    """Prototypes of the proposals in bench/README.md, timed on this ledger (nothing in gitokens changes)."""
    from gitokens.git.repo import open_repo
    from gitokens.ledger.record import Record

    header("experiments: prototypes of the proposed speed-ups")
    repo = open_repo(repo_path)
    tip = repo.notes_tip()
    notes = list(repo.read_notes())
    blobs = [blob for _, blob in notes]
    lines = [line for blob in blobs for line in blob.split(b"\n") if line]
    t: dict[str, Timing] = {}
    t["x_lines"] = measure_call(
        "json.loads per line (what load does)", lambda: [json.loads(x) for x in lines], runs=runs
    )
    t["x_blobs"] = measure_call(
        "json.loads per note: b'[' + lines joined by ',' + b']'",
        lambda: [json.loads(b"[" + b",".join(b.split(b"\n")[:-1]) + b"]") for b in blobs],
        runs=runs,
    )
    dicts = [json.loads(x) for x in lines]
    t["x_from_dict"] = measure_call(
        "Record.from_dict on every line (validation)", lambda: [Record.from_dict(d) for d in dicts], runs=runs
    )
    t["x_init"] = measure_call(
        "Record(**d): the frozen dataclass __init__ alone", lambda: [Record(**d) for d in dicts], runs=runs
    )
    slotted = dataclasses.make_dataclass(
        "SlottedRecord", [(f.name, Any, f.default) for f in dataclasses.fields(Record)], frozen=True, slots=True
    )
    plain = dataclasses.make_dataclass(
        "PlainSlotted", [(f.name, Any, f.default) for f in dataclasses.fields(Record)], slots=True
    )
    t["x_slots_frozen"] = measure_call(
        "  the same with slots=True, frozen", lambda: [slotted(**d) for d in dicts], runs=runs
    )
    t["x_slots"] = measure_call(
        "  the same with slots=True, not frozen", lambda: [plain(**d) for d in dicts], runs=runs
    )
    records = [Record.from_dict(d) for d in dicts]
    names = [f.name for f in dataclasses.fields(Record)]
    rows = [tuple(getattr(rec, n) for n in names) for rec in records]
    cache = Path(tempfile.mkdtemp()) / "records.marshal"
    cache.write_bytes(marshal.dumps(rows))
    t["x_marshal"] = measure_call(
        f"cache: read + marshal.loads {cache.stat().st_size / 1e6:,.0f} MB of tuples",
        lambda: marshal.loads(cache.read_bytes()),
        runs=runs,
    )
    t["x_marshal_records"] = measure_call(
        "cache: ... + Record(*row) for each",
        lambda: [Record(*row) for row in marshal.loads(cache.read_bytes())],
        runs=runs,
    )
    t["x_marshal_slots"] = measure_call(
        "cache: ... + slots=True non-frozen record(*row)",
        lambda: [plain(*row) for row in marshal.loads(cache.read_bytes())],
        runs=runs,
    )
    pickled = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
    t["x_pickle"] = measure_call(
        f"cache: pickle.loads of the Records ({len(pickled) / 1e6:,.0f} MB)", lambda: pickle.loads(pickled), runs=runs
    )
    t["x_validate"] = measure_call(
        "cache validity: notes tip + its 256 top-level subtree ids",
        lambda: [entry.id for entry in repo.pg[tip].tree],  # type: ignore[attr-defined]
        runs=runs,
    )
    shutil.rmtree(cache.parent, ignore_errors=True)
    t["x_when"] = measure_call(
        "record.when on every record (parse_timestamp)", lambda: [x.when for x in records], runs=runs
    )
    t["x_fromiso"] = measure_call(
        "datetime.fromisoformat(record.ts) (3.11 reads 'Z')",
        lambda: [datetime.fromisoformat(x.ts) for x in records],
        runs=runs,
    )
    _memory_per_record(records, plain)
    return t


def _memory_per_record(records: list[Any], slotted: type) -> None:
    """Bytes per record: as loaded, with repeated text shared, and as a slotted class (deep sizes)."""
    texts = ("source", "branch", "author", "model", "provider", "endpoint", "kind")
    shared: dict[str, str] = {}
    names = [f.name for f in dataclasses.fields(records[0])]

    def share(record: Any) -> dict[str, Any]:
        data = {n: getattr(record, n) for n in names}
        for n in texts:
            if isinstance(data[n], str):
                data[n] = shared.setdefault(data[n], data[n])
        return data

    interned = [type(records[0])(**share(r)) for r in records]
    both = [slotted(**share(r)) for r in records]
    print("  memory per record (deep size: the object, its __dict__ and every object it holds, shared ones once)")
    for label, pool in (
        ("as store.load builds them", records),
        ("repeated text fields shared (one str per model, branch...)", interned),
        ("shared text and slots=True", both),
    ):
        size = _deep_size(pool)
        print(f"    {label:<62} {size / len(pool):>6,.0f} bytes  ({size / 2**20:,.0f} MiB)")


def _deep_size(objects: list[Any]) -> int:
    seen: set[int] = set()
    total = 0
    stack = list(objects)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.values())  # the keys are the field names, shared by every instance
        elif isinstance(obj, tuple | list):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.append(obj.__dict__)
        elif hasattr(obj, "__slots__"):
            stack.extend(getattr(obj, name) for name in obj.__slots__)
    return total


if __name__ == "__main__":
    sys.exit(main())
