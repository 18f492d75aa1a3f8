"""Change requests of many environments: cached by their inputs (a warm build renders no
HTML), laid out in parallel, one environment's problem never the others', and `mkdocs
serve` answers before they are done."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, snapshot, without_change_requests

from generator import changerequests, pdf, rendering
from generator.cli import main

ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "SOURCE_DATE_EPOCH": "1764201600"}
NAMES = tuple(sorted(p.stem for p in (REPO / "environments").glob("*.yml")))
SLUGS = rendering.procedures(rendering.make_jinja_env(REPO / "templates"))
# Every change request of the site: one per environment and procedure.
DOCUMENTS = sorted(f"{n}/{rendering.change_request_name(n, slug)}" for n in NAMES for slug in SLUGS)


def _mkdocs(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *args],
        cwd=project, env=ENV, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _pdfs(site: Path) -> dict[str, bytes]:
    return snapshot(site, "*.pdf")


@pytest.mark.slow
def test_the_site_makes_each_change_request_once_and_a_warm_build_renders_no_html(
    project: Path,
) -> None:
    first = _mkdocs(project, "--strict")
    assert first.returncode == 0, first.stderr
    assert f"{len(DOCUMENTS)} change request(s), 0 from the cache" in first.stderr
    made = _pdfs(project / "site")
    assert sorted(made) == [f"environments/{d}" for d in DOCUMENTS]
    assert all(
        data.startswith(b"%PDF-") and b"being laid out" not in data for data in made.values()
    )
    again = _mkdocs(project, "--strict")  # nothing changed: none made, no HTML rendered
    assert f"{len(DOCUMENTS)} change request(s), {len(DOCUMENTS)} from the cache" in again.stderr
    assert _pdfs(project / "site") == made
    path = project / "environments" / "fabrikam.yml"
    path.write_text(path.read_text("utf-8").replace("title: ", "title: Renamed ", 1), "utf-8")
    assert (
        f"{len(DOCUMENTS)} change request(s), {len(DOCUMENTS) - len(SLUGS)} from the cache"
        in _mkdocs(project, "--strict").stderr
    )


@pytest.mark.slow
def test_one_environments_broken_change_request_leaves_the_others_and_strict_decides(
    project: Path,
) -> None:
    template = project / "templates" / pdf.TEMPLATE
    template.write_text(
        '{% if ctx.name == "fabrikam" %}{{ ctx.no_such_thing.x }}{% endif %}'
        + template.read_text("utf-8"),
        "utf-8",
    )
    strict = _mkdocs(project, "--strict")
    assert strict.returncode == 1
    assert (
        "ERROR" in strict.stderr and "change request of environments/fabrikam.yml" in strict.stderr
    )
    loose = _mkdocs(project, "--no-strict")
    assert loose.returncode == 0, loose.stderr
    site = project / "site" / "environments"
    assert (site / "fabrikam" / "index.html").is_file()  # its page is built
    made = _pdfs(project / "site")
    assert b"could not be made" in made["environments/fabrikam/fabrikam-change-request.pdf"]
    for name in ("contoso", "litwareinc"):
        assert b"could not be made" not in made[f"environments/{name}/{name}-change-request.pdf"]


@pytest.mark.slow
def test_change_request_all_writes_every_environments_pdf(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "pdfs"
    result = CliRunner().invoke(
        main, ["change-request", "--all", "-o", str(out), "--project", str(project)]
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(d.split("/")[1] for d in DOCUMENTS)
    wrong = CliRunner().invoke(
        main, ["change-request", "contoso", "--all", "-o", str(out), "--project", str(project)]
    )
    assert wrong.exit_code == 2


def test_the_placeholder_is_a_pdf_that_says_so() -> None:
    import io

    import pypdf

    data = changerequests.placeholder("The change request of contoso (a test) is coming.")
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "The change request of contoso (a test) is coming." in text.replace("\n", " ")


@pytest.mark.slow
def test_serve_answers_before_the_change_requests_are_done(project: Path) -> None:
    """`mkdocs serve` serves the pages first; a change request's link shows a page that says
    it is coming until the workers have made it."""
    base = (project / "environments" / "litwareinc.yml").read_text("utf-8")
    for i in range(6):
        (project / "environments" / f"lab{i}.yml").write_text(base, "utf-8")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=project, env={**ENV, "RUNBOOK_JOBS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    origin = f"http://127.0.0.1:{port}"
    try:
        page = _get(f"{origin}/environments/lab5/", server)
        assert b"Litware" in page
        first = _get(f"{origin}/environments/lab5/lab5-change-request.pdf", server)
        assert b"%PDF-" in first[:8]
        assert len(first) < 2000, "the last change request was made before the page answered"
        deadline = time.monotonic() + 120
        while len(_get(f"{origin}/environments/lab5/lab5-change-request.pdf", server)) < 2000:
            assert time.monotonic() < deadline, "the change request never came"
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, server: subprocess.Popen[bytes]) -> bytes:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "mkdocs serve exited"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bytes(response.read())
        except OSError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.2)


def test_a_site_without_change_requests_links_to_how_to_make_them(project: Path) -> None:
    without_change_requests(project)
    done = _mkdocs(project, "--strict")
    assert done.returncode == 0, done.stderr
    import io

    import pypdf

    data = (
        project / "site" / "environments" / "contoso" / "contoso-change-request.pdf"
    ).read_bytes()
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text().replace("\n", " ")
    assert "runbook change-request contoso --procedure integration -o FILE.pdf" in text
