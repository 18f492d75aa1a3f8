"""``runbook validate`` and ``runbook schema`` through click's CliRunner: exit codes, stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import snapshot

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMA_LINE = "# yaml-language-server: $schema=../schema/environment-v1.json"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _bad(project: Path, name: str, fixture: str) -> Path:
    target = project / "environments" / f"{name}.yml"
    target.write_bytes((FIXTURES / "invalid" / f"{fixture}.yml").read_bytes())
    return target


def test_validate_the_examples(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's examples are valid: exit 0, and only warnings on stderr."""
    monkeypatch.chdir(project)
    result = _run("validate")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("4 file(s) checked: 0 error(s), ")
    assert all(": warning: " in line for line in lines[:-1])
    assert result.stdout == ""


def test_validate_the_repository_itself() -> None:
    """--project points at the repository: the committed examples validate."""
    result = _run("validate", "--project", str(REPO))
    assert result.exit_code == 0, result.stderr
    assert "0 error(s)" in result.stderr.splitlines()[-1]


def test_invalid_file_exit_1_and_exact_stderr(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invalid file: exit 1 and one ``path:line:column: message`` line per problem."""
    monkeypatch.chdir(project)
    _bad(project, "bad", "hostname-not-fqdn")
    result = _run("validate", "environments/bad.yml")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "environments/bad.yml:14:7: exchange.servers[1]: 'mail' is not a fully qualified domain "
        "name (it needs at least two labels, like server.example.com)",
        "1 file(s) checked: 1 error(s), 0 warning(s)",
    ]
    assert result.stdout == ""


def test_all_files_in_one_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every error of every file comes out in one run, the good files' silence included."""
    monkeypatch.chdir(project)
    _bad(project, "bad-one", "duplicate-key")
    _bad(project, "bad-two", "python-tag")
    result = _run("validate")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if ": warning: " not in line]
    assert errors == [
        "environments/bad-one.yml:4:1: duplicate key 'domain': it already appears at line 2; "
        "YAML would silently keep only the last one, so keep one and delete the other",
        "environments/bad-two.yml:1:8: the tag !!python/object/apply:os.system is not allowed: "
        "an environment file holds plain data, and tags can make a YAML loader build objects "
        "or run code",
        errors[-1],
    ]
    assert errors[-1].startswith("6 file(s) checked: 2 error(s), ")


