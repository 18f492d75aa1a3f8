"""Issue 7: --quiet and --verbose, colour that follows the terminal and NO_COLOR, shell
completion of environment names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
from click.testing import CliRunner

from generator.cli import main

RUNBOOK = str(Path(sys.executable).parent / "runbook")
ESC = "\x1b["


def test_quiet_prints_only_diagnostics(project: Path) -> None:
    loud = CliRunner().invoke(main, ["validate", "--project", str(project)])
    quiet = CliRunner().invoke(main, ["validate", "-q", "--project", str(project)])
    assert loud.exit_code == quiet.exit_code == 0
    assert "file(s) checked" in loud.stderr
    assert "file(s) checked" not in quiet.stderr
    assert "warning:" in quiet.stderr  # the undocumented pair's warning is still shown


def test_verbose_lists_every_file_written(project: Path) -> None:
    (project / "environments" / "contoso.yml").write_text(
        (project / "environments" / "contoso.yml")
        .read_text("utf-8")
        .replace("Redmond production pool", "Redmond"),
        "utf-8",
    )
    result = CliRunner().invoke(main, ["build", "-v", "--project", str(project)])
    assert result.exit_code == 0, result.stderr
    assert f"wrote {project / 'docs' / 'environments' / 'contoso' / 'index.md'}" in result.stderr
    quiet = CliRunner().invoke(main, ["build", "--quiet", "--project", str(project)])
    assert quiet.exit_code == 0 and "written" not in quiet.stderr


def _on_a_terminal(project: Path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | env
    child = pexpect.spawn(
        RUNBOOK, ["validate", "--project", str(project)], env=environ, encoding="utf-8", timeout=30
    )
    child.expect(pexpect.EOF)
    child.close()
    return child.before or ""


def test_colour_on_a_terminal_and_none_with_no_color(project: Path) -> None:
    coloured = _on_a_terminal(project)
    assert ESC in coloured and "warning:" in coloured
    plain = _on_a_terminal(project, NO_COLOR="1")
    assert ESC not in plain and "warning:" in plain


def test_no_colour_when_output_is_not_a_terminal(project: Path) -> None:
    done = subprocess.run(
        [RUNBOOK, "validate", "--project", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ESC not in done.stderr and "warning:" in done.stderr


def test_shell_completion_completes_environment_names(project: Path) -> None:
    env = {
        **os.environ,
        "_RUNBOOK_COMPLETE": "bash_complete",
        "COMP_WORDS": f"runbook build --project {project} c",
        "COMP_CWORD": "4",
    }
    done = subprocess.run([RUNBOOK], env=env, capture_output=True, text=True, check=False)
    assert done.stdout.split() == ["plain,contoso"]
    env["COMP_WORDS"] = f"runbook change-request --project {project} "
    env["COMP_CWORD"] = "4"
    done = subprocess.run([RUNBOOK], env=env, capture_output=True, text=True, check=False)
    assert done.stdout.split() == [
        "plain,contoso",
        "plain,fabrikam",
        "plain,litwareinc",
        "plain,northwind",
    ]


def test_a_progress_bar_on_a_terminal_only(project: Path) -> None:
    base = (project / "environments" / "litwareinc.yml").read_text("utf-8")
    for i in range(25):
        (project / "environments" / f"lab{i:02}.yml").write_text(base, "utf-8")
    child = pexpect.spawn(
        RUNBOOK,
        ["build", "--project", str(project)],
        env={**os.environ, "NO_COLOR": "1"},
        encoding="utf-8",
        timeout=120,
    )
    child.expect(pexpect.EOF)
    child.close()
    shown = child.before or ""
    assert child.exitstatus == 0, shown
    assert "Rendering environments" in shown and "100%" in shown
    (project / "environments" / "lab00.yml").write_text(
        base.replace("Atlanta production", "Atlanta"), "utf-8"
    )
    piped = subprocess.run(
        [RUNBOOK, "build", "--project", str(project)], capture_output=True, text=True, check=False
    )
    assert piped.returncode == 0 and "Rendering" not in piped.stderr and "%" not in piped.stderr
    quiet = pexpect.spawn(
        RUNBOOK, ["build", "-q", "--project", str(project)], encoding="utf-8", timeout=120
    )
    quiet.expect(pexpect.EOF)
    quiet.close()
    assert "Rendering" not in (quiet.before or "")


def test_jobs_option(project: Path) -> None:
    serial = CliRunner().invoke(main, ["build", "--jobs", "1", "--project", str(project)])
    assert serial.exit_code == 0, serial.stderr
    wrong = CliRunner().invoke(main, ["build", "--jobs", "0", "--project", str(project)])
    assert wrong.exit_code == 2 and "--jobs" in wrong.stderr
