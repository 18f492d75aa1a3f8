"""Templates: StrictUndefined everywhere, errors name the template and line, and values
from YAML are never rendered as templates (issue 6)."""

from __future__ import annotations

import html
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from conftest import REPO, snapshot, without_change_requests

from generator.cli import main

MKDOCS = str(Path(sys.executable).parent / "mkdocs")


def test_an_undefined_name_fails_with_template_and_line_and_writes_nothing(project: Path) -> None:
    template = project / "templates" / "integration.md.j2"
    lines = template.read_text("utf-8").splitlines(keepends=True)
    lines.insert(20, "{{ ctx.env.no_such_key }}\n")
    template.write_text("".join(lines), "utf-8")
    (project / "environments" / "litwareinc.yml").write_text(
        (project / "environments" / "litwareinc.yml")
        .read_text("utf-8")
        .replace("Atlanta production", "Atlanta"),
        "utf-8",
    )
    before = snapshot(project / "docs")
    result = CliRunner().invoke(main, ["build", "--project", str(project)])
    assert result.exit_code == 1
    assert "integration.md.j2:21:" in result.stderr
    assert "no_such_key" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(project / "docs") == before


def test_a_template_syntax_error_names_template_and_line(project: Path) -> None:
    template = project / "templates" / "overview.md.j2"
    template.write_text(template.read_text("utf-8") + "\n{% if %}\n", "utf-8")
    result = CliRunner().invoke(main, ["build", "--project", str(project)])
    assert result.exit_code == 1
    line = len(template.read_text("utf-8").splitlines())
    assert f"overview.md.j2:{line}:" in result.stderr, result.stderr


def test_values_are_never_rendered_as_templates(project: Path, tmp_path: Path) -> None:
    path = project / "environments" / "litwareinc.yml"
    text = path.read_text("utf-8")
    text = text.replace("title: Litware Inc.", 'title: "Litware {{ 7*7 }} {% raw %}"')
    text = text.replace(
        "description: Atlanta production, Lync Server 2013 with Exchange Server 2013",
        'description: "{{ ctx.env }} ${x} *no emphasis*"',
    )
    path.write_text(text, "utf-8")
    result = CliRunner().invoke(main, ["build", "--project", str(project)])
    assert result.exit_code == 0, result.stderr
    site = tmp_path / "site"
    without_change_requests(project)  # the pages are the point here
    built = subprocess.run(
        [MKDOCS, "build", "--strict", "-q", "-d", str(site)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert built.returncode == 0, built.stderr
    page = (site / "environments" / "litwareinc" / "index.html").read_text("utf-8")
    shown = html.unescape(re.sub(r"<[^>]+>", "", page))  # the text a reader sees
    assert "Litware {{ 7*7 }} {% raw %}" in shown
    assert "Litware 49" not in shown
    assert "{{ ctx.env }} ${x} *no emphasis*" in shown
    assert "<em>no emphasis</em>" not in page


def test_every_indented_block_of_a_page_ends_with_a_blank_line() -> None:
    """An admonition's or a tab's indented body is followed by a blank line before the next
    unindented line: a template tag at a line's end (trim_blocks) once ate it, so the page
    source read ``reading of that (UNVERIFIED).`` straight into ``**Shell.**``. The golden
    pages (equal to the rendered ones, tests/test_golden.py) cover both branches of each
    such tag: a CNAME and an A record, a documented and an undocumented product pair."""
    pages = sorted((REPO / "tests" / "golden").rglob("*.md"))
    assert len(pages) >= 6
    glued = []
    for page in pages:
        lines = page.read_text("utf-8").splitlines()
        fenced = False  # inside an unindented ``` block: code, where indentation is its own
        for number, (before, line) in enumerate(itertools.pairwise(lines), start=2):
            if before.startswith("```"):
                fenced = not fenced
            if fenced:
                continue
            if before.startswith("    ") and before.strip() and line and not line[0].isspace():
                glued.append(f"{page.relative_to(REPO)}:{number}: {line[:60]}")
    assert glued == []
