"""Issue 7: the catalogue of all environments (docs/environments/index.md)."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from certs import make_certificate, pem
from click.testing import CliRunner

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
        # Read from the certificate files; the days left are counted in the reader's browser.
        'OAuthTokenIssuer: 2029-01-01<span class="days-left" data-expires="2029-01-01"></span>, '
        "[renew](contoso/renew-oauth-certificate.md)<br>"
        'next OAuthTokenIssuer: 2030-12-31<span class="days-left" data-expires="2030-12-31"></span>, '
        "[renew](contoso/renew-oauth-certificate.md)",
        "none",
    ]
    fabrikam = _row(catalogue, "fabrikam")
    assert fabrikam[2].endswith("(⚠ undocumented)")
    assert fabrikam[5].startswith("OAuthTokenIssuer: 2028-03-31<span")  # as stated, no file
    assert fabrikam[6] == "[1](#warnings-fabrikam)"
    assert _row(catalogue, "litwareinc")[5].startswith("Exchange Auth: 2029-03-01<span")
    assert _row(catalogue, "northwind")[5] == "none stated"
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
    assert row[5].startswith(
        'OAuthTokenIssuer: 2026-12-26<span class="days-left" data-expires="2026-12-26"></span>, '
        "[renew](litwareinc/renew-oauth-certificate.md)"
    )
    assert row[6] == "[1](#warnings-litwareinc)"
    warnings = catalogue[catalogue.index("### litwareinc { #warnings-litwareinc }") :]
    assert "renew it with the procedure renew-oauth-certificate" in html.unescape(warnings)
