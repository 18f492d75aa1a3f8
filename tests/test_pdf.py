"""Change-request PDFs, read back from the paper (pypdf): page size, running header, every
runbook command in full, what changes, determinism, --since against a real git repository,
and errors that write nothing. Page 1 is rendered to PNG (pdftoppm) for a person to look at."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TODAY, git, without_change_requests
from pypdf import PdfReader

from generator import changes, pdf, rendering
from generator.cli import main
from generator.loading import load
from generator.steps import plan

MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
LETTER = (612.0, 792.0)
EPOCH = "1764201600"  # 2025-11-27T00:00:00Z


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, list(args), env={"SOURCE_DATE_EPOCH": EPOCH, **(env or {})}, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def read(path: Path) -> PdfReader:
    return PdfReader(io.BytesIO(path.read_bytes()))


def _page_png(document: Path, page: int, prefix: Path) -> None:
    """Render one page of ``document`` to ``prefix``.png (pdftoppm, 80 dpi) for a person to
    look at, and check a PNG came out."""
    pages = ["-f", str(page), "-l", str(page)]
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", *pages, "-singlefile", str(document), str(prefix)],
        check=True,
        timeout=60,
    )
    assert prefix.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def pages_text(path: Path) -> list[str]:
    return [page.extract_text() for page in read(path).pages]


def present(command: str, text: str) -> bool:
    """``command`` is in ``text`` in full, where the layout may have broken a line anywhere
    (a newline inserted) or at a space (the space replaced by the newline)."""
    chars = (r"\s" if c == " " else re.escape(c) for c in command)
    return re.search(r"\n?".join(chars), text) is not None


def runbook_commands(project: Path, name: str) -> list[str]:
    """Every line of what the change request prints of each step: its change, its back-out,
    and the commands of the steps that only verify (from the step table, as the page)."""
    env, _ = load(project / "environments" / f"{name}.yml", project, TODAY)
    assert env is not None
    procedure = plan(
        rendering.make_jinja_env(project / "templates"), rendering.context(env), "integration"
    )
    code = [
        *(step.change for step in procedure.steps if step.changes),
        *(step.backout.code for step in procedure.steps if step.changes and step.backout),
        *(step.gate for step in procedure.steps if not step.rules),
    ]
    lines = [line.strip() for text in code for line in text.splitlines() if line.strip()]
    assert len(lines) > 25
    return lines


def section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i)]


def _what_changes(project: Path, name: str, previous: Path, out: Path) -> str:
    """The "What changes" section of ``name``'s change request against ``previous``, as read
    back from the PDF."""
    code, _, err = run(
        "change-request",
        name,
        "-o",
        str(out),
        "--previous",
        str(previous),
        "--project",
        str(project),
    )
    assert code == 0, err
    return section("\n".join(pages_text(out)), "What changes", "Affected configuration items")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project copy for the tests that only read: its PDFs are made once."""
    from conftest import REPO

    root = tmp_path_factory.mktemp("shared")
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    for folder in ("templates", "environments"):
        shutil.copytree(REPO / folder, root / folder)
    for name in ("contoso", "litwareinc"):
        code, _, err = run(
            "change-request", name, "-o", str(root / f"{name}.pdf"), "--project", str(root)
        )
        assert code == 0, err
    return root


def test_a4_by_default_and_letter_on_request(shared: Path) -> None:
    for page in read(shared / "litwareinc.pdf").pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            A4, abs=0.1
        )
    out = shared / "letter.pdf"
    code, _, err = run(
        "change-request",
        "litwareinc",
        "-o",
        str(out),
        "--paper",
        "letter",
        "--project",
        str(shared),
    )
    assert code == 0, err
    pages = read(out).pages
    for page in pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            LETTER, abs=0.1
        )
    text = "\n".join(pages_text(out))
    assert all(present(c, text) for c in runbook_commands(shared, "litwareinc"))


def test_every_page_names_the_change_and_the_environment(shared: Path) -> None:
    texts = pages_text(shared / "contoso.pdf")
    assert len(texts) >= 3
    for number, text in enumerate(texts, 1):
        assert "Change CHG0020001 · environment contoso" in text
        assert f"Page {number} of {len(texts)}" in text
        assert "not from paper" in text


@pytest.mark.parametrize("name", ["contoso", "litwareinc"])
def test_every_runbook_command_is_on_the_paper_in_full(shared: Path, name: str) -> None:
    text = "\n".join(pages_text(shared / f"{name}.pdf"))
    missing = [c for c in runbook_commands(shared, name) if not present(c, text)]
    assert missing == []


