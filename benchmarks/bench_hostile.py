"""Budgets on hostile input (issue 6): time and peak memory of loading the worst cases of
the hostile corpus, as ratios against a valid environment file measured in the same run.

    .venv/bin/python benchmarks/bench_hostile.py [--runs 5]

In-process figures (median ``load()`` time, tracemalloc peak) isolate the loader; the
``runbook validate`` figures (wall time, peak RSS of a fresh process) are what a user sees.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from hostile_cases import BASE, GENERATED, HOSTILE  # noqa: E402

from generator.loading import load  # noqa: E402

RUNBOOK = Path(sys.executable).with_name("runbook")
TODAY = dt.date(2026, 11, 27)
WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def in_process(path: Path, runs: int) -> tuple[float, float]:
    """Median seconds of ``load()``, and its peak traced memory in MB."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        load(path, path.parent, TODAY)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    load(path, path.parent, TODAY)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak / 1e6


def as_command(path: Path, runs: int) -> tuple[float, float]:
    """Median wall seconds of ``runbook validate FILE`` and the largest peak RSS in MB."""
    walls, rss = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-I", "-S", "-c", WRAPPER, str(RUNBOOK), "validate", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        walls.append(float(out[0]))
        rss.append(int(out[1]) / 1024)
    return statistics.median(walls), max(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        cases = {"valid-baseline.yml": BASE, **{name: make() for name, make in GENERATED.items()}}  # type: ignore[operator]
        cases.update(
            {
                p.name: p.read_text("utf-8", "surrogateescape")
                for p in sorted(HOSTILE.glob("wrong-types*.yml"))
            }
        )
        for name, text in cases.items():
            (folder / name).write_text(str(text), "utf-8", "surrogateescape")
        load(folder / "valid-baseline.yml", folder, TODAY)  # warm-up: imports, caches
        results = {
            name: (*in_process(folder / name, args.runs), *as_command(folder / name, args.runs))
            for name in cases
        }
        base_t, base_m, base_w, base_r = results["valid-baseline.yml"]
        print(
            f"python {sys.version.split()[0]}, {args.runs} runs each; ratios against valid-baseline.yml"
        )
        print(
            f"{'file':34} {'load ms':>9} {'x':>6} {'peak MB':>8} {'x':>6} {'validate s':>11} {'x':>5} {'RSS MB':>7} {'x':>5}"
        )
        for name, (t, m, w, r) in results.items():
            print(
                f"{name:34} {t * 1e3:9.2f} {t / base_t:6.1f} {m:8.2f} {m / base_m:6.1f} {w:11.3f} {w / base_w:5.2f} {r:7.1f} {r / base_r:5.2f}"
            )
        print(
            "budgets: every hostile file refused; validate under 1 s and 200 MB (tests/test_hostile.py enforces)"
        )


if __name__ == "__main__":
    main()
