"""Capturing agent logs: a full scan and an incremental one, against ccusage on the same logs.

Generates ~500 MB of Claude Code logs (``--mb``; deterministic for a ``--seed``) in a private HOME under
the work dir, for a repository whose main and feature branches have a commit every hour over the logs'
30 days, then times, with this interpreter's gitokens:

- the floor: ``python -c "import gitokens.cli"``;
- a full scan: ``git tokens capture --dry-run --all-history`` (reads and attributes everything, writes
  nothing, so every run is a full scan), on the generated logs themselves;
- ``ccusage daily --json --offline`` on the same HOME, in alternation with the full scan run by run, when
  ccusage is found (``--ccusage PATH``, else ``bench/.work/ccusage/node_modules/.bin/ccusage``, else on
  PATH), and whether its token totals agree with the capture's;
- the first real capture (``--all-history``: writes the records and the capture state), then
  incremental captures each after appending ~1 MB (``--append-mb``) of new turns, and one with nothing
  new (``--history-marks N``: with the seen marks of a long history added first, as an earlier version
  left them);
- ``git commit --allow-empty`` without the hook, with ``install --no-prompt``, and with
  ``install --no-prompt --capture`` when no log changed: what the capture adds to a commit;
- the same capture with nothing new and the same commit once an OpenCode store (``--opencode-calls`` calls,
  written by ``agentcorpus_more``) is there too, read once before: what another agent's logs cost when
  nothing changed.

``--baseline PYTHON`` times the gitokens installed for another interpreter too, in the same rounds: the full
scan (ours, the baseline's and ccusage's in turn), the incremental captures and the capture with nothing new
(ours and the baseline's in turn, on the same repository and capture state), with each command's CPU (user
and system, its worker included); and checks that the baseline finds the same records, and writes the same
notes and capture state (byte for byte, but for the capture's start time) in a real first capture.

Run it as a file from the repository root: ``python bench/bench_capture.py [--mb 50]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from make_ledger import hermetic_env
from timing import Timing, header, measure, measure_pair, ms, pair_ratio_line, ratio_line, run

START = 1_760_000_000  # 2025-10-09T08:53:20Z
DAYS = 30
FEATURE = "feature/capture"
FEATURE_DAYS = (10, 15)
MODELS = (
    ("claude-sonnet-4-5-20250929", 80),
    ("claude-haiku-4-5-20251001", 15),
    ("claude-opus-4-1-20250805", 5),
)
GENERATOR_VERSION = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=500, help="size of the generated logs in MB (default 500)")
    parser.add_argument("--append-mb", type=float, default=1.0, help="MB appended before each incremental capture")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement (default 3)")
    parser.add_argument("--commit-runs", type=int, default=15, help="timed commits per hook setting (default 15)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--history-marks",
        type=int,
        default=0,
        help="seen marks of a long history, appended to the capture state after the first capture (default 0)",
    )
    parser.add_argument("--ccusage", type=Path, help="the ccusage executable (default: look for it)")
    parser.add_argument("--opencode-calls", type=int, default=2000, help="calls in the OpenCode store (default 2000)")
    parser.add_argument("--baseline", type=Path, metavar="PYTHON", help="also time the gitokens installed for PYTHON")
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).resolve().parent / ".work")
    args = parser.parse_args(argv)
    if args.baseline is not None:
        args.baseline = args.baseline.absolute()  # not resolved: a virtualenv's python is a link out of it

    base = args.work_dir.resolve() / "capture" / f"mb{args.mb}-seed{args.seed}-v{GENERATOR_VERSION}"
    home, pristine = base / "home", base / "repo"
    env = hermetic_env(home)
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME"):
        env.pop(name, None)
    marker = base / "done.json"
    if not marker.exists():
        shutil.rmtree(base, ignore_errors=True)
        print(f"generating {args.mb} MB of Claude Code logs and the repository in {base} ...", flush=True)
        make_repo(pristine, env)
        stats = make_logs(home, base / "scratch", args.mb << 20, random.Random(args.seed))
        marker.write_text(json.dumps(stats))
    stats = json.loads(marker.read_text())
    print(
        f"logs: {stats['bytes'] / 1e6:,.0f} MB in {stats['files']:,} files, {stats['lines']:,} lines, "
        f"{stats['calls']:,} model calls; python {sys.version.split()[0]}"
    )
    repo = base / "scratch"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(pristine, repo, symlinks=True)
    os.sync()
    gt = [str(Path(sys.executable).parent / "git-tokens")]
    r: dict[str, Timing] = {}

    header("floor and full scans")
    r["floor"] = measure(
        "python -c 'import gitokens.cli'",
        [sys.executable, "-c", "import gitokens.cli"],
        env=env,
        cwd=repo,
        runs=args.runs,
    )
    ours_argv = [*gt, "capture", "--dry-run", "--all-history"]
    full_label = "git tokens capture --dry-run --all-history (full scan)"
    ccusage = find_ccusage(args.ccusage, args.work_dir.resolve())
    theirs = None
    cpu: dict[str, list[float]] = {}
    if args.baseline is not None:
        rounds: list[tuple[str, str, list[str]]] = [
            ("full", full_label, ours_argv),
            ("full_baseline", f"{full_label} (baseline)", [baseline_tool(args.baseline), *ours_argv[1:]]),
        ]
        if ccusage is not None:
            ccusage_label = f"ccusage daily --json --offline ({ccusage_version(ccusage, env, repo)})"
            rounds.append(("ccusage", ccusage_label, [str(ccusage), "daily", "--json", "--offline"]))
        timed, cpu = measure_rounds(rounds, env=env, cwd=repo, runs=args.runs)
        r.update(timed)
        if ccusage is not None:
            theirs = totals_of_ccusage(ccusage, env, repo)
    elif ccusage is not None:
        ccusage_label = f"ccusage daily --json --offline ({ccusage_version(ccusage, env, repo)})"
        r["full"], r["ccusage"] = measure_pair(
            (full_label, ours_argv),
            (ccusage_label, [str(ccusage), "daily", "--json", "--offline"]),
            env=env,
            cwd=repo,
            runs=args.runs,
        )
        theirs = totals_of_ccusage(ccusage, env, repo)
    else:
        r["full"] = measure(full_label, ours_argv, env=env, cwd=repo, runs=args.runs)
    if ccusage is None:
        print(
            "ccusage: not found (npm install ccusage and its @ccusage/ccusage-<platform> package of the same "
            "version into bench/.work/ccusage, or pass --ccusage)"
        )
    ours = totals_of_capture(repo, env)

    header("incremental captures")
    logs_copy = base / "home-scratch"  # appends go to a copy: the generated logs stay as they are
    shutil.rmtree(logs_copy, ignore_errors=True)
    shutil.copytree(home, logs_copy)
    os.sync()  # the copy's writeback would otherwise run during the measurements
    env = hermetic_env(logs_copy)
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME"):
        env.pop(name, None)
    r["first"] = measure(
        "git tokens capture --all-history (first, writes records)",
        [*gt, "capture", "--all-history"],
        env=env,
        cwd=repo,
        runs=1,
        warmup=0,
    )
    if args.history_marks:  # as an earlier version appended them: unsorted, with no count in files.json
        marks = random.Random(args.seed + 2).randbytes(8 * args.history_marks)
        with open(repo / ".git" / "gitokens" / "capture" / "seen.bin", "ab") as handle:
            handle.write(marks)
        print(f"seen marks of a long history: {args.history_marks:,} ({len(marks) / 1e6:,.0f} MB) appended")
    rng = random.Random(args.seed + 1)
    sessions = sorted((logs_copy / ".claude" / "projects").rglob("*.jsonl"))
    appended: list[int] = []

    def append(i: int) -> None:
        appended.append(append_turns(rng.choice(sessions), repo, int(args.append_mb * (1 << 20)), rng))

    if args.baseline is not None:  # in turn, each capture reading what was appended since the one before
        base_gt = baseline_tool(args.baseline)
        timed, more = measure_rounds(
            [
                ("incremental", f"git tokens capture after appending {args.append_mb:g} MB", [*gt, "capture"]),
                ("incremental_baseline", "the same, baseline", [base_gt, "capture"]),
            ],
            env=env,
            cwd=repo,
            runs=args.runs,
            before=append,
        )
        r.update(timed)
        cpu.update(more)
        timed, more = measure_rounds(
            [
                ("nothing", "git tokens capture, nothing new", [*gt, "capture"]),
                ("nothing_baseline", "the same, baseline", [base_gt, "capture"]),
            ],
            env=env,
            cwd=repo,
            runs=args.runs,
        )
        r.update(timed)
        cpu.update(more)
    else:
        r["incremental"] = measure(
            f"git tokens capture after appending {args.append_mb:g} MB",
            [*gt, "capture"],
            env=env,
            cwd=repo,
            runs=args.runs,
            before=append,
        )
        r["nothing"] = measure("git tokens capture, nothing new", [*gt, "capture"], env=env, cwd=repo, runs=args.runs)

    header("git commit --allow-empty and the post-commit hook (no log changed)")
    commit = ["git", "commit", "-q", "--allow-empty", "-m", "bench"]
    r["commit"] = measure("no hook", commit, env=env, cwd=repo, runs=args.commit_runs)
    run([*gt, "install", "--no-prompt"], env=env, cwd=repo)
    r["hook"] = measure("hook installed --no-prompt", commit, env=env, cwd=repo, runs=args.commit_runs)
    run([*gt, "install", "--no-prompt", "--capture"], env=env, cwd=repo)
    r["capture_hook"] = measure(
        "hook installed --no-prompt --capture", commit, env=env, cwd=repo, runs=args.commit_runs
    )

    header(f"with an OpenCode store of {args.opencode_calls:,} calls too (read once before)")
    from agentcorpus_more import Spec, make

    make("opencode", logs_copy, Spec(calls=args.opencode_calls))
    run([*gt, "capture"], env=env, cwd=repo)
    r["nothing_opencode"] = measure(
        "git tokens capture, nothing new", [*gt, "capture"], env=env, cwd=repo, runs=args.runs
    )
    r["capture_hook_opencode"] = measure(
        "hook installed --no-prompt --capture", commit, env=env, cwd=repo, runs=args.commit_runs
    )

    header("ratios", columns=False)
    if "ccusage" in r:
        print(ratio_line("full scan / ccusage daily (target: at most 1x)", r["full"], r["ccusage"]))
        print(pair_ratio_line("full scan / ccusage daily, run by run", r["full"], r["ccusage"]))
    print(ratio_line("full scan / import floor", r["full"], r["floor"]))
    print(ratio_line(f"incremental ({args.append_mb:g} MB) / full scan", r["incremental"], r["full"]))
    print(f"{'bytes appended / bytes of a full scan':<58} {sum(appended) / len(appended) / stats['bytes']:>9.4f}x")
    print(ratio_line("incremental / import floor", r["incremental"], r["floor"]))
    print(ratio_line("nothing new / import floor", r["nothing"], r["floor"]))
    added = (r["capture_hook"].median - r["commit"].median) * 1000
    print(f"{'the --capture hook adds to a commit (medians)':<58} {added:>8.1f} ms  (target: under 100 ms)")
    print(f"{'the --no-prompt hook adds (medians)':<58} {(r['hook'].median - r['commit'].median) * 1000:>8.1f} ms")
    print(ratio_line("nothing new, OpenCode store too / import floor", r["nothing_opencode"], r["floor"]))
    print(ratio_line("nothing new, OpenCode store too / without it", r["nothing_opencode"], r["nothing"]))
    added = (r["capture_hook_opencode"].median - r["commit"].median) * 1000
    print(f"{'the --capture hook adds, OpenCode store too (medians)':<58} {added:>8.1f} ms")
    if args.baseline is not None:
        print_baseline_ratios(r, cpu)
    print(f"{'load average (1, 5, 15 min) after the runs':<58} {'  '.join(f'{n:.2f}' for n in os.getloadavg())}")
    print(f"\ntokens, capture: {ours}")
    if theirs is not None:
        print(f"tokens, ccusage: {theirs}")
        print("totals agree" if ours == theirs else "totals DIFFER")
    if args.baseline is not None:
        same = records_of_capture(pristine, home) == records_of_capture(pristine, home, args.baseline)
        print("records: the same as the baseline's" if same else "records DIFFER from the baseline's")
        written = [written_by_capture(pristine, repo, _env(home), python) for python in (None, args.baseline)]
        print(
            "ledger notes and capture state after a real first capture: the same as the baseline's"
            if written[0] == written[1]
            else "ledger notes or capture state DIFFER from the baseline's"
        )
    shutil.rmtree(repo, ignore_errors=True)
    shutil.rmtree(logs_copy, ignore_errors=True)
    return 0


# -- the repository and the logs ---------------------------------------------------------------------------------


def make_repo(path: Path, env: dict[str, str]) -> None:
    """main with a commit every hour from START to a day after the logs end; a feature branch beside it."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], env=env, check=True)
    lines: list[str] = []
    mark = 0

    def commit(branch: str, when: int, parent: int | None) -> int:
        nonlocal mark
        mark += 1
        body = f"change {mark}\n"
        lines.extend(
            [
                f"commit refs/heads/{branch}",
                f"mark :{mark}",
                f"committer Bench <bench@example.com> {when} +0000",
                f"data {len(body)}",
                body.rstrip("\n"),
            ]
        )
        if parent is not None:
            lines.append(f"from :{parent}")
        lines.append(f"M 100644 inline file{mark % 16}.txt\ndata {len(body)}\n{body}")
        return mark

    tip = None
    fork = None
    for hour in range((DAYS + 1) * 24):
        tip = commit("main", START + hour * 3600 + 1800, tip)
        if hour == FEATURE_DAYS[0] * 24:
            fork = tip
    feature = fork
    for hour in range(FEATURE_DAYS[0] * 24 + 1, FEATURE_DAYS[1] * 24 + 24):
        feature = commit(FEATURE, START + hour * 3600 + 1200, feature)
    stream = ("\n".join(lines) + "\n").encode()
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=stream, env=env, check=True)
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "-f", "main"], env=env, check=True)
    subprocess.run(["git", "-C", str(path), "config", "user.email", "bench@example.com"], env=env, check=True)
    subprocess.run(["git", "-C", str(path), "config", "user.name", "Bench"], env=env, check=True)
    subprocess.run(["git", "-C", str(path), "config", "gc.auto", "0"], env=env, check=True)