def test_commands_stay_on_the_page_and_keep_parameters_whole(shared: Path) -> None:
    commands = runbook_commands(shared, "contoso")
    reader = read(shared / "contoso.pdf")
    right_edge = A4[0] - 16 * MM
    wrapped = 0
    for page in reader.pages:
        chunks: list[tuple[str, float, float]] = []

        def visit(
            text: str,
            cm: list[float],
            tm: list[float],
            font: object,
            size: float,
            chunks: list[tuple[str, float, float]] = chunks,
        ) -> None:
            mono = "Mono" in str((font or {}).get("/BaseFont", ""))  # type: ignore[attr-defined]
            if text.strip() and mono:  # commands are set in DejaVu Sans Mono; prose is not
                chunks.append((text.rstrip("\n"), tm[4] * cm[0] + cm[4], size * cm[0]))

        page.extract_text(visitor_text=visit)
        for text, x, size in chunks:
            if any(text.strip() in c for c in commands) and len(text.strip()) > 8:
                # DejaVu Sans Mono advances 0.602 em per character.
                assert x + len(text) * 0.602 * size <= right_edge + 0.5, text
        raw = page.extract_text()
        flat = raw.replace("\n", "")
        for token in sorted(
            {t for c in commands for t in c.split() if re.fullmatch(r"-[A-Za-z][A-Za-z0-9]+", t)}
        ):
            assert raw.count(token) == flat.count(token), f"{token} is split across lines"
        wrapped += sum(
            1
            for line in raw.splitlines()
            if line.startswith("'") or line.startswith("autodiscover")
        )
    assert wrapped > 0  # contoso's long commands do wrap, so the checks above checked something


def test_png_of_page_one_for_a_person(shared: Path, artifacts: Path) -> None:
    _page_png(shared / "contoso.pdf", 1, artifacts / "change-request-contoso")


def test_the_topology_diagram_is_in_the_paper(shared: Path, artifacts: Path) -> None:
    pages = [
        " ".join(page.extract_text().split()) for page in PdfReader(shared / "contoso.pdf").pages
    ]
    found = [
        i
        for i, text in enumerate(pages, 1)
        if "Topology: the pool and its Front End Servers" in text
    ]
    assert len(found) == 1
    page = pages[found[0] - 1]
    for name in (
        "pool01.contoso.com",
        "fe01.contoso.com",
        "fe03.contoso.com",
        "ex02.contoso.com",
        "autodiscover.contoso.com",
    ):
        assert name in page, name
    _page_png(shared / "contoso.pdf", found[0], artifacts / "change-request-contoso-diagram")


