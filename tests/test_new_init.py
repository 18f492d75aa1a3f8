"""``runbook new`` (flags and a real pseudo-terminal) and ``runbook init``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from click.testing import CliRunner
from conftest import REPO, git

from generator.cli import main

RUNBOOK = str(Path(sys.executable).parent / "runbook")
FLAGS = [
    "--title",
    "Lab <One> & 'Two'",
    "--lync-product",
    "sfb2019",
    "--exchange-product",
    "exchange2016",
    "--domain",
    "Lab.Example.COM",
    "--pool",
    "pool.lab.example.com",
    "--front-ends",
    "fe1.lab.example.com, fe2.lab.example.com",
    "--exchange-servers",
    "ex1.lab.example.com",
    "--dns-server",
    "dc1.lab.example.com",
    "--test-user",
    "ana@lab.example.com",
]


def _validate(project: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RUNBOOK, "validate", "--project", str(project), *files],
        capture_output=True,
        text=True,
        check=False,
    )


def test_new_with_flags_writes_a_valid_commented_file(project: Path) -> None:
    result = CliRunner().invoke(main, ["new", "lab", "--project", str(project), *FLAGS])
    assert result.exit_code == 0, result.output
    path = project / "environments" / "lab.yml"
    text = path.read_text("utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schema/environment-v1.json\n")
    assert "domain: lab.example.com" in text  # lowercased
    assert "    - fe2.lab.example.com" in text
    assert "  server: dc1.lab.example.com" in text
    assert "  test_user: sip:ana@lab.example.com" in text
    assert "# change:" in text
    checked = _validate(project, str(path))
    assert checked.returncode == 0, checked.stderr


def test_new_derives_defaults(project: Path) -> None:
    flags = ["--title", "T", "--domain", "fabrikam.com", "--exchange-servers", "mail.fabrikam.com"]
    result = CliRunner().invoke(main, ["new", "t", "--project", str(project), *flags])
    assert result.exit_code == 0, result.output
    text = (project / "environments" / "t.yml").read_text("utf-8")
    assert "sip_domain: fabrikam.com" in text
    assert "pool: pool01.fabrikam.com" in text
    assert "    - pool01.fabrikam.com" in text  # front end defaults to the pool
    assert "# autodiscover_host: autodiscover.fabrikam.com" in text


def test_new_refuses_a_bad_answer_and_writes_nothing(project: Path) -> None:
    flags = [*FLAGS]
    flags[flags.index("--domain") + 1] = "mail"
    result = CliRunner().invoke(main, ["new", "lab", "--project", str(project), *flags])
    assert result.exit_code == 1
    assert "--domain: 'mail' is not a fully qualified domain name" in result.stderr
    assert not (project / "environments" / "lab.yml").exists()


def test_new_without_a_terminal_names_the_missing_flag(project: Path) -> None:
    result = CliRunner().invoke(main, ["new", "lab", "--project", str(project), "--title", "x"])
    assert result.exit_code == 2
    assert "--domain is required" in result.stderr


def test_new_never_overwrites(project: Path) -> None:
    before = (project / "environments" / "litwareinc.yml").read_bytes()
    result = CliRunner().invoke(main, ["new", "litwareinc", "--project", str(project), *FLAGS])
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert (project / "environments" / "litwareinc.yml").read_bytes() == before


def test_new_asks_at_a_terminal(project: Path) -> None:
    child = pexpect.spawn(
        RUNBOOK,
        ["new", "pty-lab", "--project", str(project)],
        encoding="utf-8",
        timeout=20,
        env={**os.environ, "NO_COLOR": "1"},
        dimensions=(40, 200),
    )
    try:
        answers = [
            ("Display name", "PTY Lab"),
            ("Lync/Skype for Business product", "lync2013"),
            ("Exchange product", "exchange2013"),
            ("DNS domain", "mail"),  # refused on the spot ...
        ]
        for prompt, answer in answers:
            child.expect_exact(prompt)
            child.sendline(answer)
        child.expect_exact("not a fully qualified domain name")
        child.expect_exact("DNS domain")  # ... and asked again
        child.sendline("ptylab.example.net")
        child.expect_exact("[ptylab.example.net]")  # SIP domain defaults to the domain
        child.sendline("")
        child.expect_exact("[pool01.ptylab.example.net]")
        child.sendline("")
        child.expect_exact("Front End servers")
        child.sendline("")
        child.expect_exact("Exchange servers")
        child.sendline("ex1.ptylab.example.net")
        child.expect_exact("[autodiscover.ptylab.example.net]")
        child.sendline("")
        for _ in range(4):  # zone, DNS server, record type, test user: defaults
            child.expect(r"\]: ")
            child.sendline("")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    path = project / "environments" / "pty-lab.yml"
    assert "domain: ptylab.example.net" in path.read_text("utf-8")
    assert _validate(project, str(path)).returncode == 0


def test_init_creates_a_project_that_builds(tmp_path: Path) -> None:
    target = tmp_path / "newdocs"
    result = CliRunner().invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    for rel in (
        "mkdocs.yml",
        ".gitignore",
        ".gitattributes",
        ".pre-commit-hooks.yaml",
        ".pre-commit-config.yaml",
        ".github/workflows/docs.yml",
        "templates/integration.yml.j2",
        "templates/integration.md.j2",
        "templates/procedure.j2",
        "templates/page.j2",
        "environments/litwareinc.yml",
        "schema/environment-v1.json",
        "docs/index.md",
        "docs/stylesheets/print.css",
    ):
        assert (target / rel).is_file(), rel
        assert not (target / rel).is_symlink()
    assert _validate(target).returncode == 0
    built = subprocess.run(
        [RUNBOOK, "build", "--project", str(target)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    site = subprocess.run(
        [
            str(Path(sys.executable).parent / "mkdocs"),
            "build",
            "--strict",
            "-q",
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=target,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert site.returncode == 0, site.stderr
    assert (tmp_path / "site" / "environments" / "litwareinc" / "runbook" / "index.html").is_file()


def _built_and_committed(target: Path) -> Path:
    """A new project at ``target``, built, in a git repository with everything committed."""
    assert CliRunner().invoke(main, ["init", str(target)]).exit_code == 0
    assert CliRunner().invoke(main, ["build", "--project", str(target)]).exit_code == 0
    git(target, "init", "-q")
    git(target, "add", ".")
    git(target, "commit", "-q", "-m", "docs")
    return target


def test_a_checkout_with_crlf_line_endings_keeps_the_docs_up_to_date(tmp_path: Path) -> None:
    """Git for Windows checks text out with CRLF line endings by default (core.autocrlf=true):
    the generated files would then differ from the digests the manifest records, and every one
    look stale. The project's .gitattributes keeps them byte for byte."""
    target = _built_and_committed(tmp_path / "docs-repo")
    clone = tmp_path / "windows-checkout"
    git(tmp_path, "clone", "-q", "-c", "core.autocrlf=true", str(target), str(clone))
    assert b"\r\n" in (clone / "environments" / "litwareinc.yml").read_bytes()  # converted
    assert (
        b"\r\n" not in (clone / "docs" / "environments" / "litwareinc" / "runbook.md").read_bytes()
    )
    check = CliRunner().invoke(main, ["build", "--check", "--project", str(clone)])
    assert check.exit_code == 0, check.stderr


