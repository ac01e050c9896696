"""SIGKILL at random moments: the hook, sync, import and capture, killed again and again (seeded), leave a
clone that doctor passes or tells exactly what to run, and a rerun ends with every record exactly once."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from agentlogs import T0, claude, claude_file, commit_at, write
from conftest import commit, git, run

import gitokens

EXE = str(Path(sys.executable).parent / "git-tokens")
KILLS = 5


def gitokens_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def kill_repeatedly(cwd: Path, args: list[str], seed: int, upto: float) -> None:
    moments = random.Random(seed)
    for _ in range(KILLS):
        process = subprocess.Popen([EXE, *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(moments.uniform(0.05, upto))
        process.kill()
        process.wait()
    time.sleep(0.3)  # git children of a killed sync finish on their own


def follow_doctor(cwd: Path) -> None:
    """doctor passes, or every warning says what to run; do what it says."""
    done = gitokens_cli(cwd, "doctor")
    lines = done.stdout.splitlines()
    for number, line in enumerate(lines):
        if line.startswith(("warn", "info")) and "lock" in line:
            assert lines[number + 1].lstrip().startswith("hint: if no git or gitokens process is running: rm ")
            Path(lines[number + 1].rsplit("rm ", 1)[1]).unlink(missing_ok=True)
        elif line.startswith("warn"):
            assert lines[number + 1].lstrip().startswith("hint: "), done.stdout
    if done.returncode != 0:
        gitokens_cli(cwd, "doctor", "--fix")
    assert gitokens_cli(cwd, "doctor").returncode == 0, gitokens_cli(cwd, "doctor").stdout


def exported(cwd: Path) -> Counter[str]:
    done = gitokens_cli(cwd, "export", "--format", "json")
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    data = json.loads(done.stdout)
    return Counter(row["id"] for row in (data["records"] if isinstance(data, dict) else data))


@pytest.fixture
def installed(repo: Path) -> Path:
    commit(repo)
    run("install", "--no-prompt")
    return repo


def test_killed_hooks(installed: Path) -> None:
    queued = {r.id for r in (gitokens.record(n + 1, 1, model="m") for n in range(1500)) if r is not None}
    kill_repeatedly(installed, ["hook-run", "post-commit", "--no-prompt"], seed=1, upto=0.35)
    follow_doctor(installed)
    commit(installed, "next")  # the installed hook attaches what is left
    assert exported(installed) == Counter(queued)


def test_killed_imports(installed: Path) -> None:
    head = git(installed, "rev-parse", "HEAD").strip()
    rows = [
        {"id": f"imp{n:05d}", "ts": "2025-09-29T14:03:00Z", "total_tokens": n + 1, "commit": head} for n in range(3000)
    ]
    (installed / "usage.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    kill_repeatedly(installed, ["import", "usage.jsonl"], seed=2, upto=0.6)
    follow_doctor(installed)
    assert gitokens_cli(installed, "import", "usage.jsonl").returncode == 0
    assert exported(installed) == Counter(row["id"] for row in rows)


def test_killed_syncs(installed: Path, tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    git(installed, "remote", "add", "origin", str(tmp_path / "remote.git"))
    git(installed, "push", "-q", "origin", "main")
    written = [r.id for r in (gitokens.record(n + 1, 1, model="m", commit="HEAD") for n in range(300)) if r]
    kill_repeatedly(installed, ["sync"], seed=3, upto=0.6)
    follow_doctor(installed)
    assert gitokens_cli(installed, "sync").returncode == 0
    git(tmp_path, "clone", "-q", "remote.git", "other")
    assert gitokens_cli(tmp_path / "other", "sync").returncode == 0
    assert exported(tmp_path / "other") == exported(installed) == Counter(written)


def test_killed_captures(repo: Path, hermetic: Path) -> None:
    commit_at(repo, T0, "start")
    run("install", "--no-prompt")
    calls = [
        claude(session=f"S{n % 7}", cwd=repo, branch="main", at=T0 + 10 + n, mid=f"m{n}", rid=f"r{n}", inp=n, out=1)
        for n in range(3000)
    ]
    write(claude_file(hermetic, "-work", "S"), calls)
    commit_at(repo, T0 + 5000, "after")
    assert gitokens_cli(repo, "capture").returncode == 0
    expected = exported(repo)
    git(repo, "update-ref", "-d", "refs/notes/tokens")
    shutil.rmtree(repo / ".git" / "gitokens")
    kill_repeatedly(repo, ["capture"], seed=4, upto=0.6)
    follow_doctor(repo)
    assert gitokens_cli(repo, "capture").returncode == 0
    assert exported(repo) == expected and len(expected) > 1