def test_same_input_same_bytes_with_source_date_epoch(shared: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.pdf"
    code, _, err = run("change-request", "contoso", "-o", str(again), "--project", str(shared))
    assert code == 0, err
    assert again.read_bytes() == (shared / "contoso.pdf").read_bytes()
    metadata = read(again).metadata
    assert metadata is not None
    assert metadata["/CreationDate"] == "D:20251127000000Z" == metadata["/ModDate"]
    env, _ = load(shared / "environments" / "contoso.yml", shared, TODAY)
    assert env is not None
    document = pdf.render_html(
        rendering.make_jinja_env(shared / "templates"), env, created=pdf.source_date({})
    )
    assert "dcterms.created" not in document.html  # no date at all without SOURCE_DATE_EPOCH


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_a_renewal_s_changes_are_its_own_commands_and_certificates(
    project: Path, tmp_path: Path
) -> None:
    """Moving the roll's date changes the renewal's command; a new file for the next
    certificate is a changed setting (read from the file)."""
    previous = tmp_path / "previous" / "contoso.yml"
    previous.parent.mkdir()
    shutil.copytree(project / "environments" / "certs", previous.parent / "certs")
    shutil.copy2(project / "environments" / "contoso.yml", previous)
    current = project / "environments" / "contoso.yml"
    edit(current, "effective: 2028-12-01T22:00:00+00:00", "effective: 2028-12-02T22:00:00+00:00")
    edit(current, "file: certs/contoso-oauth-2028.cer", "file: certs/contoso-oauth.cer")
    env, _ = load(current, project, TODAY)
    assert env is not None
    jinja_env = rendering.make_jinja_env(project / "templates")
    found = changes.changes_for(
        jinja_env, project, env, TODAY, previous=previous, procedure="renew-oauth-certificate"
    )
    assert found is not None
    subjects = {(d.kind, d.subject) for d in found.differences}
    assert ("setting", "lync.next_oauth_certificate (read from file).thumbprint") in subjects
    roll = [d for d in found.differences if d.kind == "command" and "-Roll" in (d.after or "")]
    assert len(roll) == 1 and "2028-12-02T22:00:00+00:00" in roll[0].after


def test_what_changes_lists_exactly_the_changed_items(project: Path, tmp_path: Path) -> None:
    previous = tmp_path / "previous" / "contoso.yml"
    previous.parent.mkdir()
    shutil.copytree(project / "environments" / "certs", previous.parent / "certs")
    shutil.copy2(project / "environments" / "contoso.yml", previous)
    edit(
        project / "environments" / "contoso.yml", "    - ex02.contoso.com", "    - ex03.contoso.com"
    )

    env, _ = load(project / "environments" / "contoso.yml", project, TODAY)
    assert env is not None
    found = changes.changes_for(
        rendering.make_jinja_env(project / "templates"), project, env, TODAY, previous=previous
    )
    assert found is not None
    uri = "'https://autodiscover.contoso.com/autodiscover/autodiscover.xml'"
    assert [(d.kind, d.subject, d.action, d.before, d.after) for d in found.differences] == [
        ("setting", "exchange.servers", "removed", "ex02.contoso.com", None),
        ("setting", "exchange.servers", "added", None, "ex03.contoso.com"),
        (
            "command",
            "Step 5 change",
            "changed",
            f"Set-ClientAccessService -Identity 'ex02.contoso.com' -AutoDiscoverServiceInternalUri {uri} -ErrorAction Stop",
            f"Set-ClientAccessService -Identity 'ex03.contoso.com' -AutoDiscoverServiceInternalUri {uri} -ErrorAction Stop",
        ),
        (
            "command",
            "Step 7 change",
            "changed",
            "iisreset 'ex02.contoso.com'",
            "iisreset 'ex03.contoso.com'",
        ),
    ]

    what = _what_changes(project, "contoso", previous, tmp_path / "cr.pdf")
    assert "1 setting" not in what and "2 settings, 2 command lines changed" in what
    for needle in (
        "exchange.servers",
        "Step 5 change",
        "Step 7 change",
        "ex02.contoso.com",
        "ex03.contoso.com",
    ):
        assert needle in what
    assert present(
        f"Set-ClientAccessService -Identity 'ex03.contoso.com' -AutoDiscoverServiceInternalUri {uri} -ErrorAction Stop",
        what,
    )
    items = what[what.index("\nSettings\n") :]
    assert len(re.findall(r"\b(added|removed|changed)\b", items)) == 4  # one per item
    for absent in (
        "DNS records",
        "Change details",
        "Step 2",
        "Step 4",
        "Step 6",
        "Step 8",
        "lync.",
        "ex01",
    ):
        assert absent not in what
    assert "DNS records" not in what

    code, stdout, _ = run("diff", "contoso", "--previous", str(previous), "--project", str(project))
    assert code == 0
    assert stdout.count("\n  ") == 4


def test_a_new_description_is_not_an_operational_change(project: Path, tmp_path: Path) -> None:
    previous = tmp_path / "litwareinc.yml"
    shutil.copy2(project / "environments" / "litwareinc.yml", previous)
    edit(
        project / "environments" / "litwareinc.yml",
        "description: Atlanta production",
        "description: Atlanta <b>production</b> & DR",
    )
    code, stdout, err = run(
        "diff", "litwareinc", "--previous", str(previous), "--project", str(project)
    )
    assert code == 0, err
    assert "Nothing operational changed" in stdout
    assert "Settings:" not in stdout and "Commands:" not in stdout and "DNS records:" not in stdout
    assert "  ~ description: Atlanta production, Lync" in stdout

    what = _what_changes(project, "litwareinc", previous, tmp_path / "cr.pdf")
    assert "Nothing operational changed" in what
    assert "Settings" not in what and "Commands" not in what and "DNS records" not in what
    assert "Atlanta <b>production</b> & DR" in what.replace("\n", " ")  # shown as text, not markup


def test_since_a_git_revision(project: Path, tmp_path: Path) -> None:
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "before")
    edit(
        project / "environments" / "contoso.yml",
        "  server: dc01.contoso.com",
        "  server: dc02.contoso.com",
    )

    code, stdout, err = run("diff", "contoso", "--since", "HEAD", "--project", str(project))
    assert code == 0, err
    assert "compared with git revision HEAD" in stdout
    assert "  ~ dns.server: dc01.contoso.com -> dc02.contoso.com" in stdout
    assert "DNS records:" not in stdout  # the record itself is unchanged; only where it is made
    subjects = set(re.findall(r"^  [~+-] ([^:]+):", stdout, re.M))
    assert subjects == {"dns.server", "Step 4 change", "Step 4 back out"}

    out = tmp_path / "since.pdf"
    code, _, err = run(
        "change-request", "contoso", "-o", str(out), "--since", "HEAD", "--project", str(project)
    )
    assert code == 0, err
    what = section("\n".join(pages_text(out)), "What changes", "Affected configuration items")
    assert "dc02.contoso.com" in what and "Step 4 change" in what and "Step 6" not in what

    # The certificate file is read at the revision too: unchanged, so no certificate difference.
    assert "oauth_certificate" not in stdout