def test_json_format(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--format json: one object per diagnostic on stdout, for CI annotations; still exit 1."""
    monkeypatch.chdir(project)
    _bad(project, "bad", "a-record-without-address")
    result = _run("validate", "--format", "json", "environments/bad.yml")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "file": "environments/bad.yml",
            "line": 15,
            "column": 24,
            "severity": "error",
            "message": "dns.autodiscover_record: an 'a' record needs dns.address (an IPv4 address)",
        }
    ]


def test_json_format_on_valid_files(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--format json on the examples: exit 0 and only warnings in the list."""
    monkeypatch.chdir(project)
    result = _run("validate", "--format", "json")
    assert result.exit_code == 0
    assert {item["severity"] for item in json.loads(result.stdout)} <= {"warning"}


def test_missing_file_is_invalid_input(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that is not there: exit 1 with a located message, no traceback."""
    monkeypatch.chdir(project)
    result = _run("validate", "environments/nothere.yml")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "environments/nothere.yml:1:1: cannot read the file: No such file or directory"
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["validate", "--bogus"], "Error: No such option '--bogus'"),
        (["validate", "--format", "xml"], "'xml' is not one of 'text', 'json'"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], fragment: str
) -> None:
    """Wrong usage: exit 2 and click's usage message on stderr."""
    monkeypatch.chdir(project)
    result = _run(*args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_is_the_committed_file() -> None:
    """``runbook schema`` equals schema/environment-v1.json, so the committed copy cannot go "
    "stale."""
    result = _run("schema")
    assert result.exit_code == 0
    committed = (REPO / "schema" / "environment-v1.json").read_text(encoding="utf-8")
    assert result.stdout == committed
    document = json.loads(result.stdout)
    assert document["additionalProperties"] is False
    assert set(document["required"]) == {"title", "domain", "sip_domain", "lync", "exchange"}


@pytest.mark.parametrize(
    "example", sorted((REPO / "environments").glob("*.yml")), ids=lambda p: p.stem
)
def test_examples_name_the_schema(example: Path) -> None:
    """Each example's first line points editors at the schema (relative to environments/)."""
    assert example.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE
    assert (example.parent / "../schema/environment-v1.json").resolve().is_file()


def test_build_of_an_unknown_name_lists_the_known_ones_and_writes_nothing(project: Path) -> None:
    before = snapshot(project / "docs")
    result = CliRunner().invoke(main, ["build", "--project", str(project), "nosuch"])
    assert result.exit_code == 1
    folder = project / "environments"
    assert (
        f"{folder}:1:1: no environment named 'nosuch' (known: contoso, fabrikam, litwareinc, northwind)"
        in result.stderr
    )
    assert snapshot(project / "docs") == before


def test_two_files_for_one_environment_are_an_error_for_every_command(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """contoso.yml and contoso.yaml would be one environment whose pages are written twice,
    one file's over the other's (and listed twice in the catalogue): each command that reads
    environments says so at both files, exit 1, and writes nothing."""
    monkeypatch.chdir(project)
    text = Path("environments/contoso.yml").read_text("utf-8")
    Path("environments/contoso.yaml").write_text(text.replace("title: ", "title: Copy ", 1))
    yml = "environments/contoso.yml:1:1: contoso.yaml is environment 'contoso' too: keep one"
    yaml = "environments/contoso.yaml:1:1: contoso.yml is environment 'contoso' too: keep one"
    before = snapshot(project / "docs")

    result = _run("validate")
    assert result.exit_code == 1
    assert yml in result.stderr and yaml in result.stderr
    assert result.stderr.splitlines()[-1].startswith("5 file(s) checked: 2 error(s), ")
    result = _run("validate", "environments/contoso.yml")
    assert result.exit_code == 1
    assert yml in result.stderr and yaml not in result.stderr
    for args in (["build"], ["build", "contoso"], ["build", "--check"]):
        result = _run(*args)
        assert result.exit_code == 1, args
        assert yml in result.stderr and yaml in result.stderr, args
    result = _run("change-request", "contoso", "-o", str(tmp_path / "cr.pdf"))
    assert result.exit_code == 1
    assert yml in result.stderr and yaml in result.stderr
    assert not (tmp_path / "cr.pdf").exists()
    result = CliRunner().invoke(main, ["new", "contoso"], input="")
    assert result.exit_code == 1
    assert "environments/contoso.yml: already exists" in result.stderr
    assert snapshot(project / "docs") == before

    from generator.pipeline import Project, Run  # the mkdocs plugin's entry

    with Run(Project(project)) as run:
        assert yml in {d.format()[: len(yml)] for d in run.problems}


def test_a_missing_template_is_named_by_its_path(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    Path("templates/integration.md.j2").unlink()
    before = snapshot(project / "docs")
    result = _run("build")
    assert result.exit_code == 1
    assert "templates/integration.md.j2: template not found (a project made by an older" in (
        result.stderr
    )
    assert snapshot(project / "docs") == before


def test_a_folder_that_is_not_a_project_is_named_and_left_alone(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Run inside environments/ (or anywhere else), a build made .cache/ there and then failed
    on a missing template, and validate checked "0 file(s)" and passed."""
    monkeypatch.chdir(project / "environments")
    before = snapshot(project)
    for args in (["validate"], ["build"], ["build", "--check"], ["new", "lab"]):
        result = CliRunner().invoke(main, args, input="")
        assert result.exit_code == 1, (args, result.stderr)
        assert result.stderr.startswith(
            f"error: {project / 'environments'}: not a runbook project (it has neither "
            f"mkdocs.yml nor an environments/ folder); {project} is one: run runbook there"
        ), result.stderr
    assert snapshot(project) == before
    monkeypatch.chdir(tmp_path / "..")  # no project above it either
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = CliRunner().invoke(main, ["build", "--project", str(elsewhere)])
    assert result.exit_code == 1
    assert "pass --project DIR (`runbook init DIR` makes a project)" in result.stderr
    assert list(elsewhere.iterdir()) == []
