"""Golden files: the full output of `runbook build` for the examples, byte for byte.

Refresh after an intended change with `make golden` (pytest tests/test_golden.py
--update-golden), then review `git diff tests/golden/` like any other change.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path, PurePosixPath

import pwsh
import pytest
from conftest import REPO, TODAY

from generator.loading import load
from generator.rendering import INTEGRATION, context, make_jinja_env, render_environment
from generator.steps import plan

GOLDEN = Path(__file__).resolve().parent / "golden"
RUNBOOK = [sys.executable, "-m", "generator"]


def _build(project: Path) -> dict[str, bytes]:
    """Run the real `runbook build` on a project; every file it wrote, by relative path."""
    done = subprocess.run(
        [*RUNBOOK, "build", "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = project / "docs" / "environments"
    # Bookkeeping files (the manifest of generated files) are writing.py's business, not output.
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    import shutil

    root = tmp_path_factory.mktemp("golden") / "project"
    root.mkdir()
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    for folder in ("templates", "environments", "schema"):
        if (REPO / folder).exists():
            shutil.copytree(REPO / folder, root / folder)
    (root / "docs").mkdir()  # no generated files yet: everything is written from scratch
    return _build(root)


def test_output_matches_golden_files(built: dict[str, bytes], update_golden: bool) -> None:
    assert {"index.md", "litwareinc/runbook.md", "contoso/contoso-lync.ps1"} <= set(built)
    if update_golden:
        for old in GOLDEN.rglob("*"):
            if old.is_file() and old.relative_to(GOLDEN).as_posix() not in built:
                old.unlink()
        for rel, data in built.items():
            target = GOLDEN / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_bytes() != data:
                target.write_bytes(data)
    golden = {
        p.relative_to(GOLDEN).as_posix(): p.read_bytes()
        for p in sorted(GOLDEN.rglob("*"))
        if p.is_file()
    }
    assert sorted(golden) == sorted(built), (
        "files added or removed: run `make golden` and review the diff"
    )
    stale = [rel for rel in built if built[rel] != golden[rel]]
    assert not stale, (
        f"output differs from tests/golden/ in {stale}: run `make golden` and review `git diff tests/golden/`"
    )


def test_litwareinc_runbook_holds_the_seed_commands_and_dns_example() -> None:
    page = (GOLDEN / "litwareinc" / "runbook.md").read_text("utf-8")
    # The seed (L-PRE), with its own values, as whole commands in code blocks; the
    # autodiscover URI per server (-Identity), never for every Client Access server at once.
    blocks = pwsh.powershell_blocks(page)
    lines = {line.strip() for block in blocks for line in block.splitlines()}
    assert (
        "Set-ClientAccessServer -Identity 'atl-exchange-001.litwareinc.com' "
        "-AutoDiscoverServiceInternalUri "
        "'https://autodiscover.litwareinc.com/autodiscover/autodiscover.xml' -ErrorAction Stop"
    ) in lines
    assert not any("| Set-ClientAccessServer" in line for line in lines)
    assert (
        "Set-CsOAuthConfiguration -Identity global -ExchangeAutodiscoverUrl "
        "'https://autodiscover.litwareinc.com/autodiscover/autodiscover.svc' -ErrorAction Stop"
    ) in lines
    # The seed's DNS example: autodiscover.litwareinc.com resolves to atl-exchange-001.litwareinc.com,
    # and the TTL the table shows is the one the command sets.
    assert (
        "| `autodiscover.litwareinc.com` | CNAME | `atl-exchange-001.litwareinc.com` | `litwareinc.com` "
        "| 3600 (set with `-TimeToLive 01:00:00`) |"
    ) in page
    assert "autodiscover.litwareinc.com. 3600 IN CNAME atl-exchange-001.litwareinc.com." in page
    cnames = [
        c for b in blocks for c in pwsh.commands(b) if c.name == "Add-DnsServerResourceRecordCName"
    ]
    assert [
        (c.params["Name"], c.params["HostNameAlias"], c.params["TimeToLive"]) for c in cnames
    ] == [("autodiscover", "atl-exchange-001.litwareinc.com", "01:00:00")]


def test_committed_docs_are_up_to_date() -> None:
    done = subprocess.run(
        [*RUNBOOK, "build", "--check", "--project", str(REPO)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (
        f"docs/environments/ is stale: run `runbook build`\n{done.stdout}{done.stderr}"
    )


@pytest.mark.parametrize("name", ["contoso", "fabrikam", "litwareinc"])
def test_the_runbook_page_has_the_steps_of_the_table_in_order(name: str) -> None:
    """The page writes its steps in prose around the table's parts; its step headings must be
    the table's steps, same numbers, titles and order."""
    env, diagnostics = load(REPO / "environments" / f"{name}.yml", REPO, TODAY)
    assert env is not None, diagnostics
    jinja_env = make_jinja_env(REPO / "templates")
    planned = [
        f"Step {s.number}: {s.title}" for s in plan(jinja_env, context(env), INTEGRATION).steps
    ]
    page = render_environment(jinja_env, env)[PurePosixPath(name) / "runbook.md"]
    headings = [
        line.removeprefix("## ").split(" { #")[0]
        for line in page.splitlines()
        if line.startswith("## Step ")
    ]
    assert headings[1:] == planned  # step 1, the prerequisites, is a checklist, not a plan step
