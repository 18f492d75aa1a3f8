"""``runbook build`` after editing one environment, timed inside one Python process whose
imports are already done: the incremental work alone, without the interpreter's start-up
and the imports (the loader's pydantic model, Jinja, YAML) that a new process pays first.

    python benchmarks/edit_in_process.py PROJECT RUNS

Prints the median seconds of RUNS builds, each after a new title for environment 1.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import envgen

# What `runbook build` imports, and what loading and rendering the edited file import.
import generator.cli
import generator.loading
import generator.rendering  # noqa: F401
from generator.project import Project, build


def main(project: Path, runs: int) -> int:
    build(Project(project))  # the baseline: nothing to do
    times = []
    for run in range(runs):
        path = project / "environments" / f"{envgen.environment_name(1)}.yml"
        path.write_text(envgen.environment_yaml(1, title_suffix=f" in-process {run}"), "utf-8")
        start = time.perf_counter()
        report, _ = build(Project(project))
        times.append(time.perf_counter() - start)
        assert len(report.written) >= 2, report.written
    print(f"{statistics.median(times):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
