"""Certificate renewals (renew-oauth-certificate, renew-exchange-auth-certificate): their
commands with and without the new certificate described, the roll's date rule, `runbook due`,
their change requests, and the reference page of the environment format."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pwsh
import pytest
from click.testing import CliRunner
from conftest import REPO, TODAY
from pypdf import PdfReader
from test_powershell import KNOWN

from generator import rendering
from generator.cli import main
from generator.loading import load
from generator.model import EnvironmentSpec

OAUTH, AUTH = "renew-oauth-certificate", "renew-exchange-auth-certificate"


def _files(name: str, root: Path = REPO) -> dict[str, str]:
    env, diagnostics = load(root / "environments" / f"{name}.yml", root, TODAY)
    assert env is not None, diagnostics
    jinja_env = rendering.make_jinja_env(root / "templates")
    return {p.name: t for p, t in rendering.render_environment(jinja_env, env).items()}


def _commands(files: dict[str, str], slug: str) -> list[pwsh.Command]:
    """Every command of a procedure's page blocks and scripts (each parse-clean)."""
    sources = [
        *pwsh.powershell_blocks(files[f"{slug}.md"]),
        *(t for f, t in files.items() if f.endswith(".ps1") and f"-{slug}-" in f),
    ]
    assert len(sources) > 10
    for text in sources:
        assert not pwsh.has_error(text), pwsh.error_nodes(text)
    return [c for text in sources for c in pwsh.commands(text)]


def _named(commands: list[pwsh.Command], name: str) -> list[dict[str, Any]]:
    return [c.params for c in commands if c.name == name]


@pytest.mark.parametrize("name", ["contoso", "fabrikam", "litwareinc", "northwind"])
def test_every_renewal_command_is_known_without_lookalike_characters(name: str) -> None:
    """As tests/test_powershell.py checks the integration's (its table of documented
    commands); -ErrorAction Stop: tests/test_live_systems.py, for every script."""
    files = _files(name)
    for slug in (OAUTH, AUTH):
        unknown = {c.name for c in _commands(files, slug)} - KNOWN
        assert not unknown, f"{name} {slug}: {unknown}"
        texts = [t for f, t in files.items() if f"-{slug}-" in f or f == f"{slug}.md"]
        assert not any(pwsh.LOOKALIKES.search(t) for t in texts)


def test_the_roll_with_the_new_certificate_described() -> None:
    """contoso names its next OAuthTokenIssuer certificate (a file) and when it takes effect."""
    commands = _commands(_files("contoso"), OAUTH)
    date = pwsh.Expr("parenthesized_expression", "([datetime]'2028-12-01T22:00:00+00:00')")
    rolls = [p for p in _named(commands, "Set-CsCertificate") if "Roll" in p]
    assert rolls and all(
        p
        == {
            "Identity": "global",
            "Type": "OAuthTokenIssuer",
            "Thumbprint": "669454138FDD547879544A8DE7D28CB84EAAA41C",
            "EffectiveDate": date,
            "Roll": pwsh.SWITCH,
            "ErrorAction": "Stop",
        }
        for p in rolls
    )
    # Never assigned at once: the only Set-CsCertificate without -Roll is the back-out's
    # reassignment of the previous certificate, from the saved state.
    at_once = [p for p in _named(commands, "Set-CsCertificate") if "Roll" not in p]
    assert at_once and all(p["Thumbprint"] == pwsh.Expr("variable", "$previous") for p in at_once)
    assert _named(commands, "Remove-CsCertificate") and all(
        p == {"Type": "OAuthTokenIssuer", "Previous": pwsh.SWITCH, "ErrorAction": "Stop"}
        for p in _named(commands, "Remove-CsCertificate")
    )
    refresh = _named(commands, "Set-PartnerApplication")
    assert refresh and all("RefreshAuthMetadata" in p for p in refresh)


def test_the_roll_without_the_new_certificate_asks_when_it_runs() -> None:
    files = _files("fabrikam")
    commands = _commands(files, OAUTH)
    rolls = [p for p in _named(commands, "Set-CsCertificate") if "Roll" in p]
    assert rolls and all(
        p["Thumbprint"] == pwsh.Expr("member_access", "$observed.Next")
        and p["EffectiveDate"] == pwsh.Expr("member_access", "$observed.Effective")
        for p in rolls
    )
    script = files[f"fabrikam-{OAUTH}-lync.ps1"]
    prompts = [a for c in commands if c.name == "Read-Host" for a in c.args]
    assert "Thumbprint of the new OAuthTokenIssuer certificate (40 hexadecimal digits)" in prompts
    assert "[datetime]::ParseExact($answer, 'yyyy-MM-dd HH:mm'" in script
    assert "Add `lync.next_oauth_certificate`" in files[f"{OAUTH}.md"]