class Writer:
    """Lines of one Claude Code session, as Claude Code writes them."""

    def __init__(self, rng: random.Random, cwd: Path, session: str, branch: str, at: float) -> None:
        self.rng, self.cwd, self.session, self.branch, self.at = rng, cwd, session, branch, at
        self.calls = 0
        self.parent: str | None = None

    def base(self, kind: str, sidechain: bool = False) -> dict[str, object]:
        self.at += self.rng.uniform(2, 40)
        uuid = f"{self.rng.getrandbits(128):032x}"
        entry = {
            "parentUuid": self.parent,
            "isSidechain": sidechain,
            "userType": "external",
            "cwd": str(self.cwd / ("src" if self.rng.random() < 0.2 else "")).rstrip("/"),
            "sessionId": self.session,
            "version": "2.0.14",
            "gitBranch": self.branch,
            "type": kind,
            "uuid": uuid,
            "timestamp": _iso(self.at),
        }
        self.parent = uuid
        return entry

    def turn(self, sidechain: bool = False) -> list[str]:
        rng = self.rng
        out = []
        user = self.base("user", sidechain)
        user["message"] = {"role": "user", "content": _text(rng, rng.randint(40, 400))}
        out.append(_dumps(user))
        for _ in range(rng.randint(1, 4)):  # model calls in this turn, each with its tool result
            self.calls += 1
            mid, rid = f"msg_{rng.getrandbits(96):024x}", f"req_{rng.getrandbits(96):024x}"
            model = rng.choices([m for m, _ in MODELS], [w for _, w in MODELS])[0]
            usage = {
                "input_tokens": rng.randint(1, 60),
                "cache_creation_input_tokens": rng.choice([0, 0, rng.randint(100, 9000)]),
                "cache_read_input_tokens": rng.randint(8_000, 160_000),
                "output_tokens": rng.randint(20, 2500),
            }
            usage["cache_creation"] = {
                "ephemeral_5m_input_tokens": usage["cache_creation_input_tokens"],
                "ephemeral_1h_input_tokens": 0,
            }
            blocks = rng.choice([["text"], ["thinking", "text"], ["text", "tool_use"], ["thinking", "tool_use"]])
            for block in blocks:  # one line per content block, each with the call's id and usage
                entry = self.base("assistant", sidechain)
                content: dict[str, object] = {"type": block}
                if block == "tool_use":
                    content.update(
                        id=f"toolu_{rng.getrandbits(64):016x}",
                        name="Bash",
                        input={"command": _text(rng, rng.randint(5, 30))},
                    )
                else:
                    content[block] = _text(rng, rng.randint(20, 300))
                entry["message"] = {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [content],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage,
                }
                entry["requestId"] = rid
                out.append(_dumps(entry))
            result = self.base("user", sidechain)
            result["message"] = {
                "role": "user",
                "content": [
                    {
                        "tool_use_id": f"toolu_{rng.getrandbits(64):016x}",
                        "type": "tool_result",
                        "content": _text(rng, rng.randint(50, 1500)),
                    }
                ],
            }
            result["toolUseResult"] = {"stdout": _text(rng, rng.randint(10, 300)), "stderr": "", "interrupted": False}
            out.append(_dumps(result))
        if rng.random() < 0.05:
            snap = {"type": "file-history-snapshot", "messageId": self.parent, "snapshot": {"trackedFileBackups": {}}}
            out.append(_dumps(snap))
        return out


