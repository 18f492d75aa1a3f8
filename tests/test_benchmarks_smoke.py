"""The regeneration benchmark still runs (at N = 10: a smoke test, no timing targets)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.slow
def test_the_benchmark_runs_at_n_10(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_regeneration.py"), "--repeat", "1",
         "--work", str(tmp_path)],
        env={**os.environ, "BENCH_N": "10"}, capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert out.startswith("machine: ")
    for prefix in (
        "issue 20: runbook build cold at N=10: ",
        "issue 20: runbook build edit at N=10: ",
        "issue 20: plugin's cold site at N=10: ",
        "issue 20: peak memory of runbook build at N=10: ",
        "issue 19: cold site with PDFs at N=10: ",
        "issue 19: warm site at N=10, PDFs on / off: ",
        "issue 19: mkdocs serve to the first page at N=10",
    ):
        assert [line for line in out.splitlines() if line.startswith(prefix)], (prefix, out)
    rows = [line for line in out.splitlines() if line.lstrip().startswith("10 |")]
    assert len(rows) == 5  # ca15320's site with change requests: at N = 100 only
    for row in rows:  # every figure is a measurement: a positive time
        times = [float(cell.split(" s")[0]) for cell in row.split("|")[2:] if " s " in cell]
        assert times and all(t > 0 for t in times), row