def test_the_exchange_rotation_with_and_without_the_new_certificate() -> None:
    staged = _named(_commands(_files("litwareinc"), AUTH), "Set-AuthConfig")
    assert {
        "NewCertificateThumbprint": "7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B",
        "NewCertificateEffectiveDate": pwsh.Expr(
            "parenthesized_expression", "([datetime]'2028-12-01T22:00:00+00:00')"
        ),
        "ErrorAction": "Stop",
    } in staged
    for switch in ("PublishCertificate", "ClearPreviousCertificate"):
        assert {switch: pwsh.SWITCH, "ErrorAction": "Stop"} in staged
    files = _files("northwind")
    asked = _named(_commands(files, AUTH), "Set-AuthConfig")
    assert {
        "NewCertificateThumbprint": pwsh.Expr("member_access", "$observed.Next"),
        "NewCertificateEffectiveDate": pwsh.Expr("member_access", "$observed.Effective"),
        "ErrorAction": "Stop",
    } in asked
    page = files[f"{AUTH}.md"]
    assert "Add `exchange.next_auth_certificate`" in page
    assert (
        "No saved Microsoft page gives the recipe for a replacement Auth certificate (UNVERIFIED)"
        in page
    )


def _environment(tmp_path: Path, lync: str = "", exchange: str = "") -> Path:
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True, exist_ok=True)
    path = root / "environments" / "roll.yml"
    path.write_text(
        textwrap.dedent("""\
            title: Roll
            domain: contoso.com
            sip_domain: contoso.com
            lync:
              product: sfb2019
              pool: pool01.contoso.com
              front_ends: [fe01.contoso.com]
            """)
        + lync
        + "exchange:\n  product: exchange2016\n  servers: [ex01.contoso.com]\n"
        + exchange,
        "utf-8",
    )
    return path


def test_a_roll_less_than_24_hours_before_the_expiry_is_an_error_at_effective(
    tmp_path: Path,
) -> None:
    lync = (
        "  oauth_certificate:\n    thumbprint: 5F1A07A5D220018587E8136347C373267524F227\n"
        "    not_after: 2028-01-01\n"
        "  next_oauth_certificate:\n    thumbprint: 669454138FDD547879544A8DE7D28CB84EAAA41C\n"
        "    effective: {}\n"
    )
    ok = _environment(tmp_path, lync.format("2027-12-30T23:59:59+00:00"))
    env, found = load(ok, ok.parent.parent, TODAY)
    assert env is not None, found
    late = _environment(tmp_path, lync.format("2028-01-01T00:00:01+00:00"))
    env, found = load(late, late.parent.parent, TODAY)
    assert env is None
    assert [d.format().split(": ", 1)[0] for d in found] == [f"{found[0].path}:13:16"]
    assert (
        "lync.next_oauth_certificate.effective: 2028-01-01T00:00:01+00:00 is less than 24 hours"
        in found[0].message
    )


def test_the_exchange_replacement_follows_the_same_rule(tmp_path: Path) -> None:
    exchange = (
        "  auth_certificate:\n    thumbprint: 3C5E8F0A1B2C3D4E5F60718293A4B5C6D7E8F90A\n"
        "    not_after: 2028-01-01\n"
        "  next_auth_certificate:\n    thumbprint: 7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B\n"
        "    key_size: 1024\n    effective: 2028-01-01T12:00:00+00:00\n"
    )
    path = _environment(tmp_path, exchange=exchange)
    env, found = load(path, path.parent.parent, TODAY)
    assert env is None
    messages = sorted(d.message for d in found)
    assert messages[0].startswith("exchange.next_auth_certificate.effective: 2028-01-01T12:00:00")
    assert "the Exchange Auth certificate needs at least 2048" in messages[1]  # as the current


def _due(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["due", "--project", str(root), *args])
    return result.exit_code, result.stdout


def test_due_lists_every_expiry_soonest_first_and_exits_1_when_one_is_due(tmp_path: Path) -> None:
    today = dt.date.today()
    soon, later = today + dt.timedelta(days=20), today + dt.timedelta(days=400)
    path = _environment(
        tmp_path,
        lync=f"  oauth_certificate:\n    subject: CN=contoso.com\n    not_after: {later}\n",
        exchange=f"  auth_certificate:\n    thumbprint: 3C5E8F0A1B2C3D4E5F60718293A4B5C6D7E8F90A\n    not_after: {soon}\n",
    )
    root = path.parent.parent
    code, out = _due(root, "--format", "json")
    assert code == 1  # 20 days is within the default 60
    assert json.loads(out) == [
        {
            "environment": "roll",
            "certificate": "exchange.auth_certificate",
            "not_after": soon.isoformat(),
            "days_left": 20,
            "procedure": AUTH,
        },
        {
            "environment": "roll",
            "certificate": "lync.oauth_certificate",
            "not_after": later.isoformat(),
            "days_left": 400,
            "procedure": OAUTH,
        },
    ]
    code, out = _due(root, "--within", "10")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "environment",
        "certificate",
        "expires",
        "days",
        "left",
        "procedure",
    ]
    assert lines[1].split() == ["roll", "exchange.auth_certificate", soon.isoformat(), "20", AUTH]
    assert lines[2].split() == ["roll", "lync.oauth_certificate", later.isoformat(), "400", OAUTH]


