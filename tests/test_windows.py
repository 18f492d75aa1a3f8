"""The command line where POSIX-only modules are missing (as on Windows): no ``fcntl``, no
``os.O_NOFOLLOW``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

WRAPPER = (
    "import os, sys, warnings\n"
    "warnings.simplefilter('ignore')\n"  # filelock says it falls back to a soft lock
    "sys.modules['fcntl'] = None\n"
    "del os.O_NOFOLLOW\n"
    "from generator.cli import main\n"
    "sys.argv[0] = 'runbook'\n"
    "main()\n"
)


def _runbook(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, *args, "--project", str(project)],
        cwd=project, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip


def test_the_commands_run_without_fcntl_and_o_nofollow(project: Path, tmp_path: Path) -> None:
    assert _runbook(project, "validate").returncode == 0
    path = project / "environments" / "contoso.yml"
    path.write_text(path.read_text("utf-8").replace("title: ", "title: Edited ", 1), "utf-8")
    first = _runbook(project, "build")
    assert first.returncode == 0, first.stderr
    assert re.search(r"\b[1-9][0-9]* written", first.stderr) and "/" in first.stderr
    second = _runbook(project, "build")
    assert second.returncode == 0 and "0 written, 0 removed" in second.stderr, second.stderr
    assert _runbook(project, "build", "--check").returncode == 0
    pdf = tmp_path / "cr.pdf"
    made = _runbook(project, "change-request", "contoso", "-o", str(pdf))
    assert made.returncode == 0, made.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "Traceback" not in first.stderr + made.stderr
