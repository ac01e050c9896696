"""What the commit hook and a capture with nothing new cost when the other agents' folders hold much besides
their usage, against a commit with no hook, measured in the same run.

    python bench/bench_watch.py                                   # 20,000 files beside the stores, 15 rounds
    python bench/bench_watch.py --files 60000 --runs 21
    python bench/bench_watch.py --baseline /tmp/old/.venv/bin/python   # + an older gitokens, same rounds

One HOME holds a Hermes Agent store in ``~/.hermes`` beside a tree shaped like Hermes' own install (its clone
and virtualenv), an OpenCode store in ``~/.local/share/opencode`` beside an old JSON tree (``storage/``), and
``~/.copilot`` holding the CLI's package files: ``--files`` files in all, dated an hour ago like the stores. A
repository with ``git tokens install --capture`` (one per gitokens timed, each hook calling its own) has
captured everything once. Then, in alternation, round by round: ``git commit --allow-empty`` with no hook
(the floor), the same with each installed hook (nothing new: the hook's ``find`` decides and Python does not
start), and each ``git tokens capture`` (nothing new: it looks at the watched paths and loads no reader).
Printed: each median and min, and each ratio to the floor.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from subprocess import DEVNULL

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from agentlogs import hermes_call, hermes_session, hermes_store
from agentlogs_more import opencode_message, opencode_session, opencode_store
from agentlogs_more import opencode_tokens as tokens
from make_ledger import hermetic_env
from timing import Timing, header, ratio_line, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000, help="files beside the agents' stores (default 20000)")
    parser.add_argument("--runs", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--baseline", type=Path, help="the Python of another gitokens to time in the same rounds")
    args = parser.parse_args(argv)
    pythons = [("this", Path(sys.executable))] + ([("baseline", args.baseline)] if args.baseline else [])
    with tempfile.TemporaryDirectory(prefix="gitokens-watch-") as scratch:
        base = Path(scratch)
        home = base / "home"
        env = hermetic_env(home)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
        _agents(home, base / "work", args.files)
        repos = {name: _repo(base / name, python, env) for name, python in pythons}
        floor = _repo(base / "floor", None, env)
        timings = {"floor": Timing("git commit --allow-empty, no hook (floor)")}
        for name, _ in pythons:
            timings[f"{name} hook"] = Timing(f"git commit --allow-empty, {name} gitokens' capture hook")
            timings[f"{name} capture"] = Timing(f"git tokens capture, nothing new ({name})")
        print(f"{args.files:,} files beside the stores; {args.runs} rounds; load {os.getloadavg()[0]:.2f}")
        for round_ in range(-1, args.runs):
            samples = {"floor": _commit(floor, env)}
            for name, python in pythons:
                samples[f"{name} hook"] = _commit(repos[name], env)
                samples[f"{name} capture"] = run([str(python), "-m", "gitokens", "capture"], env=env, cwd=repos[name])
            if round_ >= 0:
                for key, seconds in samples.items():
                    timings[key].samples.append(seconds)
        header("times")
        for timing in timings.values():
            print(timing.row())
        header("ratios to the floor (medians)", columns=False)
        for key, timing in timings.items():
            if key != "floor":
                print(ratio_line(timing.label, timing, timings["floor"]))
    return 0


def _agents(home: Path, work: Path, files: int) -> None:
    """The stores, each with one session in ``work``, and ``files`` files beside them, all an hour old."""
    work.mkdir(parents=True)
    at = time.time() - 3600
    db = hermes_store(home / ".hermes" / "state.db")
    hermes_session(db, "h1", str(work), at)
    hermes_call(db, "h1", at + 1, 100, 50)
    db.close()
    store = opencode_store(home / ".local" / "share" / "opencode" / "opencode.db")
    opencode_session(store, "s1", str(work))
    opencode_message(store, "s1", "m1", at + 2, str(work), [{"tokens": tokens(10, 5), "cost": 0.01}])
    store.close()
    beside = [
        home / ".hermes" / "hermes-agent" / "venv" / "lib",
        home / ".local" / "share" / "opencode" / "storage" / "part",
        home / ".copilot" / "pkg" / "node_modules",
    ]
    for n in range(files):
        folder = beside[n % len(beside)] / f"d{n // 300:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{n}.json").write_text("{}")
    for path in [home, *home.rglob("*")]:
        os.utime(path, (at, at), follow_symlinks=False)


def _repo(path: Path, python: Path | None, env: dict[str, str]) -> Path:
    """A repository with one commit; with a gitokens, its capture hook installed and a first capture made."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], env=env, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "root"], env=env, cwd=path, check=True)
    if python is not None:
        for command in (["install", "--no-prompt", "--capture"], ["capture"], ["capture"]):
            subprocess.run([str(python), "-m", "gitokens", *command], env=env, cwd=path, check=True, stdout=DEVNULL)
    return path


def _commit(repo: Path, env: dict[str, str]) -> float:
    return run(["git", "commit", "-q", "--allow-empty", "-m", "round"], env=env, cwd=repo)


if __name__ == "__main__":
    raise SystemExit(main())
