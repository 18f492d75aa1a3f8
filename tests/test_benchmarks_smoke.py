"""The regeneration benchmark still runs (at N = 10: a smoke test, no timing targets)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.slow
def test_the_benchmark_runs_at_n_10(tmp_path: object) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_regeneration.py"),
            "--repeat",
            "1",
            "--work",
            str(tmp_path),
        ],
        env={**os.environ, "BENCH_N": "10"},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert out.startswith("machine: ")
    assert "sizes: site [10], rendering [10]" in out
    for prefix in (
        "ratio (a) runbook build / floor at N=10: cold ",
        "ratio (a) memory of runbook build",
        "ratio (b) plugin / pre-rendered at N=10: ",
        "ratio (d) ",
        "ratio (e) runbook build after editing one of N=10: ",
        "ratio (e) site rebuild after editing one of N=10: ",
        "ratio (f) peak memory at N=10: ",
    ):
        assert [line for line in out.splitlines() if line.startswith(prefix)], (
            f"no line starting {prefix!r}:\n{out}"
        )
    # The lower bounds beside (b) and (e) are measured too: positive seconds, each a ratio.
    bound_b = re.search(
        r"ratio \(b\) plugin / pre-rendered at N=10: .*; bound: compiling the templates alone "
        r"(\d+\.\d+) s, (\d+\.\d+)x, the floor's work inside mkdocs (\d+\.\d+) s, (\d+\.\d+)x",
        out,
    )
    assert bound_b, out
    assert all(float(value) > 0 for value in bound_b.groups())
    # The floor's work includes the compiling, so it takes longer.
    assert float(bound_b[3]) > float(bound_b[1])
    bound_e = re.search(
        r"\(bound: a new process .*: (\d+\.\d+) s, (\d+\.\d+)% of the full build\)", out
    )
    assert bound_e, out
    assert float(bound_e[1]) > 0 and float(bound_e[2]) > 0
    # A bound is less than what it bounds: the edited build does all of it and more.
    rendering_row = next(line for line in out.splitlines() if line.lstrip().startswith("10 |"))
    edit_one = float(rendering_row.split("|")[4].split(" s")[0])
    assert float(bound_e[1]) < edit_one, (bound_e[0], rendering_row)
    # Every figure is a real measurement: a positive time for each column of each table.
    rows = [line for line in out.splitlines() if line.lstrip().startswith("10 |")]
    assert len(rows) == 2
    for row in rows:
        times = [float(cell.split(" s")[0]) for cell in row.split("|")[1:] if " s " in cell]
        assert len(times) >= 4 and all(t > 0 for t in times), row