def test_errors_write_nothing(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"

    def contoso(*options: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        """``runbook change-request contoso -o OUT OPTIONS --project PROJECT``."""
        return run(
            "change-request",
            "contoso",
            "-o",
            str(out),
            *options,
            "--project",
            str(project),
            env=env,
        )

    code, _, err = run("change-request", "nosuch", "-o", str(out), "--project", str(project))
    assert code == 1
    assert "no environment named 'nosuch' (known: contoso, fabrikam, litwareinc, northwind)" in err
    assert "Traceback" not in err and not out.exists()

    code, _, err = contoso("--since", "HEAD")
    assert code == 1 and "cannot read environments/contoso.yml at git revision 'HEAD'" in err
    assert not out.exists()

    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "x")
    code, _, err = contoso("--since", "no-such-rev")
    assert code == 1 and "at git revision 'no-such-rev'" in err and not out.exists()
    code, _, err = contoso("--since", "--help")
    assert code != 0 and not out.exists()

    code, _, err = contoso("--since", "HEAD", "--previous", "x.yml")
    assert code == 2 and not out.exists()
    code, _, err = run("diff", "contoso", "--project", str(project))
    assert code == 2 and "give exactly one of --since REV or --previous FILE" in err
    code, _, err = contoso("--paper", "a3")
    assert code == 2 and not out.exists()
    code, _, err = contoso(env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert code == 1 and "SOURCE_DATE_EPOCH must be a whole number" in err and not out.exists()


def test_hostile_free_text_is_escaped(project: Path, tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script> & Co </p><h1>x"
    edit(project / "environments" / "litwareinc.yml", "title: Litware Inc.", f"title: '{hostile}'")
    edit(
        project / "environments" / "litwareinc.yml",
        "requested_by: Ken Myer",
        "requested_by: 'Ken \"<Myer>\" & Sons'",
    )
    env, diagnostics = load(project / "environments" / "litwareinc.yml", project, TODAY)
    assert env is not None, diagnostics
    html = pdf.render_html(rendering.make_jinja_env(project / "templates"), env).html
    assert "<script>" not in html and "<h1>x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co &lt;/p&gt;&lt;h1&gt;x" in html
    assert 'content="Ken &#34;&lt;Myer&gt;&#34; &amp; Sons"' in html
    out = tmp_path / "hostile.pdf"
    code, _, err = run("change-request", "litwareinc", "-o", str(out), "--project", str(project))
    assert code == 0, err
    first = pages_text(out)[0]
    assert present(f"Change request: {hostile}", first)
    assert present('Ken "<Myer>" & Sons', first)


def test_command_html_escapes_and_keeps_parameters_whole() -> None:
    html = str(rendering.command_html("Set-X -Name '<b>&' -Other $y\nGet-Y"))
    assert html.count('class="cmd"') == 2
    assert (
        '<span class="tok">Set-X</span> <span class="tok">-Name</span> &#39;&lt;b&gt;&amp;&#39;'
        in html
    )
    assert '<span class="tok">-Other</span> $y' in html


def test_overview_links_the_change_request(project: Path) -> None:
    env, _ = load(project / "environments" / "contoso.yml", project, TODAY)
    assert env is not None
    overview = rendering.render_environment(rendering.make_jinja_env(project / "templates"), env)[
        rendering.PurePosixPath("contoso", "index.md")
    ]
    assert "[contoso-change-request.pdf](contoso-change-request.pdf)" in overview


@pytest.mark.browser
@pytest.mark.slow
def test_site_prints_a_runbook_page_cleanly(project: Path, tmp_path: Path) -> None:
    """The site's print stylesheet: no navigation, no blank trailing page, code wrapped."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    site = tmp_path / "site"
    without_change_requests(project)  # the page's print, not the change requests
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "-q",
            "-f",
            str(project / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    out = tmp_path / "print.pdf"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            (site / "environments" / "contoso" / "runbook" / "index.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    texts = pages_text(out)
    assert all(text.strip() for text in texts)  # no blank (trailing) page
    everything = "\n".join(texts)
    assert (
        "Lync / Skype for Business and Exchange integration runbooks" not in everything
    )  # no header or nav
    assert "Table of contents" not in everything
    missing = [
        c
        for c in runbook_commands(project, "contoso")
        if not present(c, everything.replace("\xa0", " "))
    ]
    assert missing == []  # every command printed in full: wrapped, not cut off
