"""How long `git tokens report` takes on a small repository (the demo's), against the Python floor of any
pygit2 + click command, `python -c "import click, pygit2"`, measured in the same run.

    python bench/bench_small_report.py                  # 15 rounds, this checkout installed from a wheel
    python bench/bench_small_report.py --runs 31 --cold # + each report once more with its caches removed
    python bench/bench_small_report.py --imports        # + the slowest imports of each report (-X importtime)
    python bench/bench_small_report.py --baseline /tmp/old/.venv/bin/python  # + another gitokens, same rounds
    python bench/bench_small_report.py --installed      # the gitokens beside this interpreter (editable, say)

Users install a wheel, so by default the reports timed are this checkout's, built into a wheel and installed
(without its dependencies) into a fresh virtualenv in the work dir whose ``.pth`` file puts this
interpreter's site-packages after its own: the same modules an installed gitokens loads, the dependencies
as they are installed here, and none of an editable install's import finder (``--installed`` times the
gitokens installed beside this interpreter instead, editable or not).

The demo repository is made once (``git tokens demo``) in a temporary directory, then the floor and
``git tokens report`` as text, ``--format html`` and ``--format json`` (output to /dev/null) run in
alternation, one of each per round, so that all four see the machine in the same state. Reports run with
their caches warm (the columns, the price rows, the compiled templates), as a user's second report does;
``--cold`` also times each format right after ``<git-common-dir>/gitokens/cache`` is removed.
``--baseline PYTHON`` adds the three reports of the gitokens installed for another interpreter (an older
commit, say) to every round, so that a change is measured against its baseline in the same run. The
baseline reports on its own copy of the demo repository: the price rows' cache is keyed by where the
installed genai-prices data is, so two installations reporting on one repository would each find the
other's price file and rebuild it (importing genai-prices, ~0.1-0.2 s) on every first report of a round.
Printed: each median and min, and each report's ratio to the floor (of the medians, and the median of the
round-by-round ratios); then the CPU time (user + system) of the same runs, which other work on a shared
machine moves less than the wall time. The design's target: a small repository's text report under 0.35 s
(wall time).

``PYTHONDONTWRITEBYTECODE`` is dropped from the commands' environment: with it, an editable install
compiles every gitokens module from source on every run (~60 ms here), while the floor's packages, and
gitokens installed from a wheel, load compiled bytecode.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from make_ledger import hermetic_env
from timing import Timing, header, pair_ratio_line, ratio_line, run

FLOOR = "python -c 'import click, pygit2'"
REPORTS = [
    ("git tokens report", ["git", "tokens", "report"]),
    ("git tokens report --format html", ["git", "tokens", "report", "--format", "html"]),
    ("git tokens report --format json", ["git", "tokens", "report", "--format", "json"]),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds of the four commands (default 15)")
    parser.add_argument("--cold", action="store_true", help="also time each report with its caches removed")
    parser.add_argument("--imports", action="store_true", help="also print each report's slowest imports")
    parser.add_argument("--baseline", metavar="PYTHON", help="also time the gitokens installed for PYTHON")
    parser.add_argument(
        "--installed",
        action="store_true",
        help="time the gitokens installed beside this interpreter, not this checkout's wheel",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="gitokens-small-report-") as tmp:
        work = Path(tmp)
        env = hermetic_env(work / "home")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        python = Path(sys.executable) if args.installed else install_wheel(work / "wheel", env)
        env = with_python(env, python)
        print(f"gitokens timed: {describe(python, env)}", flush=True)
        repo = work / "demo"
        subprocess.run(["git", "tokens", "demo", str(repo)], env=env, check=True, stdout=subprocess.DEVNULL)
        caches = repo / ".git" / "gitokens" / "cache"

        floor_command = (FLOOR, [str(python), "-c", "import click, pygit2"])  # the Python that runs the reports
        commands = [(label, command, env, repo) for label, command in [floor_command, *REPORTS]]
        if args.baseline:
            other = with_python(env, Path(args.baseline))
            print(f"baseline: {describe(Path(args.baseline), other)}", flush=True)
            own = work / "demo-baseline"  # its own caches: see the price rows above
            shutil.copytree(repo, own, symlinks=True)
            commands += [(f"{label} (baseline)", command, other, own) for label, command in REPORTS]
        header(f"the demo repository, {args.runs} rounds of the {len(commands)} commands in alternation")
        timings = [Timing(label) for label, *_ in commands]
        cpu = [Timing(label) for label, *_ in commands]
        for i in range(-1, args.runs):  # one untimed round first: it also fills the caches
            for timing, used, (_, command, command_env, cwd) in zip(timings, cpu, commands, strict=True):
                before = cpu_seconds()
                elapsed = run(command, env=command_env, cwd=cwd)
                if i >= 0:
                    timing.samples.append(elapsed)
                    used.samples.append(cpu_seconds() - before)
        for timing in timings:
            print(timing.row(), flush=True)

        floor = timings[0]
        header("ratios to the floor", columns=False)
        for timing in timings[1:]:
            print(ratio_line(timing.label, timing, floor))
            print(pair_ratio_line("  round by round", timing, floor))

        header("CPU time (user + system) of the same runs: less moved by other work on the machine")
        for used in cpu:
            print(used.row(), flush=True)
        for used in cpu[1:]:
            print(pair_ratio_line(f"{used.label}, round by round", used, cpu[0]))
        if args.baseline:
            header("against the baseline, round by round (wall, then CPU)", columns=False)
            mine, theirs = 1, 1 + len(REPORTS)
            for label, *_ in REPORTS:
                print(pair_ratio_line(label, timings[mine], timings[theirs]))
                print(pair_ratio_line("  CPU", cpu[mine], cpu[theirs]))
                mine, theirs = mine + 1, theirs + 1

        if args.cold:
            header(f"each report right after removing {caches.relative_to(repo)}, {args.runs} rounds")
            cold = [Timing(label + " (cold)") for label, _ in REPORTS]
            for _ in range(args.runs):
                for timing, (_, command) in zip(cold, REPORTS, strict=True):
                    shutil.rmtree(caches, ignore_errors=True)
                    timing.samples.append(run(command, env=env, cwd=repo))
            for timing in cold:
                print(timing.row(), flush=True)
            for timing in cold:
                print(ratio_line(timing.label, timing, floor))

        if args.imports:
            for label, command in REPORTS:
                header(f"slowest imports (cumulative, us) of {label}, caches warm", columns=False)
                print(slowest_imports(python, command, env, repo))
    return 0


def cpu_seconds() -> float:
    """User and system time of the finished commands so far (``git`` waits for ``git-tokens``: both count)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def install_wheel(venv: Path, env: dict[str, str]) -> Path:
    """This checkout built into a wheel and installed, without its dependencies, into a new virtualenv at
    ``venv`` that finds the dependencies in this interpreter's site-packages (after its own); its Python."""
    checkout = Path(__file__).resolve().parent.parent
    wheels = venv.parent / "wheels"
    quiet = {"env": env, "check": True, "stdout": subprocess.DEVNULL}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(checkout)], **quiet)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], **quiet)
    python = venv / "bin" / "python"
    probe = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = subprocess.run([python, "-c", probe], env=env, check=True, capture_output=True)
    own_site = Path(site.stdout.decode().strip())
    deps = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (own_site / "dependencies.pth").write_text("".join(f"{path}\n" for path in deps), encoding="utf-8")
    wheel = next(wheels.glob("gitokens-*.whl"))
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], **quiet)
    return python