_WORDS: list[str] = []


def _text(rng: random.Random, words: int) -> str:
    if not _WORDS:
        word_rng = random.Random(1)
        letters = "etaoinshrdlucmfwypvbgkqjxz"
        _WORDS.extend("".join(word_rng.choices(letters, k=word_rng.randint(2, 10))) for _ in range(3000))
        _WORDS.extend(['"quoted"', "path/to/file.py", "\\n", "usage", "{json: 1}", "naïve", "✓"])
    start = rng.randrange(len(_WORDS) - words) if words < len(_WORDS) else 0
    return " ".join(_WORDS[start : start + words])


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # as JSON.stringify writes it


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_logs(home: Path, repo: Path, size: int, rng: random.Random) -> dict[str, int]:
    """Sessions of ~2.5 MB, some with a sub-agent side-chain file, some resumed from an earlier one."""
    projects = home / ".claude" / "projects"
    stats = {"bytes": 0, "files": 0, "lines": 0, "calls": 0}
    written: list[Path] = []
    number = 0
    while stats["bytes"] < size:
        number += 1
        day = rng.uniform(0, DAYS - 1)
        branch = FEATURE if FEATURE_DAYS[0] + 0.1 < day < FEATURE_DAYS[1] - 0.5 and rng.random() < 0.5 else "main"
        session = f"{rng.getrandbits(128):032x}"
        writer = Writer(rng, repo, session, branch, START + day * 86400)
        lines: list[str] = []
        if written and rng.random() < 0.05:  # a resumed session starts with a copy of an earlier one
            lines += written[-1].read_text(encoding="utf-8").splitlines()[: rng.randint(10, 200)]
        target = rng.randint(1 << 20, 4 << 20)
        while sum(len(line) + 1 for line in lines) < target:
            lines += writer.turn()
        path = _write(projects / "-bench-repo" / f"{session}.jsonl", lines)
        written.append(path)
        calls = writer.calls
        if rng.random() < 0.1:  # a sub-agent: its own calls, side-chain entries in their own file
            side = Writer(rng, repo, session, branch, writer.at)
            side_lines = [line for _ in range(rng.randint(3, 30)) for line in side.turn(sidechain=True)]
            _write(
                projects / "-bench-repo" / session / "subagents" / f"agent-{rng.getrandbits(32):08x}.jsonl", side_lines
            )
            lines += side_lines
            calls += side.calls
            stats["files"] += 1
        stats["bytes"] += sum(len(line.encode()) + 1 for line in lines)
        stats["lines"] += len(lines)
        stats["files"] += 1
        stats["calls"] += calls
    return stats


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def append_turns(path: Path, repo: Path, size: int, rng: random.Random) -> int:
    """Append about ``size`` bytes of new turns to a session (times inside the history, so nothing waits)."""
    last = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    at = START + (DAYS - 1) * 86400 - rng.uniform(3600, 7200)
    writer = Writer(rng, repo, last.get("sessionId", "appended"), last.get("gitBranch") or "main", at)
    lines: list[str] = []
    while sum(len(line) + 1 for line in lines) < size:
        lines += writer.turn()
    data = "".join(line + "\n" for line in lines).encode()
    with open(path, "ab") as handle:
        handle.write(data)
    return len(data)


