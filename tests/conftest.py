"""Shared fixtures: a copy of the example project in a temporary folder, test certificates."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "build" / "test-artifacts"
TODAY = dt.date(2026, 11, 27)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/ from the current output"
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def artifacts() -> Path:
    """Where tests put files for a person to look at (ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's docs project (mkdocs.yml, docs/, templates/, environments/)."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    for folder in ("docs", "templates", "environments", "schema"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def snapshot(folder: Path, pattern: str = "*") -> dict[str, bytes]:
    """{relative path: bytes} of every regular file below ``folder`` matching ``pattern``
    (links left out), to compare a tree before and after a command."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob(pattern))
        if p.is_file() and not p.is_symlink()
    }


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in ``cwd`` as a test user (no signing, no user configuration needed)."""
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=cwd,
        check=check,
        capture_output=True,
        text=True,
        timeout=60,
    )


CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def only(project: Path, *names: str) -> None:
    """Keep only these environments in the project (a site lays out three change requests
    for each): for the tests that need one or two, not all the examples."""
    for path in (project / "environments").glob("*.yml"):
        if path.stem not in names:
            path.unlink()
            shutil.rmtree(project / "docs" / "environments" / path.stem, ignore_errors=True)


def without_change_requests(project: Path) -> None:
    """The project's site without the change-request PDFs (placeholders in their place), for
    the tests about something else: laying out every PDF costs seconds a build."""
    config = project / "mkdocs.yml"
    text = config.read_text("utf-8")
    assert "  - runbook\n" in text
    config.write_text(
        text.replace("  - runbook\n", "  - runbook:\n      change_requests: false\n"), "utf-8"
    )


@contextlib.contextmanager
def served_site(project: Path) -> Iterator[str]:
    """`mkdocs build --strict` of ``project`` into project/site, served on
    127.0.0.1:<free port>; yields the origin (http://127.0.0.1:PORT)."""
    out = project / "site"
    without_change_requests(project)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=project, capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(out))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
