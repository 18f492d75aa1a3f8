"""Time to build one change-request PDF, cold and warm (median of several runs). Not a test.

Cold: a fresh Python process per run (imports, WeasyPrint's fonts, Jinja templates), as
``runbook change-request`` pays it. Warm: the same process builds the document again (as a
worker of the site's build does). The target is under 1 s warm per document. CPU time is printed too:
on a shared, busy machine the wall time says more about the neighbours than about us.

Run:  .venv/bin/python benchmarks/bench_change_request.py [--runs N] [NAME]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator import loading, pdf, rendering  # noqa: E402

COLD = """
import sys, time
t, c = time.perf_counter(), time.process_time()
from pathlib import Path
from generator import pdf, rendering
from generator.loading import load_named
import datetime as dt
root = Path(sys.argv[1])
env = load_named(root, sys.argv[2], dt.date.today())
data, _ = pdf.make_pdf(rendering.make_jinja_env(root / "templates"), env)
print(time.perf_counter() - t, time.process_time() - c)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="contoso")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env_vars = {**os.environ, "SOURCE_DATE_EPOCH": "1764201600", "PYTHONPATH": str(ROOT)}

    cold = []
    for _ in range(args.runs):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD, str(ROOT), args.name],
            env=env_vars,
            capture_output=True,
            text=True,
            check=True,
        )
        wall, cpu = map(float, out.stdout.split())
        cold.append((time.perf_counter() - start, wall, cpu))

    today = dt.date.today()
    jinja_env = rendering.make_jinja_env(ROOT / "templates")
    env = loading.load_named(ROOT, args.name, today)
    pdf.write_pdf(pdf.render_html(jinja_env, env))  # warm up: imports, fonts, templates
    warm, warm_cpu, html_only = [], [], []
    for _ in range(args.runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        env = loading.load_named(ROOT, args.name, today)
        document = pdf.render_html(jinja_env, env)
        html_only.append(time.perf_counter() - start)
        pdf.write_pdf(document)
        warm.append(time.perf_counter() - start)
        warm_cpu.append(time.process_time() - cpu_start)

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.3f} s"

    print(
        f"change request of {args.name!r}, median of {args.runs} runs "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):"
    )
    print(f"  cold, new process (wall, incl. interpreter start): {med([c[0] for c in cold])}")
    print(
        f"  cold, new process (in-process, imports included):  {med([c[1] for c in cold])}   CPU {med([c[2] for c in cold])}"
    )
    print(
        f"  warm, load + HTML + WeasyPrint:                     {med(warm)}   CPU {med(warm_cpu)}   (target < 1 s)"
    )
    print(f"  warm, load + HTML only:                             {med(html_only)}")
    print(
        f"reproduce: .venv/bin/python benchmarks/bench_change_request.py --runs {args.runs} {args.name}"
    )


if __name__ == "__main__":
    main()
