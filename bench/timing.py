"""Wall-clock timing of commands and callables, and the ratio tables the benchmarks print.

Numbers are only compared within one run (against a baseline measured in the same run): nothing here
asserts a time.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Argv = Sequence[str]


@dataclass
class Timing:
    """Samples in seconds of one measured thing."""

    label: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def row(self) -> str:
        n = len(self.samples)
        if n == 1:
            return f"{self.label:<58} {ms(self.samples[0]):>10}  {'':>10}  (1 run)"
        return f"{self.label:<58} {ms(self.median):>10}  {ms(self.min):>10}  ({n} runs, max {ms(self.max)})"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.2f} s"


def header(title: str, *, columns: bool = True) -> None:
    print(f"\n== {title}")
    if columns:
        print(f"{'':<58} {'median':>10}  {'min':>10}")


def run(argv: Argv, *, env: Mapping[str, str], cwd: Path, stdout_to: Path | None = None) -> float:
    """Run one command, return its wall time in seconds; its stdout goes to /dev/null (or a file)."""
    out = open(stdout_to, "wb") if stdout_to else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        start = time.perf_counter()
        proc = subprocess.run(list(argv), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
    finally:
        if stdout_to:
            out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(argv)} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')}")
    return elapsed


def measure(
    label: str,
    argv: Argv | Callable[[int], Argv],
    *,
    env: Mapping[str, str],
    cwd: Path,
    runs: int,
    warmup: int = 1,
    before: Callable[[int], object] | None = None,
    quiet: bool = False,
) -> Timing:
    """Time ``runs`` runs of a command (after ``warmup`` untimed ones); ``before(i)`` runs untimed first.

    ``argv`` may be a function of the run number, for commands that must differ each time.
    """
    timing = Timing(label)
    for i in range(-warmup, runs):
        if before is not None:
            before(i)
        command = argv(i) if callable(argv) else argv
        elapsed = run(command, env=env, cwd=cwd)
        if i >= 0:
            timing.samples.append(elapsed)
    if not quiet:
        print(timing.row(), flush=True)
    return timing


def measure_pair(
    first: tuple[str, Argv],
    second: tuple[str, Argv],
    *,
    env: Mapping[str, str],
    cwd: Path,
    runs: int,
    warmup: int = 1,
) -> tuple[Timing, Timing]:
    """Time two commands in alternation, run by run, so that both see the machine in the same state: on a
    machine whose speed drifts from minute to minute, two blocks of runs one after the other do not."""
    timings = (Timing(first[0]), Timing(second[0]))
    for i in range(-warmup, runs):
        for timing, (_, argv) in zip(timings, (first, second), strict=True):
            elapsed = run(argv, env=env, cwd=cwd)
            if i >= 0:
                timing.samples.append(elapsed)
    for timing in timings:
        print(timing.row(), flush=True)
    return timings


def pair_ratio_line(label: str, numerator: Timing, denominator: Timing) -> str:
    """The median of the run-by-run ratios of two timings measured by ``measure_pair``."""
    ratios = [a / b for a, b in zip(numerator.samples, denominator.samples, strict=True)]
    value = statistics.median(ratios)
    return f"{label:<58} {value:>9.2f}x  (median of {len(ratios)} paired runs, {min(ratios):.2f}-{max(ratios):.2f})"


def measure_call(label: str, fn: Callable[[], object], *, runs: int, warmup: int = 1, quiet: bool = False) -> Timing:
    """Time an in-process callable."""
    timing = Timing(label)
    for i in range(-warmup, runs):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        if i >= 0:
            timing.samples.append(elapsed)
    if not quiet:
        print(timing.row(), flush=True)
    return timing


def ratio_line(label: str, numerator: Timing, denominator: Timing) -> str:
    value = numerator.median / denominator.median
    return f"{label:<58} {value:>9.2f}x  ({ms(numerator.median)} / {ms(denominator.median)}, medians)"