# -- totals --------------------------------------------------------------------------------------------------------


def totals_of_capture(repo: Path, env: dict[str, str]) -> dict[str, int]:
    code = (
        "import json\nfrom gitokens import capture\nfrom gitokens.git.repo import open_repo\n"
        "r = capture.run(open_repo('.'), dry_run=True, all_history=True)\n"
        "t = {'input': 0, 'output': 0, 'cache_write': 0, 'cache_read': 0}\n"
        "for rec in r.records:\n"
        "    t['input'] += rec.input_tokens; t['output'] += rec.output_tokens\n"
        "    t['cache_write'] += rec.cache_write_tokens; t['cache_read'] += rec.cache_read_tokens\n"
        "s = r.agents['claude']\n"
        "assert s.waiting == 0 and s.older == 0, s\n"
        "print(json.dumps(t))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=repo, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def find_ccusage(given: Path | None, work_dir: Path) -> Path | None:
    if given is not None:
        return given
    local = work_dir / "ccusage" / "node_modules" / ".bin" / "ccusage"
    if local.exists():
        return local
    found = shutil.which("ccusage")
    return Path(found) if found else None


def ccusage_version(path: Path, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([str(path), "--version"], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    return (done.stdout.strip().splitlines() or ["?"])[-1]


def totals_of_ccusage(path: Path, env: dict[str, str], cwd: Path) -> dict[str, int]:
    done = subprocess.run(
        [str(path), "daily", "--json", "--offline"], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    t = json.loads(done.stdout)["totals"]
    return {
        "input": t["inputTokens"],
        "output": t["outputTokens"],
        "cache_write": t["cacheCreationTokens"],
        "cache_read": t["cacheReadTokens"],
    }


# -- against a baseline installation ------------------------------------------------------------------------------


def baseline_tool(python: Path) -> str:
    return str(python.parent / "git-tokens")


def measure_rounds(
    commands: list[tuple[str, str, list[str]]],
    *,
    env: dict[str, str],
    cwd: Path,
    runs: int,
    before: Callable[[int], object] | None = None,
) -> tuple[dict[str, Timing], dict[str, list[float]]]:
    """Time the commands (key, label, argv) in rounds, one run of each per round after an untimed round, the
    order reversed every other round (all of them see the machine in the same state); ``before(i)`` runs
    untimed before each command. Also each run's CPU (user and system, its children included)."""
    timings = {key: Timing(label) for key, label, _ in commands}
    cpu: dict[str, list[float]] = {key: [] for key, _, _ in commands}
    for i in range(-1, runs):
        for key, _, argv in commands if i % 2 == 0 else commands[::-1]:
            if before is not None:
                before(i)
            used = _children_cpu()
            elapsed = run(argv, env=env, cwd=cwd)
            if i >= 0:
                timings[key].samples.append(elapsed)
                cpu[key].append(_children_cpu() - used)
    for key, timing in timings.items():
        print(f"{timing.row()}  CPU {ms(statistics.median(cpu[key]))}", flush=True)
    return timings, cpu


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def print_baseline_ratios(r: dict[str, Timing], cpu: dict[str, list[float]]) -> None:
    for key, what in (("full", "full scan"), ("incremental", "incremental"), ("nothing", "nothing new")):
        ours, theirs = r[key], r[f"{key}_baseline"]
        print(ratio_line(f"{what} / the baseline's", ours, theirs))
        print(pair_ratio_line(f"{what} / the baseline's, run by run", ours, theirs))
        used = statistics.median(cpu[key]) / statistics.median(cpu[f"{key}_baseline"])
        print(f"{f'{what} / the baseline, CPU (medians)':<58} {used:>9.2f}x")
    if "ccusage" in r:
        print(ratio_line("the baseline's full scan / ccusage daily", r["full_baseline"], r["ccusage"]))
        print(pair_ratio_line("the baseline's / ccusage daily, run by run", r["full_baseline"], r["ccusage"]))


def records_of_capture(repo: Path, home: Path, python: Path | None = None) -> list[str]:
    """The records a full capture would write (``--dry-run --all-history``), as JSON lines, with the gitokens
    installed for ``python`` (this interpreter's by default)."""
    code = (
        "import json\nfrom gitokens import capture\nfrom gitokens.git.repo import open_repo\n"
        "r = capture.run(open_repo('.'), dry_run=True, all_history=True)\n"
        "for rec in r.records:\n"
        "    print(json.dumps(rec.to_dict(), sort_keys=True))\n"
    )
    scratch = repo.parent / "scratch"  # where the logs' work trees are
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(repo, scratch, symlinks=True)
    try:
        argv = [str(python or sys.executable), "-c", code]
        done = subprocess.run(argv, env=_env(home), cwd=scratch, capture_output=True, text=True, check=True)
        return done.stdout.splitlines()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def written_by_capture(
    repo: Path, scratch: Path, env: dict[str, str], python: Path | None, *options: str
) -> dict[str, Any]:
    """What ``git tokens capture --all-history [options]`` writes in a copy of the repository, with the
    gitokens installed for ``python`` (this interpreter's by default): the notes of the commits (not the notes
    ref's own commits, whose ids move with the time), and the capture state but for the capture's own start
    time."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(repo, scratch, symlinks=True)
    try:
        tool = str(Path(python or sys.executable).parent / "git-tokens")
        run([tool, "capture", "--all-history", *options], env=env, cwd=scratch)
        notes = subprocess.run(
            ["git", "log", "--exclude=refs/notes/*", "--all", "--notes=tokens", "--format=%H%n%N"],
            env=env,
            cwd=scratch,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        where = scratch / ".git" / "gitokens" / "capture"
        meta = json.loads((where / "files.json").read_text())
        meta.pop("last_capture")
        state = {
            str(path.relative_to(where)): path.read_bytes()
            for path in sorted(where.rglob("*"))
            if path.is_file() and path.name not in ("files.json", "lock", "stamp")
        }
        return {"notes": notes, "files.json": meta, "state": state}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _env(home: Path) -> dict[str, str]:
    env = hermetic_env(home)
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME"):
        env.pop(name, None)
    return env


if __name__ == "__main__":
    os.environ.pop("CLAUDE_CONFIG_DIR", None)
    raise SystemExit(main())
