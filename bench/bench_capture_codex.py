"""Capturing Codex logs: a full scan, against ``ccusage codex daily`` on the same logs.

Generates ~100 MB of Codex rollouts (``--mb``; deterministic for a ``--seed``) under ``.codex/sessions/`` in a
private HOME under the work dir, for a repository (``bench_capture.py``'s: a commit every hour on main over
the logs' 30 days) whose path and branch the sessions name, then times, with this interpreter's gitokens,
alternating run by run:

- ``git tokens capture --dry-run --all-history --agent codex`` (reads and attributes everything, writes
  nothing, so every run is a full scan);
- ``ccusage codex daily --json --offline`` (``--ccusage PATH``, else
  ``bench/.work/ccusage/node_modules/.bin/ccusage``, else on PATH);

and prints the run-by-run ratio and whether the two agree on the tokens. ``--baseline PYTHON`` adds the same
capture with the gitokens installed for another interpreter (a virtualenv of an earlier commit) to every
round, so that a change is measured against its baseline in the same run, and checks that both find the
same records. ``--profile`` adds a cProfile of the parse alone (``codex.parse`` over every file, in this
process).

A rollout is shaped like the ones Codex writes: a ``session_meta`` carrying the instructions (tens of KiB),
per turn a user ``response_item`` and ``event_msg``, a ``turn_context``, then per model call ``response_item``
lines (reasoning with its encrypted content, a function call and its output: most of a log's bytes), an
``agent_reasoning`` event and a ``token_count`` event with the session's and the call's counts; a
rate-limit-only event (``info: null``) before the first call, and the last event written again, unchanged,
when only the rate limits moved.

Run it as a file from the repository root: ``python bench/bench_capture_codex.py [--mb 20] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_capture import DAYS, START, ccusage_version, find_ccusage, make_repo, written_by_capture
from make_ledger import hermetic_env
from timing import Timing, header, measure, pair_ratio_line, ratio_line, run

MODELS = (("gpt-5-codex", 60), ("gpt-5", 30), ("gpt-5.1-codex", 10))
GENERATOR_VERSION = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the generated logs in MB (default 100)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (default 5)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--ccusage", type=Path, help="the ccusage executable (default: look for it)")
    parser.add_argument("--baseline", type=Path, metavar="PYTHON", help="also time the gitokens installed for PYTHON")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of codex.parse over every file")
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).resolve().parent / ".work")
    args = parser.parse_args(argv)
    if args.baseline is not None:
        args.baseline = args.baseline.absolute()  # not resolved: a virtualenv's python is a link out of it

    base = args.work_dir.resolve() / "capture-codex" / f"mb{args.mb}-seed{args.seed}-v{GENERATOR_VERSION}"
    home, repo = base / "home", base / "repo"
    env = hermetic_env(home)
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME"):
        env.pop(name, None)
    marker = base / "done.json"
    if not marker.exists():
        shutil.rmtree(base, ignore_errors=True)
        print(f"generating {args.mb} MB of Codex logs and the repository in {base} ...", flush=True)
        make_repo(repo, env)
        stats = make_logs(home / ".codex" / "sessions", repo, args.mb << 20, random.Random(args.seed))
        marker.write_text(json.dumps(stats))
    stats = json.loads(marker.read_text())
    print(
        f"logs: {stats['bytes'] / 1e6:,.0f} MB in {stats['files']:,} files, {stats['lines']:,} lines, "
        f"{stats['calls']:,} model calls, {stats['events']:,} token_count events; python {sys.version.split()[0]}"
    )
    gt = [str(Path(sys.executable).parent / "git-tokens")]
    ours_argv = [*gt, "capture", "--dry-run", "--all-history", "--agent", "codex"]
    full_label = "git tokens capture --dry-run --all-history --agent codex"
    r: dict[str, Timing] = {}

    header("full scans")
    r["floor"] = measure(
        "python -c 'import gitokens.cli'", [sys.executable, "-c", "import gitokens.cli"], env=env, cwd=repo, runs=3
    )
    ccusage = find_ccusage(args.ccusage, args.work_dir.resolve())
    commands: list[tuple[str, str, list[str]]] = [("full", full_label, ours_argv)]
    if args.baseline is not None:
        base_argv = [str(args.baseline.parent / "git-tokens"), *ours_argv[1:]]
        commands.append(("baseline", f"{full_label} (baseline)", base_argv))
    if ccusage is not None:
        label = f"ccusage codex daily --json --offline ({ccusage_version(ccusage, env, repo)})"
        commands.append(("ccusage", label, [str(ccusage), "codex", "daily", "--json", "--offline"]))
    else:
        print("ccusage: not found (see bench/README.md, bench_capture.py, for installing it; or pass --ccusage)")
    r.update(measure_rounds(commands, env=env, cwd=repo, runs=args.runs))
    theirs = totals_of_ccusage(ccusage, env, repo) if ccusage is not None else None
    ours = totals_of_capture(repo, env)

    header("ratios", columns=False)
    if "ccusage" in r:
        print(ratio_line("full scan / ccusage codex daily (target: at most 1x)", r["full"], r["ccusage"]))
        print(pair_ratio_line("full scan / ccusage codex daily, run by run", r["full"], r["ccusage"]))
    if "baseline" in r:
        print(ratio_line("full scan / the baseline's", r["full"], r["baseline"]))
        print(pair_ratio_line("full scan / the baseline's, run by run", r["full"], r["baseline"]))
        if "ccusage" in r:
            print(ratio_line("the baseline's full scan / ccusage codex daily", r["baseline"], r["ccusage"]))
            print(pair_ratio_line("the baseline's / ccusage codex daily, run by run", r["baseline"], r["ccusage"]))
    print(ratio_line("full scan / import floor", r["full"], r["floor"]))
    print(f"{'load average (1, 5, 15 min) after the runs':<58} {'  '.join(f'{n:.2f}' for n in os.getloadavg())}")
    print(f"\ntokens, capture: {ours}")
    if theirs is not None:
        print(f"tokens, ccusage: {theirs}")
        print("totals agree" if ours == theirs else "totals DIFFER")
    if args.baseline is not None:
        same = records_of_capture(repo, env) == records_of_capture(repo, env, args.baseline)
        print("records: the same as the baseline's" if same else "records DIFFER from the baseline's")
        written = [
            written_by_capture(repo, base / "scratch", env, python, "--agent", "codex")
            for python in (None, args.baseline)
        ]
        print(
            "ledger notes and capture state after a real capture: the same as the baseline's"
            if written[0] == written[1]
            else "ledger notes or capture state DIFFER from the baseline's"
        )
    if args.profile:
        profile_parse(home / ".codex" / "sessions")
    return 0


# -- the logs ------------------------------------------------------------------------------------------------------


class Rollout:
    """The lines of one Codex session, as Codex writes them."""

    def __init__(self, rng: random.Random, repo: Path, at: float) -> None:
        self.rng, self.repo, self.at = rng, repo, at
        self.session = _uuid7(rng, at)
        self.model = rng.choices([m for m, _ in MODELS], [w for _, w in MODELS])[0]
        self.total = [0, 0, 0, 0, 0]  # input, cached, output, reasoning, total
        self.context = rng.randint(8_000, 16_000)
        self.used = 0.0
        self.info: dict[str, Any] | None = None
        self.calls = self.events = 0

    def line(self, kind: str, payload: dict[str, Any]) -> str:
        return _dumps({"timestamp": _iso(self.at), "type": kind, "payload": payload})

    def start(self) -> list[str]:
        rng = self.rng
        meta = {
            "id": self.session,
            "timestamp": _iso(self.at),
            "cwd": str(self.repo),
            "originator": "codex_cli_rs",
            "cli_version": "0.58.0",
            "instructions": None,
            "source": "cli",
            "model_provider": "openai",
            "base_instructions": {"text": _text(rng, rng.randint(2500, 4000))},
            "git": {
                "commit_hash": f"{rng.getrandbits(160):040x}",
                "branch": "main",
                "repository_url": "git@example.com:bench/repo.git",
            },
        }
        lines = [self.line("session_meta", meta)]
        self.at += 0.2
        lines.append(self.token_count(None))
        return lines

    def token_count(self, info: dict[str, Any] | None) -> str:
        self.used = min(100.0, round(self.used + self.rng.uniform(0, 0.5), 1))
        limits = {
            "primary": {"used_percent": self.used, "window_minutes": 300, "resets_at": int(self.at) + 9000},
            "secondary": {"used_percent": round(self.used / 7, 1), "window_minutes": 10080, "resets_at": 400000},
        }
        self.events += 1
        return self.line("event_msg", {"type": "token_count", "info": info, "rate_limits": limits})

    def turn(self) -> list[str]:
        rng = self.rng
        self.at += rng.uniform(30, 600)
        text = _text(rng, rng.randint(5, 80))
        content = [{"type": "input_text", "text": text}]
        lines = [
            self.line("response_item", {"type": "message", "role": "user", "content": content}),
            self.line("event_msg", {"type": "user_message", "message": text, "images": []}),
            self.line(
                "turn_context",
                {
                    "cwd": str(self.repo),
                    "approval_policy": "on-request",
                    "sandbox_policy": {"type": "workspace-write", "network_access": False},
                    "model": self.model,
                    "effort": "medium",
                    "summary": "auto",
                },
            ),
        ]
        for _ in range(rng.randint(1, 12)):
            lines += self.call()
        self.at += 1
        lines.append(self.line("event_msg", {"type": "agent_message", "message": _text(rng, rng.randint(5, 60))}))
        lines.append(
            self.line(
                "response_item",
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]},
            )
        )
        return lines

    def call(self) -> list[str]:
        rng = self.rng
        self.at += rng.uniform(2, 40)
        lines = []
        if self.info is not None and rng.random() < 0.4:  # only the rate limits moved: the last event again
            lines.append(self.token_count(self.info))
            self.at += 0.5
        summary = _text(rng, rng.randint(10, 60))
        encrypted = base64.b64encode(rng.randbytes(rng.randint(300, 2400))).decode()
        lines.append(self.line("event_msg", {"type": "agent_reasoning", "text": summary}))
        lines.append(
            self.line(
                "response_item",
                {
                    "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": summary}],
                    "content": None,
                    "encrypted_content": encrypted,
                },
            )
        )
        call_id = f"call_{rng.getrandbits(96):024x}"
        command = {"command": ["bash", "-lc", _text(rng, rng.randint(3, 20))], "workdir": str(self.repo)}
        lines.append(
            self.line(
                "response_item",
                {"type": "function_call", "name": "shell", "arguments": json.dumps(command), "call_id": call_id},
            )
        )
        output = {"output": _text(rng, rng.randint(10, 500)), "metadata": {"exit_code": 0, "duration_seconds": 0.4}}
        lines.append(
            self.line(
                "response_item", {"type": "function_call_output", "call_id": call_id, "output": json.dumps(output)}
            )
        )
        new = rng.randint(300, 9000)
        cached = int(self.context * rng.uniform(0.85, 1.0)) // 128 * 128
        prompt = self.context + new
        out = rng.randint(30, 5000)
        reasoning = rng.randint(0, out * 3 // 4)
        self.context = prompt + out if prompt + out < 250_000 else rng.randint(15_000, 30_000)
        last = [prompt, cached, out, reasoning, prompt + out]
        self.total = [a + b for a, b in zip(self.total, last, strict=True)]
        self.info = {
            "total_token_usage": _vector(self.total),
            "last_token_usage": _vector(last),
            "model_context_window": 272_000,
        }
        lines.append(self.token_count(self.info))
        self.calls += 1
        return lines


def make_logs(sessions: Path, repo: Path, size: int, rng: random.Random) -> dict[str, int]:
    """Sessions of 0.2 to 4 MB over the repository's days, each within the day it starts on."""
    stats = {"bytes": 0, "files": 0, "lines": 0, "calls": 0, "events": 0}
    while stats["bytes"] < size:
        day = rng.randrange(DAYS - 1)
        rollout = Rollout(rng, repo, START + day * 86400 + rng.uniform(0, 8) * 3600)
        started = datetime.fromtimestamp(rollout.at, UTC)
        lines = rollout.start()
        target = rng.randint(200 << 10, 4 << 20)
        written = sum(len(line) + 1 for line in lines)
        while written < target:
            turn = rollout.turn()
            lines += turn
            written += sum(len(line.encode()) + 1 for line in turn)
        name = f"rollout-{started.strftime('%Y-%m-%dT%H-%M-%S')}-{rollout.session}.jsonl"
        path = sessions / started.strftime("%Y/%m/%d") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(lines) + "\n").encode()
        path.write_bytes(data)
        stats["bytes"] += len(data)
        stats["files"] += 1
        stats["lines"] += len(lines)
        stats["calls"] += rollout.calls
        stats["events"] += rollout.events
    return stats


