"""A real ``mkdocs serve``: an edit to an environment file shows in the served page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

import pytest

TIMEOUT = 60.0  # seconds, for the first page and again for the edit to show
MAX_REQUESTS = 120


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8"))
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _poll(url: str, wanted: str, server: subprocess.Popen[bytes]) -> tuple[str, int]:
    """Fetch ``url`` until its text holds ``wanted``: bounded in time and in requests."""
    deadline = time.monotonic() + TIMEOUT
    for attempt in range(1, MAX_REQUESTS + 1):
        assert server.poll() is None, "mkdocs serve exited"
        text = _fetch(url)
        if text is not None and wanted in text:
            return text, attempt
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    pytest.fail(
        f"{wanted!r} did not appear at {url} within {TIMEOUT:.0f} s / {MAX_REQUESTS} requests"
    )


def _collect(stream: IO[bytes]) -> tuple[list[str], threading.Thread]:
    """Read ``stream`` line by line in a thread: the lines so far, and the thread."""
    lines: list[str] = []

    def read() -> None:
        for line in stream:
            lines.append(line.decode("utf-8", "replace"))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return lines, thread


def _wait_for_line(lines: list[str], wanted: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not any(wanted in line for line in lines):
        assert server.poll() is None, "mkdocs serve exited"
        if time.monotonic() > deadline:
            pytest.fail(f"{wanted!r} not logged within {TIMEOUT:.0f} s:\n{''.join(lines)}")
        time.sleep(0.2)


@pytest.mark.slow
def test_an_edited_environment_shows_in_the_served_page(project: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "--livereload", "-a", f"127.0.0.1:{port}"],
        cwd=project,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert server.stderr is not None
    log, reader = _collect(server.stderr)
    try:
        url = f"http://127.0.0.1:{port}/environments/contoso/"
        page, _ = _poll(url, "Contoso Ltd", server)  # the dot is written as an entity
        assert "Contoso Renamed" not in page

        source = project / "environments" / "contoso.yml"
        source.write_text(
            source.read_text("utf-8").replace("title: Contoso Ltd.", "title: Contoso Renamed Ltd."),
            "utf-8",
        )
        page, _ = _poll(url, "Contoso Renamed", server)
        # The rest of the site is still served, unchanged.
        other = _fetch(f"http://127.0.0.1:{port}/environments/fabrikam/")
        assert other is not None and "Fabrikam" in other

        # Saved half-edited: the rebuild fails, naming the file, and the server carries on;
        # the next save that is valid shows.
        good = source.read_text("utf-8")
        source.write_text(good + "title: [unclosed\n", "utf-8")
        _wait_for_line(log, "environments/contoso.yml:", server)
        source.write_text(good.replace("Contoso Renamed", "Contoso Mended"), "utf-8")
        _poll(url, "Contoso Mended", server)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        reader.join(timeout=30)
        server.stderr.close()
    err = "".join(log)
    assert "runbook: invalid environment files:" in err, err
    assert "Traceback" not in err, err
