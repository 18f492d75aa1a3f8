"""Regeneration benchmark: this code beside commit ca15320's, measured in the same run.

    make bench                       # N = 10, 100, 1,000 (site) and up to 10,000 (rendering)
    make bench BENCH_N=10            # one size only (the CI smoke test runs this)

Every figure is the wall time of a fresh process (median of ``--repeat`` runs at N <= 100,
one run above) and its peak memory, on synthetic projects (``envgen.py``). What is measured
and how to read it: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import envgen  # noqa: E402

PY = sys.executable
BASELINE = "ca15320"
SNAPSHOT = ("generator", "templates", "docs", "schema", "environments/certs", "mkdocs.yml")
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONHASHSEED": "0"}


@dataclass
class Figure:
    seconds: float
    peak_mb: float

    def __str__(self) -> str:
        return f"{self.seconds:8.2f} s {self.peak_mb:5.0f} MB"


def measure(cmd: list[str], cwd: Path, code: Path) -> Figure:
    """Run ``cmd`` with the generator at ``code``: wall time and peak memory (wait4)."""
    start = time.perf_counter()
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(code), str(HERE)])}
    process = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err.decode()[-3000:]}")
    return Figure(time.perf_counter() - start, usage.ru_maxrss / 1024)


def median(figures: list[Figure]) -> Figure:
    return Figure(statistics.median(f.seconds for f in figures), max(f.peak_mb for f in figures))


def repeat(times: int, setup: object, cmd: list[str], cwd: Path, code: Path) -> Figure:
    figures = []
    for _ in range(times):
        setup()  # type: ignore[operator]
        figures.append(measure(cmd, cwd, code))
    return median(figures)


def snapshot(work: Path, rev: str | None) -> Path:
    """The generator, templates and docs project of ``rev`` (None: the working tree), compiled."""
    target = work / (rev or "new")
    if rev is None:
        for name in SNAPSHOT:
            (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(
                REPO / name, target / name
            )
    else:
        data = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, *SNAPSHOT], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            archive.extractall(target, filter="data")
    subprocess.run([PY, "-m", "compileall", "-q", str(target / "generator")], check=True)
    return target


def _rm(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _edit_one(project: Path, counter: list[int]) -> None:
    counter[0] += 1
    path = project / "environments" / f"{envgen.environment_name(1)}.yml"
    path.write_text(envgen.environment_yaml(1, title_suffix=f" edit {counter[0]}"), "utf-8")


def bench_rendering(work: Path, n: int, times: int, code: Path, floor: bool) -> dict[str, Figure]:
    project = envgen.make_project(work / f"render-{n}-{code.name}", n, source=code)
    build = [PY, "-m", "generator", "build", "-q", "--project", str(project)]
    out = project / "docs" / "environments"
    result = {"cold": repeat(times, lambda: _rm(out, project / ".cache"), build, project, code)}
    result["warm"] = repeat(times, lambda: None, build, project, code)
    counter = [0]
    result["edit"] = repeat(times, lambda: _edit_one(project, counter), build, project, code)
    if floor:
        result["floor"] = repeat(
            times, lambda: None, [PY, str(HERE / "floor.py"), str(project)], project, code
        )
    _rm(project)
    return result


def bench_site(
    work: Path, n: int, times: int, code: Path, pdfs: bool, new: bool
) -> dict[str, Figure]:
    """``mkdocs build`` with the plugin: cold (no cache, no site/), warm, one edited; the new
    code also to the first page of ``mkdocs serve``."""
    project = envgen.make_project(
        work / f"site-{n}-{code.name}-{pdfs}", n, source=code, change_requests=pdfs
    )
    mkdocs = [PY, "-m", "mkdocs", "build", "-q"]
    cold = lambda: _rm(project / ".cache", project / "site")  # noqa: E731
    result = {"cold": repeat(1 if pdfs else times, cold, mkdocs, project, code)}
    if new:
        result["warm"] = repeat(times, lambda: None, mkdocs, project, code)
        counter = [0]
        result["edit"] = repeat(times, lambda: _edit_one(project, counter), mkdocs, project, code)
        if pdfs:
            result["serve"] = median([first_page(project, code) for _ in range(times)])
    _rm(project)
    return result


def first_page(project: Path, code: Path) -> Figure:
    """Seconds from starting ``mkdocs serve`` (cold) to the first environment page served."""
    _rm(project / ".cache", project / "site")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**ENV, "PYTHONPATH": str(code)}
    start = time.perf_counter()
    server = subprocess.Popen(
        [PY, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/environments/{envgen.environment_name(1)}/"
    try:
        while True:
            assert server.poll() is None and time.perf_counter() - start < 600, "serve failed"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    response.read()
                    return Figure(time.perf_counter() - start, 0)
            except OSError:
                time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=60)


def machine() -> str:
    load = os.getloadavg()
    return (
        f"machine: {platform.system()} {platform.release()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average at start {load[0]:.2f}; baseline {BASELINE}"
    )


def ratio(new: float, old: float) -> float:
    return new / old if old else float("nan")


def verdict(value: float, target: float) -> str:
    return "holds" if value <= target else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default=os.environ.get("BENCH_N") or "10,100,1000", help="site sizes"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure at N <= 100")
    parser.add_argument("--work", type=Path, default=None, help="folder for the projects")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    render_sizes = sorted({*sizes, 10000}) if 1000 in sizes else sizes
    pdf_size = max(n for n in sizes if n <= 100)
    started = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="runbook-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    new, old = snapshot(work, None), snapshot(work, BASELINE)

    def times(n: int) -> int:
        return args.repeat if n <= 100 else 1

    print(machine())
    print(
        f"sizes: site {sizes}, rendering {render_sizes}, change requests {pdf_size}; runs per figure {args.repeat} at N <= 100, 1 above"
    )
    render: dict[tuple[int, str], dict[str, Figure]] = {}
    site: dict[tuple[int, str, bool], dict[str, Figure]] = {}
    try:
        print("\n(a) runbook build: cold, nothing changed, one edited; the floor")
        print(
            f"{'N':>6} | {'code':>8} | {'cold':>16} | {'warm':>16} | {'edit one':>16} | {'floor':>16}"
        )
        for n in render_sizes:
            for code in (new, old):
                r = render[n, code.name] = bench_rendering(
                    work, n, times(n), code, floor=code is new
                )
                print(
                    f"{n:>6} | {code.name:>8} | {r['cold']} | {r['warm']} | {r['edit']} | {r.get('floor', '-')}",
                    flush=True,
                )
        print(
            "\n(b) mkdocs build with the plugin: cold, warm, one edited; serve: to the first page"
        )
        print(
            f"{'N':>6} | {'code':>8} | {'PDFs':>5} | {'cold':>16} | {'warm':>16} | {'edit one':>16} | {'serve':>16}"
        )
        for n in sizes:
            for code, pdfs in ((new, False), (old, False), (new, True), (old, True)):
                if pdfs and (n != pdf_size or (code is old and n < 100)):
                    continue  # ca15320 lays change requests out one by one: at N = 100 only
                s = site[n, code.name, pdfs] = bench_site(
                    work, n, times(n), code, pdfs, new=code is new
                )
                cells = [str(s.get(k, f"{'-':>16}")) for k in ("cold", "warm", "edit", "serve")]
                print(
                    f"{n:>6} | {code.name:>8} | {'on' if pdfs else 'off':>5} | {' | '.join(cells)}",
                    flush=True,
                )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\ntargets (this run, {time.perf_counter() - started:.0f} s):")
    big = max(n for n in render_sizes if n <= 1000)
    for figure, target in (("cold", 1.2), ("edit", 1.2)):
        value = ratio(render[big, "new"][figure].seconds, render[big, BASELINE][figure].seconds)
        print(
            f"issue 20: runbook build {figure} at N={big}: {value:.2f}x {BASELINE}'s ({verdict(value, target)}, target <= {target}x)"
        )
    for n in sizes:
        value = ratio(
            site[n, "new", False]["cold"].seconds, site[n, BASELINE, False]["cold"].seconds
        )
        print(
            f"issue 20: plugin's cold site at N={n}: {value:.2f}x {BASELINE}'s ({verdict(value, 1.1)}, target <= 1.1x)"
        )
    top = max(render_sizes)
    peak, floor = render[top, "new"]["cold"].peak_mb, render[top, "new"]["floor"].peak_mb
    peaks = ", ".join(
        f"{k} {render[top, 'new'][k].peak_mb:.0f} MB" for k in ("cold", "warm", "edit")
    )
    print(
        f"issue 20: peak memory of runbook build at N={top}: {peaks}; floor {floor:.0f} MB ({verdict(peak, floor + 100)}, target <= floor + 100 MB)"
    )
    on, off = site[pdf_size, "new", True], site[pdf_size, "new", False]
    old_figure = site.get((pdf_size, BASELINE, True))
    old_on = old_figure["cold"].seconds if old_figure else float("nan")
    budget = max(0.6 * old_on, 3 * off["cold"].seconds) if old_figure else 3 * off["cold"].seconds
    print(
        f"issue 19: cold site with PDFs at N={pdf_size}: {on['cold'].seconds:.2f} s; {BASELINE}'s {old_on:.2f} s, without PDFs {off['cold'].seconds:.2f} s; budget max(0.6x, 3x) {budget:.2f} s ({verdict(on['cold'].seconds, budget)})"
    )
    value = ratio(on["warm"].seconds, off["warm"].seconds)
    print(
        f"issue 19: warm site at N={pdf_size}, PDFs on / off: {value:.2f}x ({verdict(value, 1.1)}, target <= 1.1x)"
    )
    value = ratio(on["serve"].seconds, off["cold"].seconds)
    print(
        f"issue 19: mkdocs serve to the first page at N={pdf_size} / cold build without PDFs: {value:.2f}x ({verdict(value, 1.2)}, target <= 1.2x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