def test_the_pre_commit_hooks_of_a_new_project_catch_stale_docs(tmp_path: Path) -> None:
    """The hooks `runbook init` writes, run by the real pre-commit: they pass on a built
    project, and fail a commit that leaves the docs stale, whether it changes an environment
    or only the generated docs (a merge resolved with one side's manifest, say)."""
    target = _built_and_committed(tmp_path / "docs-repo")
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # `runbook` for the hooks
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "NO_COLOR": "1",
    }

    def pre_commit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir / "pre-commit"), "run", "--color", "never", *args],
            cwd=target,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    done = pre_commit("--all-files")
    assert done.returncode == 0, done.stdout + done.stderr

    manifest = target / "docs" / "environments" / ".runbook-manifest.json"
    manifest.write_text(
        "".join(
            line
            for line in manifest.read_text("utf-8").splitlines(True)
            if "/runbook.md" not in line
        ),
        "utf-8",
    )
    git(target, "add", str(manifest))
    done = pre_commit()  # the staged files only: the generated docs alone
    assert done.returncode == 1, done.stdout
    assert "stale: docs/environments/.runbook-manifest.json" in done.stdout, done.stdout

    git(target, "checkout", "HEAD", "--", str(manifest))
    source = target / "environments" / "litwareinc.yml"
    source.write_text(source.read_text("utf-8").replace("title: ", "title: Edited ", 1), "utf-8")
    git(target, "add", str(source))
    done = pre_commit()
    assert done.returncode == 1, done.stdout
    assert "stale: docs/environments/litwareinc/runbook.md" in done.stdout, done.stdout


def test_init_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "not an empty folder" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    "rel",
    ["mkdocs.yml", ".gitattributes", "templates/integration.md.j2", "environments/litwareinc.yml"],
)
def test_init_copies_this_project_s_own_files(tmp_path: Path, rel: str) -> None:
    target = tmp_path / "p"
    assert CliRunner().invoke(main, ["init", str(target)]).exit_code == 0
    assert (target / rel).read_bytes() == (REPO / rel).read_bytes()


def test_new_reports_a_write_failure_cleanly(tmp_path: Path) -> None:
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n")  # a project, whose environments/
    (tmp_path / "environments").write_text("not a folder")  # cannot be written to
    result = CliRunner().invoke(main, ["new", "lab", "--project", str(tmp_path), *FLAGS])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: cannot write {tmp_path / 'environments' / 'lab.yml'}:")
    assert "Traceback" not in result.stderr