_WORDS: list[str] = []


def _text(rng: random.Random, words: int) -> str:
    if not _WORDS:
        word_rng = random.Random(1)
        letters = "etaoinshrdlucmfwypvbgkqjxz"
        _WORDS.extend("".join(word_rng.choices(letters, k=word_rng.randint(2, 10))) for _ in range(3000))
        _WORDS.extend(['"quoted"', "path/to/file.py", "\n", "token_count", "{json: 1}", "naïve", "✓"])
    start = rng.randrange(len(_WORDS) - words) if words < len(_WORDS) else 0
    return " ".join(_WORDS[start : start + words])


def _vector(v: list[int]) -> dict[str, int]:
    names = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")
    return dict(zip(names, v, strict=True))


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # compact, as serde_json writes it


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _uuid7(rng: random.Random, at: float) -> str:
    h = f"{int(at * 1000):012x}{rng.getrandbits(80):020x}"
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-8{h[17:20]}-{h[20:]}"


# -- totals and the profile ----------------------------------------------------------------------------------------


def totals_of_capture(repo: Path, env: dict[str, str]) -> dict[str, int]:
    """The tokens of every record, as ``ccusage codex`` counts them (input without the cached part)."""
    code = (
        "import json\nfrom gitokens import capture\nfrom gitokens.git.repo import open_repo\n"
        "r = capture.run(open_repo('.'), agents=('codex',), dry_run=True, all_history=True)\n"
        "t = {'input': 0, 'output': 0, 'cache_write': 0, 'cache_read': 0, 'reasoning': 0}\n"
        "for rec in r.records:\n"
        "    t['input'] += rec.input_tokens; t['output'] += rec.output_tokens\n"
        "    t['cache_write'] += rec.cache_write_tokens; t['cache_read'] += rec.cache_read_tokens\n"
        "    t['reasoning'] += rec.reasoning_tokens\n"
        "s = r.agents['codex']\n"
        "assert s.waiting == 0 and s.older == 0 and s.elsewhere == 0 and not s.malformed, s\n"
        "print(json.dumps(t))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=repo, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def records_of_capture(repo: Path, env: dict[str, str], python: Path | None = None) -> list[str]:
    """The records a full capture would write (``--dry-run --all-history``), as JSON lines, with the gitokens
    installed for ``python`` (this interpreter's by default)."""
    code = (
        "import json\nfrom gitokens import capture\nfrom gitokens.git.repo import open_repo\n"
        "r = capture.run(open_repo('.'), agents=('codex',), dry_run=True, all_history=True)\n"
        "for rec in r.records:\n"
        "    print(json.dumps(rec.to_dict(), sort_keys=True))\n"
    )
    argv = [str(python or sys.executable), "-c", code]
    done = subprocess.run(argv, env=env, cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def measure_rounds(
    commands: list[tuple[str, str, list[str]]], *, env: dict[str, str], cwd: Path, runs: int
) -> dict[str, Timing]:
    """Time the commands (key, label, argv) in rounds, one run of each per round, after an untimed round:
    all of them see the machine in the same state."""
    timings = {key: Timing(label) for key, label, _ in commands}
    for i in range(-1, runs):
        for key, _, argv in commands:
            elapsed = run(argv, env=env, cwd=cwd)
            if i >= 0:
                timings[key].samples.append(elapsed)
    for timing in timings.values():
        print(timing.row(), flush=True)
    return timings


def totals_of_ccusage(path: Path, env: dict[str, str], cwd: Path) -> dict[str, int]:
    done = subprocess.run(
        [str(path), "codex", "daily", "--json", "--offline"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    t = json.loads(done.stdout)["totals"]
    return {
        "input": t["inputTokens"],
        "output": t["outputTokens"],
        "cache_write": t["cacheCreationTokens"],
        "cache_read": t["cacheReadTokens"],
        "reasoning": t["reasoningOutputTokens"],
    }


def profile_parse(sessions: Path) -> None:
    from gitokens.capture import codex

    paths = sorted(sessions.rglob("*.jsonl"))
    blobs = [path.read_bytes() for path in paths]

    def parse_all() -> None:
        for data in blobs:
            codex.parse(data, 0, None, {})

    header("codex.parse over every file, in this process", columns=False)
    start = time.perf_counter()
    parse_all()
    print(f"{'codex.parse, all files':<58} {(time.perf_counter() - start) * 1000:>8.1f} ms")
    profiler = cProfile.Profile()
    profiler.runcall(parse_all)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    os.environ.pop("CODEX_HOME", None)
    raise SystemExit(main())