def test_due_lists_a_certificate_that_has_expired(tmp_path: Path) -> None:
    """An expired certificate makes the file invalid; `due` must still show it first."""
    today = dt.date.today()
    gone, later = today - dt.timedelta(days=1), today + dt.timedelta(days=400)
    path = _environment(
        tmp_path,
        lync=f"  oauth_certificate:\n    subject: CN=contoso.com\n    not_after: {later}\n",
        exchange=f"  auth_certificate:\n    thumbprint: 3C5E8F0A1B2C3D4E5F60718293A4B5C6D7E8F90A\n    not_after: {gone}\n",
    )
    result = CliRunner().invoke(
        main, ["due", "--project", str(path.parent.parent), "--within", "0"]
    )
    assert result.exit_code == 1
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows == [
        ["roll", "exchange.auth_certificate", gone.isoformat(), "-1", AUTH],
        ["roll", "lync.oauth_certificate", later.isoformat(), "400", OAUTH],
    ]
    assert "roll.yml:" in result.stderr and "exchange.auth_certificate" in result.stderr


def test_due_of_the_examples_and_of_a_project_with_an_invalid_file(project: Path) -> None:
    code, out = _due(project, "--format", "json", "--within", "0")
    rows = json.loads(out)
    assert code == 0
    assert [r["days_left"] for r in rows] == sorted(r["days_left"] for r in rows)
    assert {(r["environment"], r["certificate"]) for r in rows} == {
        ("contoso", "lync.oauth_certificate"),
        ("contoso", "lync.next_oauth_certificate"),
        ("fabrikam", "lync.oauth_certificate"),
        ("litwareinc", "exchange.auth_certificate"),
        ("litwareinc", "exchange.next_auth_certificate"),
    }
    (project / "environments" / "broken.yml").write_text("title: [\n", "utf-8")
    result = CliRunner().invoke(main, ["due", "--project", str(project), "--within", "0"])
    assert result.exit_code == 1 and "broken.yml:" in result.stderr


@pytest.mark.parametrize(
    ("name", "slug", "needles"),
    [
        (
            "contoso",
            OAUTH,
            [
                "takes effect at 2028-12-01T22:00:00+00:00",
                "Only when one other certificate is current, and the effective date lies in the future",
                "-EffectiveDate ([datetime]'2028-12-01T22:00:00+00:00') -Roll",
                "Remove-CsCertificate -Type OAuthTokenIssuer -Previous",
                "thumbprint 669454138FDD547879544A8DE7D28CB84EAAA41C; takes effect",
                "check that it describes this renewal",
            ],
        ),
        (
            "litwareinc",
            AUTH,
            [
                "rotated with Set-AuthConfig",
                "Set-AuthConfig -PublishCertificate",
                "Only if this step published the new certificate:",
                "(UNVERIFIED)",
                "thumbprint 7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B, expires 2034-01-31",
            ],
        ),
    ],
)
def test_each_procedures_change_request_read_back(
    project: Path, name: str, slug: str, needles: list[str]
) -> None:
    out = project / f"{slug}.pdf"
    result = CliRunner().invoke(
        main,
        ["change-request", name, "--procedure", slug, "-o", str(out), "--project", str(project)],
    )
    assert result.exit_code == 0, result.stderr
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for needle in needles:
        assert needle in text, needle


@pytest.mark.parametrize("target", [["contoso", "-o", "x.pdf"], ["--all", "-o", "out"]])
def test_an_unknown_procedure_is_refused_and_nothing_written(
    project: Path, target: list[str]
) -> None:
    out = project / target[-1]
    args = [
        "change-request",
        *target[:-1],
        str(out),
        "--procedure",
        "nope",
        "--project",
        str(project),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "unknown procedure 'nope'" in result.stderr
    assert not out.exists()


def _fields(model: Any, prefix: str = "") -> list[str]:
    """Every key of the model, dotted, mappings before what they hold."""
    keys = []
    for key, field in model.model_fields.items():
        keys.append(prefix + key)
        for candidate in getattr(field.annotation, "__args__", (field.annotation,)):
            if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                keys += _fields(candidate, f"{prefix}{key}.")
    return keys


def test_the_reference_page_lists_every_field_of_the_model() -> None:
    jinja_env = rendering.make_jinja_env(REPO / "templates")
    (page,) = rendering.render_reference(jinja_env).values()
    listed = re.findall(r"^\| `([a-z_.]+)` \|", page, re.M)
    assert listed == _fields(EnvironmentSpec)
    assert (
        "| `lync.next_oauth_certificate.effective` | date and time with a time zone | no |" in page
    )
    assert "`{" not in page  # a mapping's default is its keys' defaults, not a Python dict


def test_an_environment_cannot_take_the_reference_page_s_name(tmp_path: Path) -> None:
    path = _environment(tmp_path)
    taken = path.with_name("format.yml")
    path.rename(taken)
    env, diagnostics = load(taken, taken.parent.parent, TODAY)
    assert env is None
    assert "the environment format's reference page" in diagnostics[0].message
