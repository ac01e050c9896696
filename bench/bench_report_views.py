"""What the report's newer views cost: the report model and its JSON with the default sections of old
(everything but ``sessions`` and ``hours``) as the baseline, against the same with ``sessions``, with
``hours``, with both (today's default), with ``--breakdown``, and ``--compare 30d``; each in this process, on
one loaded ledger, the runs of each variant interleaved with the baseline's.

    python bench/bench_report_views.py                  # 100,000 commits / 300,000 records, 5 runs
    python bench/bench_report_views.py --commits 20000 --runs 9
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from make_ledger import add_spec_arguments, prepare, scratch_copy
from timing import header

BASELINE = "overall,branch,time,branches,merges,models,authors,recent,costs,trends"
VARIANTS: dict[str, dict[str, object]] = {
    "+ sessions": {"sections": BASELINE + ",sessions"},
    "+ hours": {"sections": BASELINE + ",hours"},
    "+ sessions and hours (the default)": {},
    "+ --breakdown": {"sections": BASELINE, "breakdown": True},
    "--compare 30d": {"compare": ("30d",)},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_spec_arguments(parser, commits=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work_dir, pristine, _, _ = prepare(args, adopt_env=True)
    from gitokens.git.repo import open_repo  # after prepare: libgit2 reads the hermetic HOME
    from gitokens.report import cache, pipeline, render

    repo = open_repo(scratch_copy(pristine, work_dir / "scratch" / "views"))
    columns = cache.load(repo)

    def report(**choices: object) -> Callable[[], object]:
        return lambda: render.render(pipeline.make(repo, columns, tz_name="Europe/Paris", **choices), "json")

    header("report model + JSON, in process (medians of paired runs)", columns=False)
    for label, choices in VARIANTS.items():
        ratios, base_ms = [], []
        for _ in range(args.runs):
            base, variant = _seconds(report(sections=BASELINE)), _seconds(report(**choices))
            ratios.append(variant / base)
            base_ms.append(base * 1000)
        print(f"{label:<40} {statistics.median(ratios):6.2f}x of the old default ({statistics.median(base_ms):.0f} ms)")
    return 0


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