def with_python(env: dict[str, str], python: Path) -> dict[str, str]:
    """``env`` with ``python``'s bin directory first on PATH: ``git tokens`` runs the gitokens installed there."""
    return dict(env, PATH=os.pathsep.join([str(python.parent), env["PATH"]]))


def describe(python: Path, env: dict[str, str]) -> str:
    """Where ``python``'s gitokens is loaded from, and whether it is an editable install (pip's record of
    how it was installed, ``direct_url.json``, says so)."""
    probe = (
        "import gitokens, json, importlib.metadata as m; "
        "url = json.loads(m.distribution('gitokens').read_text('direct_url.json') or '{}'); "
        "print(gitokens.__file__, 'editable' if url.get('dir_info', {}).get('editable') else 'installed')"
    )
    home = env["HOME"]  # not this checkout: python -c would import its gitokens/ from the current directory
    proc = subprocess.run([python, "-c", probe], env=env, cwd=home, check=True, capture_output=True)
    found = proc.stdout.decode().split()
    return f"{found[1]}, {Path(found[0]).parent} ({python})"


def slowest_imports(python: Path, command: list[str], env: dict[str, str], cwd: Path, top: int = 12) -> str:
    """The ``top`` top-level imports with the largest cumulative time, from ``python -X importtime``."""
    argv = [str(python), "-X", "importtime", "-m", "gitokens", *command[2:]]
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    rows = []
    for line in proc.stderr.decode().splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if not name[1:].startswith(" "):  # top level: its time includes everything it imported first
            rows.append((int(cumulative), name.strip()))
    rows.sort(reverse=True)
    total = sum(us for us, _ in rows)
    lines = [f"  {us:>9,}  {name}" for us, name in rows[:top]]
    return "\n".join([*lines, f"  {total:>9,}  (all top-level imports)"])


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)
    raise SystemExit(main())
