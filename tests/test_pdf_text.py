"""Change requests in any language, on any machine: text in every script reaches the PDF (a
PNG of page 1 for a person to look at), a character no installed font has becomes a
warning and a visible substitute, WeasyPrint's notes about the machine are not errors, and a
mistake in our own template still is."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import only
from pypdf import PdfReader

TITLE = "東京本社 ＄（）；"  # noqa: RUF001 (Japanese, full-width forms on purpose)
DESCRIPTION = "مرحبا بالعالم — שלום עולם — 한국어 설명"  # Arabic, Hebrew, Korean
SUMMARY = "統合作業: Skype for Business と Exchange"
NO_FONT = "\U0001fae0"  # an emoji newer than every font the system packages install


def environment(project: Path, name: str, title: str, description: str, summary: str) -> None:
    (project / "environments" / f"{name}.yml").write_text(
        textwrap.dedent(f"""\
            title: "{title}"
            description: "{description}"
            domain: contoso.com
            sip_domain: contoso.com
            lync:
              product: sfb2019
              pool: pool01.contoso.com
              front_ends: [fe01.contoso.com]
            exchange:
              product: exchange2016
              servers: [ex01.contoso.com]
            change:
              summary: "{summary}"
            """),
        "utf-8",
    )


def mkdocs_build(project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **env},
    )


def runbook(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def text_of(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)


def test_text_in_every_script_reaches_the_pdf(project: Path, artifacts: Path) -> None:
    only(project)
    environment(project, "tokyo", TITLE, f"{DESCRIPTION} {NO_FONT}", SUMMARY)
    done = mkdocs_build(project)
    assert done.returncode == 0, done.stderr
    # The character no font has is named with its environment and field, not an error.
    assert "environments/tokyo.yml:2:" in done.stderr
    assert f"description: no installed font can show '{NO_FONT}' (U+1FAE0)" in done.stderr
    pdf = project / "site" / "environments" / "tokyo" / "tokyo-change-request.pdf"
    text = text_of(pdf)
    for words in (TITLE, SUMMARY, *DESCRIPTION.split(" — ")):
        assert words in text, words
    assert NO_FONT not in text and "\ufffd" in text  # the visible substitute
    png = artifacts / "change-request-scripts"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", pdf, png],
        check=True,
        timeout=60,
    )
    assert png.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_a_character_no_font_has_is_a_located_warning(project: Path) -> None:
    environment(project, "seoul", "Seoul", f"서울 {NO_FONT}", "Integration")
    out = project / "seoul.pdf"
    done = runbook(project, "change-request", "seoul", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert (
        f"environments/seoul.yml:2:18: warning: description: no installed font can show "
        f"'{NO_FONT}' (U+1FAE0); the change request prints \ufffd instead"
    ) in done.stderr
    assert "서울 \ufffd" in text_of(out)


def test_site_builds_without_harfbuzz_subset(project: Path, tmp_path: Path) -> None:
    """Without the optional HarfBuzz-Subset library WeasyPrint subsets fonts with fontTools
    and says so: a note about the machine, which must not fail a strict build."""
    only(project, "contoso")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    mark = tmp_path / "fonttools-used"
    (hooks / "sitecustomize.py").write_text(
        textwrap.dedent("""\
            import os
            import weasyprint.pdf.fonts as fonts

            fonts.harfbuzz_subset = None
            subset = fonts.Font._fonttools_subset

            def traced(self, *args, **kwargs):
                with open(os.environ["FONTTOOLS_MARK"], "a") as mark:
                    mark.write(self.family + "\\n")
                return subset(self, *args, **kwargs)

            fonts.Font._fonttools_subset = traced
            """),
        "utf-8",
    )
    done = mkdocs_build(
        project,
        PYTHONPATH=os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]),
        FONTTOOLS_MARK=str(mark),
    )
    assert done.returncode == 0, done.stderr
    assert "DejaVu" in mark.read_text("utf-8")  # the fontTools path really ran
    assert "HarfBuzz" not in done.stderr


def test_without_pango_the_site_builds_and_says_what_to_install(
    project: Path, tmp_path: Path
) -> None:
    """A bare machine has no Pango (Chromium pulls it in): WeasyPrint cannot load, the
    pages are still built (strict), each PDF link opens a note, and the CLI exits 1."""
    only(project, "contoso")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        textwrap.dedent("""\
            import cffi

            opened = cffi.FFI.dlopen

            def dlopen(self, name, *args):
                if "pango" in str(name):
                    raise OSError(f"cannot load library '{name}'")
                return opened(self, name, *args)

            cffi.FFI.dlopen = dlopen
            """),
        "utf-8",
    )
    path = os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")])
    done = mkdocs_build(project, PYTHONPATH=path, RUNBOOK_JOBS="1")
    assert done.returncode == 0, done.stderr
    assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0" in done.stderr
    pdf = project / "site" / "environments" / "contoso" / "contoso-change-request.pdf"
    assert "No change request was made" in " ".join(text_of(pdf).split())
    assert (project / "site" / "environments" / "contoso" / "runbook" / "index.html").is_file()
    cli = subprocess.run(
        [sys.executable, "-m", "generator", "change-request", "contoso", "-o", "x.pdf"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert cli.returncode == 1 and "libpango-1.0-0" in cli.stderr, cli.stderr
    assert not (project / "x.pdf").exists()


@pytest.mark.parametrize("how", ["change-request", "mkdocs"])
def test_a_css_mistake_in_the_template_still_fails(project: Path, how: str) -> None:
    only(project, "contoso")
    css = project / "templates" / "change-request.css.j2"
    css.write_text(css.read_text("utf-8") + "\nh1 { colour: red; }\n", "utf-8")
    if how == "change-request":
        done = runbook(project, "change-request", "contoso", "-o", str(project / "c.pdf"))
        assert done.returncode == 1
        assert not (project / "c.pdf").exists()
    else:
        done = mkdocs_build(project)
        assert done.returncode != 0
    assert "change-request.html.j2: WeasyPrint: Ignored `colour: red`" in done.stderr
