"""Issue 7: the catalogue of all environments (docs/environments/index.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from certs import make_certificate, pem
from click.testing import CliRunner

from generator import rendering
from generator.cli import main


def _row(catalogue: str, name: str) -> list[str]:
    line = next(line for line in catalogue.splitlines() if line.startswith(f"| [{name}]("))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_catalogue_lists_every_environment(project: Path) -> None:
    assert CliRunner().invoke(main, ["build", "--project", str(project)]).exit_code == 0
    catalogue = (project / "docs" / "environments" / "index.md").read_text("utf-8")
    assert _row(catalogue, "contoso") == [
        "[contoso](contoso/index.md)",
        "Contoso Ltd&#46;",
        "Skype for Business Server 2019 + Exchange Server 2016",
        "`pool01.contoso.com`",
        "`ex01.contoso.com`<br>`ex02.contoso.com`",
        "2029-01-01",
        "none",
    ]
    fabrikam = _row(catalogue, "fabrikam")
    assert fabrikam[2].endswith("(⚠ undocumented)")
    assert fabrikam[5] == "2028-03-31"  # as stated, no file
    assert fabrikam[6] == "[1](#warnings-fabrikam)"
    assert _row(catalogue, "litwareinc")[5] == "not stated"
    warnings = catalogue[catalogue.index("## Warnings") :]
    assert "### fabrikam { #warnings-fabrikam }" in warnings
    assert "not a documented combination" in warnings
    assert "### contoso" not in warnings and "### litwareinc" not in warnings


def test_a_certificate_expiring_soon_is_flagged(project: Path) -> None:
    # litwareinc's change window ends 2026-12-06T02:00Z: 20 days later is inside the 30.
    cert, _key = make_certificate(not_after=dt.datetime(2026, 12, 26, tzinfo=dt.UTC))
    (project / "environments" / "certs" / "litware.cer").write_bytes(pem(cert))
    path = project / "environments" / "litwareinc.yml"
    path.write_text(
        path.read_text("utf-8").replace(
            "  test_user:", "  oauth_certificate:\n    file: certs/litware.cer\n  test_user:"
        ),
        "utf-8",
    )
    result = CliRunner().invoke(main, ["build", "--project", str(project)])
    assert result.exit_code == 0, result.stderr
    assert "warning: lync.oauth_certificate.file: the certificate expires" in result.stderr
    catalogue = (project / "docs" / "environments" / "index.md").read_text("utf-8")
    row = _row(catalogue, "litwareinc")
    assert row[5] == "⚠ 2026-12-26"
    assert row[6] == "[1](#warnings-litwareinc)"
    assert "### litwareinc { #warnings-litwareinc }" in catalogue


@pytest.mark.parametrize("block", [1, 3, 4, 7, 4096])
def test_the_catalogue_in_blocks_is_what_render_makes(project: Path, block: int) -> None:
    """The catalogue is rendered a block of the template's pieces at a time (joined for the
    mkdocs plugin, encoded and written as it comes by `runbook build`): the same text as the
    template's own render, whether the pieces fill one block, several and a part, or none."""
    from generator.project import Project, load_project

    envs, _ = load_project(Project(project), today=dt.date(2026, 11, 27))
    rows = [rendering.catalogue_row(env) for env in sorted(envs, key=lambda env: env.name)]
    jinja_env = rendering.make_jinja_env(project / "templates")
    whole = jinja_env.get_template(rendering.CATALOGUE[1]).render(
        rows=rows, products=rendering.product_table()
    )
    assert "| [contoso](contoso/index.md)" in whole
    blocks = list(rendering._catalogue_blocks(jinja_env, rows, block))
    assert "".join(blocks) == whole and (len(blocks) > 2) == (block < 10)
    assert b"".join(rendering.catalogue_blocks(jinja_env, rows)) == whole.encode("utf-8")
