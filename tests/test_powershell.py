"""PowerShell on every page and in every script: parse-clean, quoted, and exactly the documented commands.

Commands and their parameters come from ../shared/reference/FACTS.md (sections 3-5); the
expected values are derived here from each example's YAML, independently of generator/facts.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pwsh
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from generator import rendering
from generator.errors import TemplateError
from generator.facts import derive
from generator.loading import LoadedEnvironment, load

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.stem for p in (REPO / "environments").glob("*.yml"))
TODAY = dt.date(2026, 11, 27)
Sources = dict[str, str]  # label -> PowerShell text


# --- the quoting filter -------------------------------------------------------------------

QUOTEY = st.text(
    alphabet=st.sampled_from(list("'\u2018\u2019\u201a\u201b\"\u201c\u201d`$(){};|&#@\n\r\t -ab"))
)
ANY_TEXT = st.one_of(st.text(), QUOTEY, st.text(alphabet=st.characters(exclude_categories=())))


def _representable(value: str) -> bool:
    return "\x00" not in value and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_powershell_literal_parses_as_one_verbatim_string_that_round_trips(value: str) -> None:
    if not _representable(value):
        # NUL can't be parsed back (the grammar, and every C tool a script passes through,
        # stops there) and lone surrogates can't be written as UTF-8: the filter refuses them.
        with pytest.raises(TemplateError, match="cannot be quoted for PowerShell"):
            rendering.powershell_literal(value)
        return
    quoted = rendering.powershell_literal(value)
    root = pwsh.parse(quoted).root_node
    assert not root.has_error, pwsh.error_nodes(quoted)
    # program > statement_list > pipeline > pipeline_chain > unary_expression > string_literal
    literals = [n for n in _walk(root) if n.type in ("string_literal", "expandable_string_literal")]
    assert len(literals) == 1
    assert literals[0].start_byte == 0 and literals[0].end_byte == len(quoted.encode())
    assert pwsh.string_literal_value(literals[0]) == value


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "\ud800", "x\udfff"])
def test_powershell_literal_refuses_what_it_cannot_represent(value: str) -> None:
    with pytest.raises(TemplateError, match="cannot be quoted for PowerShell"):
        rendering.powershell_literal(value)


def test_powershell_literal_refuses_none() -> None:
    with pytest.raises(TemplateError, match="passed nothing"):
        rendering.powershell_literal(None)


def test_a_single_curly_quote_is_doubled_like_an_ascii_one() -> None:
    # PowerShell ends a '...' string at U+2018..U+201B too; undoubled, the rest would run as code.
    assert (
        rendering.powershell_literal("a\u2019; Remove-Item C:\\")
        == "'a\u2019\u2019; Remove-Item C:\\'"
    )
    cmd = pwsh.commands("Set-X -Name " + rendering.powershell_literal("x'; Stop-Computer; '"))
    assert [c.name for c in cmd] == ["Set-X"]
    assert cmd[0].params == {"Name": "x'; Stop-Computer; '"}


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in node.children:
        yield from _walk(child)


# --- the rendered examples ----------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    """{example: {file name: text}} of the integration, rendered from the repository's
    templates."""
    jinja_env = rendering.make_jinja_env(REPO / "templates")
    out: dict[str, dict[str, str]] = {}
    for name in EXAMPLES:
        env = _load(REPO / "environments" / f"{name}.yml")
        for path, text in rendering.render_environment(jinja_env, env).items():
            if "renew-" not in path.name:  # the renewals: tests/test_renewals.py
                out.setdefault(name, {})[path.name] = text
    return out


def _load(path: Path) -> LoadedEnvironment:
    env, diagnostics = load(path, REPO, TODAY)
    assert env is not None, [d.format() for d in diagnostics]
    return env


def _sources(files: dict[str, str]) -> Sources:
    """Every piece of PowerShell of one example: each page's blocks, each script."""
    out: Sources = {}
    for fname, text in sorted(files.items()):
        if fname.endswith(".md"):
            for i, block in enumerate(pwsh.powershell_blocks(text)):
                out[f"{fname} block {i + 1}"] = block
        elif fname.endswith(".ps1"):
            out[fname] = text
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_block_and_script_parses_clean_without_lookalike_characters(
    name: str, rendered: dict[str, dict[str, str]]
) -> None:
    sources = _sources(rendered[name])
    assert sum(label.startswith("runbook.md") for label in sources) >= 20
    assert sum(label.endswith(".ps1") for label in sources) == 3
    for label, text in sources.items():
        assert text.strip(), f"{name}: {label} is empty"
        assert not pwsh.has_error(text), f"{name}: {label}: {pwsh.error_nodes(text)}\n{text}"
        bad = sorted({f"U+{ord(c):04X}" for c in pwsh.LOOKALIKES.findall(text)})
        assert not bad, f"{name}: {label} holds {bad}"


def test_every_fenced_block_is_found(rendered: dict[str, dict[str, str]]) -> None:
    # The fence regex must not miss blocks (e.g. indented in tabs): count the fences another way.
    for name, files in rendered.items():
        page = files["runbook.md"]
        opening = sum(1 for line in page.splitlines() if line.strip() == "```powershell")
        assert opening == len(pwsh.powershell_blocks(page)), name


# --- expected commands, from the YAML and FACTS.md ----------------------------------------

# Every command name the runbooks may use, each documented in FACTS.md (or a PowerShell
# built-in for capturing/formatting values). A typo'd or invented cmdlet fails here.
KNOWN = {
    "Get-CsCertificate",
    "Set-CsCertificate",
    "Remove-CsCertificate",  # the renewal's, once the previous certificate has expired
    "Get-CsManagementStoreReplicationStatus",
    "Get-CsOAuthConfiguration",
    "Set-CsOAuthConfiguration",
    "Get-CsPartnerApplication",
    "New-CsPartnerApplication",
    "Set-CsPartnerApplication",
    "Test-CsExStorageConnectivity",
    "Get-AuthConfig",
    "Set-AuthConfig",  # the Exchange Auth certificate's renewal
    "Get-ExchangeCertificate",
    "Get-PartnerApplication",
    "Set-PartnerApplication",
    "Test-OAuthConnectivity",
    "Get-ClientAccessServer",
    "Set-ClientAccessServer",
    "Get-ClientAccessService",
    "Set-ClientAccessService",
    ".\\Configure-EnterprisePartnerApplication.ps1",
    "iisreset",
    "Add-DnsServerResourceRecordCName",
    "Add-DnsServerResourceRecordA",
    "Remove-DnsServerResourceRecord",
    "Resolve-DnsName",
    # PowerShell's own, to capture, compare, save and show values, and to ask the operator.
    "Select-Object",
    "Format-List",
    "Format-Table",
    "Out-String",
    "ForEach-Object",
    "Where-Object",
    "Join-Path",
    "Push-Location",
    "Pop-Location",
    "Test-Path",
    "Get-Item",
    "Get-Date",
    "Import-Clixml",
    "Export-Clixml",
    "New-Item",
    "Out-Null",
    "Write-Host",
    "Write-Warning",
    "Read-Host",
    "Start-Sleep",
    "Unblock-File",
    # The scripts' own functions.
    "Read-RunbookState",
    "Save-RunbookState",
    *(f"Test-RunbookStep{n}" for n in range(2, 11)),
}
VAR = pwsh.Expr  # parameters whose value must be computed at run time (captured values)


@dataclasses.dataclass(frozen=True)
class Expected:
    """A command that must appear with exactly these parameters (``None``: any Expr value)."""

    name: str
    params: dict[str, Any]
    where: tuple[str, ...]  # labels' prefixes: "runbook.md", "<name>-lync.ps1", ...
    count: int | None = None  # exact number of occurrences per source, if known
    args: tuple[str, ...] = ()


def _expected(name: str) -> list[Expected]:
    y = yaml.safe_load((REPO / "environments" / f"{name}.yml").read_text("utf-8"))
    lync, ex, dns = y["lync"], y["exchange"], y.get("dns") or {}
    host = ex.get("autodiscover_host") or f"autodiscover.{y['domain']}"
    zone = dns.get("zone") or y["domain"]
    record_name = host.removesuffix("." + zone)
    server = dns.get("server")
    on_server = {"ComputerName": server} if server else {}
    # Without dns.server the script runs on a DNS server of the zone, and asks that one.
    at_server = {"Server": server or "127.0.0.1"}
    svc = "Server" if ex["product"] == "exchange2013" else "Service"
    book, lps1, xps1, dps1 = (
        "runbook.md",
        f"{name}-lync.ps1",
        f"{name}-exchange.ps1",
        f"{name}-dns.ps1",
    )
    stop = {"ErrorAction": "Stop"}

    cert = lync.get("oauth_certificate") or {}
    if cert.get("file"):
        data = (REPO / "environments" / cert["file"]).read_bytes()
        der = (
            x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
            if data.startswith(b"-----")
            else data
        )
        thumbprint: Any = hashlib.sha1(der).hexdigest().upper()
    elif cert.get("thumbprint"):
        thumbprint = str(cert["thumbprint"]).upper()
    else:
        thumbprint = VAR  # the Default certificate's, observed [L-CERT]

    out = [
        # Step 2 [L-CERT][S-EXO]
        Expected("Get-CsCertificate", {"Type": "OAuthTokenIssuer"}, (book, lps1)),
        Expected(
            "Set-CsCertificate",
            {"Identity": "global", "Type": "OAuthTokenIssuer", "Thumbprint": thumbprint},
            (book, lps1),
            count=1,
        ),
        Expected("Get-CsManagementStoreReplicationStatus", {}, (book, lps1)),
        # Step 3 [Get-AuthConfig.md][Get-ExchangeCertificate.md]
        Expected("Get-AuthConfig", stop, (book, xps1)),
        # Step 4 [Resolve-DnsName.md][Add-DnsServerResourceRecordCName.md][Remove-DnsServerResourceRecord.md]
        Expected(
            "Resolve-DnsName",
            {
                "Name": host,
                **at_server,
                "DnsOnly": pwsh.SWITCH,
                "ErrorAction": "SilentlyContinue",
                "ErrorVariable": "lookupErrors",
            },
            (book, dps1),
        ),
        # Steps 5 and 6: the name resolves from the Exchange server and the Front End.
        Expected(
            "Resolve-DnsName",
            {"Name": host, "DnsOnly": pwsh.SWITCH, "ErrorAction": "SilentlyContinue"},
            (book, xps1, lps1),
        ),
        # Step 6 [L-PRE]
        Expected(
            "Set-CsOAuthConfiguration",
            {
                "Identity": "global",
                "ExchangeAutodiscoverUrl": f"https://{host}/autodiscover/autodiscover.svc",
                **stop,
            },
            (book, lps1),
            count=1,
        ),
        Expected("Get-CsOAuthConfiguration", {"Identity": "global"}, (book, lps1)),
        # Step 7 [L-PA][S-PA]
        Expected(
            ".\\Configure-EnterprisePartnerApplication.ps1",
            {
                "AuthMetadataUrl": f"https://{lync['pool']}/metadata/json/1",
                "ApplicationType": "Lync",
            },
            (book, xps1),
            count=1,
        ),
        Expected("Get-PartnerApplication", stop, (book, xps1)),
        Expected(
            "Set-PartnerApplication",
            {"Identity": VAR, "Enabled": VAR, **stop},
            (book, xps1),
            count=1,
        ),
        # Step 8 [L-PA][S-PA]
        Expected(
            "New-CsPartnerApplication",
            {
                "Identity": "Exchange",
                "ApplicationTrustLevel": "Full",
                "MetadataUrl": f"https://{host}/autodiscover/metadata/json/1",
                **stop,
            },
            (book, lps1),
            count=1,
        ),
        Expected("Get-CsPartnerApplication", {}, (book, lps1)),
        Expected(
            "Set-CsPartnerApplication",
            {"Identity": "Exchange", "Enabled": VAR, **stop},
            (book, lps1),
            count=1,
        ),
        # Step 10 [Test-OAuthConnectivity.md]
        Expected(
            "Test-OAuthConnectivity",
            {
                "Service": "EWS",
                "TargetUri": f"https://{ex['servers'][0]}/ews/",
                "Mailbox": VAR,
                **stop,
            },
            (book, xps1),
            count=1,
        ),
    ]
    for srv in ex["servers"]:
        out += [
            Expected("iisreset", {}, (book, xps1), count=1, args=(srv,)),
            Expected(
                "Get-ExchangeCertificate",
                {"Server": srv, "Thumbprint": VAR, **stop},
                (book, xps1),
            ),
            Expected("Get-ExchangeCertificate", {"Server": srv, **stop}, (book, xps1)),
            Expected(f"Get-ClientAccess{svc}", {"Identity": srv, **stop}, (book, xps1)),
            # One server at a time, -Identity given [Set-ClientAccessServer.md][Set-ClientAccessService.md]
            Expected(
                f"Set-ClientAccess{svc}",
                {
                    "Identity": srv,
                    "AutoDiscoverServiceInternalUri": f"https://{host}/autodiscover/autodiscover.xml",
                    **stop,
                },
                (book, xps1),
                count=1,
            ),
        ]
    if dns.get("autodiscover_record", "cname") == "cname":
        add, rr, data = "Add-DnsServerResourceRecordCName", "CName", ex["servers"][0]
        values = {"Name": record_name, "HostNameAlias": data}
    else:
        add, rr, data = "Add-DnsServerResourceRecordA", "A", dns["address"]
        values = {"Name": record_name, "IPv4Address": data}
    out += [
        Expected(
            add,
            {**values, "ZoneName": zone, "TimeToLive": "01:00:00", **on_server, **stop},
            (book, dps1),
            count=1,
        ),
        Expected(
            "Remove-DnsServerResourceRecord",
            {
                "ZoneName": zone,
                "RRType": rr,
                "Name": record_name,
                "RecordData": data,
                **on_server,
                "Force": pwsh.SWITCH,
                **stop,
            },
            (book, dps1),
            count=1,
        ),
    ]
    if thumbprint is VAR:
        out.append(Expected("Get-CsCertificate", {"Type": "Default"}, (book, lps1)))
    user = lync.get("test_user")
    out.append(
        Expected(
            "Test-CsExStorageConnectivity",
            {"SipUri": user if user else VAR, "DeleteItem": pwsh.SWITCH, **stop},
            (book, lps1),
            count=1,
        )
    )
    return out


def _matches(cmd: pwsh.Command, exp: Expected) -> bool:
    if set(cmd.params) != set(exp.params) or _args(cmd) != exp.args:
        return False
    for key, want in exp.params.items():
        got = cmd.params[key]
        if want is VAR:
            if not isinstance(got, pwsh.Expr) or got is pwsh.SWITCH:
                return False
        elif got != want:
            return False
    return True


def _args(cmd: pwsh.Command) -> tuple[str, ...]:
    return tuple(a if isinstance(a, str) else a.text for a in cmd.args)


def _commands_by_source(files: dict[str, str]) -> dict[str, list[pwsh.Command]]:
    """Commands per source: all runbook.md blocks together, and each script."""
    grouped: dict[str, list[pwsh.Command]] = {}
    for label, text in _sources(files).items():
        key = label.split(" block ")[0]
        grouped.setdefault(key, []).extend(pwsh.commands(text))
    return grouped


@pytest.fixture(scope="module")
def command_count() -> Iterator[dict[str, int]]:
    counts: dict[str, int] = {}
    yield counts
    if counts:
        folder = REPO / "build" / "test-artifacts"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"{name}: {n}" for name, n in sorted(counts.items())]
        (folder / "powershell-commands.txt").write_text(
            f"{sum(counts.values())} commands checked by parsing\n" + "\n".join(lines) + "\n",
            "utf-8",
        )


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_command_carries_the_documented_parameters_and_values(
    name: str, rendered: dict[str, dict[str, str]], command_count: dict[str, int]
) -> None:
    grouped = _commands_by_source(rendered[name])
    checked = 0
    for exp in _expected(name):
        for source in exp.where:
            cmds = [c for c in grouped[source] if c.name == exp.name]
            hits = [c for c in cmds if _matches(c, exp)]
            assert hits, (
                f"{name}: {source}: no {exp.name} with {exp.params} {exp.args}; found {[(c.params, c.args) for c in cmds]}"
            )
            if exp.count is not None:
                assert len(hits) == exp.count, (
                    f"{name}: {source}: {exp.name} {len(hits)} times, want {exp.count}"
                )
            checked += len(hits)
    # Every command of every source is a known one, and the value-bearing commands are
    # never present with other values than the expected ones.
    strict = {
        "Set-CsOAuthConfiguration",
        "New-CsPartnerApplication",
        "Set-CsPartnerApplication",
        "Set-PartnerApplication",
        "Set-ClientAccessServer",
        "Set-ClientAccessService",
        ".\\Configure-EnterprisePartnerApplication.ps1",
        "Add-DnsServerResourceRecordCName",
        "Add-DnsServerResourceRecordA",
        "Remove-DnsServerResourceRecord",
        "Test-CsExStorageConnectivity",
        "Test-OAuthConnectivity",
        "Resolve-DnsName",
        "Set-CsCertificate",
        "iisreset",
    }
    expected = _expected(name)
    for source, cmds in grouped.items():
        for cmd in cmds:
            assert cmd.name in KNOWN, f"{name}: {source}: unknown command {cmd.name!r}: {cmd.text}"
            if cmd.name in strict:
                assert any(e.name == cmd.name and _matches(cmd, e) for e in expected), (
                    f"{name}: {source}: unexpected {cmd.text}"
                )
    command_count[name] = checked
    assert checked >= 30


def test_autodiscover_urls_are_svc_for_lync_and_xml_for_exchange(
    rendered: dict[str, dict[str, str]],
) -> None:
    # FACTS.md section 7, gotcha 1: the two URLs must never be swapped.
    for name, files in rendered.items():
        for source, cmds in _commands_by_source(files).items():
            for cmd in cmds:
                url = cmd.params.get("ExchangeAutodiscoverUrl")
                if isinstance(url, str):
                    assert url.endswith("/autodiscover/autodiscover.svc"), (name, source, cmd.text)
                uri = cmd.params.get("AutoDiscoverServiceInternalUri")
                if isinstance(uri, str):
                    assert uri.endswith("/autodiscover/autodiscover.xml"), (name, source, cmd.text)


# --- hostile values never change the shape of a command -----------------------------------

HOSTILE = st.lists(
    st.one_of(
        st.sampled_from(
            list(
                "'\u2018\u2019\u201a\u201b\"\u201c\u201d`$(){}[];|&<>#@!*=:\\-\u2013\u2014.\n\r\t "
            )
        ),
        st.sampled_from(
            [
                "```",
                "\n```powershell\n",
                "$(Stop-Computer)",
                "'; Stop-Computer; '",
                "<script>",
                "!!! note",
                "    ",
                "\n# H\n",
            ]
        ),
        st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
    ),
    min_size=1,
    max_size=20,
).map(lambda parts: "".join(parts) if "".join(parts).strip() else "".join(parts) + "x")
# A SIP URI reaches the step tables, and so the scripts, only as the loader lets it through
# (sip:user@host, the user of letters, digits and ._+-); within that, quoting keeps the shape.
SIP_USER = st.from_regex(r"[A-Za-z0-9._+-]{1,20}\Z", fullmatch=True).map(
    lambda u: u + "@example.com"
)


def _shapes(files: dict[str, str]) -> dict[str, list[tuple[str, tuple[str, ...], int]]]:
    out: dict[str, list[tuple[str, tuple[str, ...], int]]] = {}
    for label, text in _sources(files).items():
        assert not pwsh.has_error(text), (label, pwsh.error_nodes(text))
        out[label] = [c.shape for c in pwsh.commands(text)]
    return out


BENIGN = "Benign"


def _with(
    env: LoadedEnvironment, title: str, description: str, change: dict[str, str], test_user: str
) -> LoadedEnvironment:
    """``env`` with these free-text values (set without the loader, on purpose)."""
    spec = env.spec.model_copy(
        update={
            "title": title,
            "description": description,
            "change": env.spec.change.model_copy(update=change),
            "lync": env.spec.lync.model_copy(update={"test_user": "sip:" + test_user}),
        }
    )
    return dataclasses.replace(env, spec=spec)


def _render_files(env: LoadedEnvironment) -> dict[str, str]:
    jinja_env = rendering.make_jinja_env(REPO / "templates")
    return {p.name: t for p, t in rendering.render_environment(jinja_env, env).items()}


@pytest.fixture(scope="module")
def benign() -> dict[str, tuple[LoadedEnvironment, dict[str, Any], dict[str, list[str]]]]:
    """Per example: the environment, and the shapes and page skeletons with benign values."""
    out = {}
    for name in EXAMPLES:
        env = _load(REPO / "environments" / f"{name}.yml")
        changes = dict.fromkeys(CHANGE_FIELDS, BENIGN)
        files = _render_files(_with(env, BENIGN, BENIGN, changes, "benign@example.com"))
        out[name] = (env, _shapes(files), {page: _structure(files[page]) for page in PAGES})
    return out


CHANGE_FIELDS = ("id", "summary", "requested_by", "implementer")
PAGES = ("index.md", "runbook.md")


# No shrinking: one rendering takes ~0.3 s and shrinking a failure took minutes; the
# unshrunk failing values are printed all the same.
@settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(EXAMPLES),
    title=HOSTILE,
    description=HOSTILE,
    change=st.fixed_dictionaries(dict.fromkeys(CHANGE_FIELDS, HOSTILE)),
    test_user=SIP_USER,
)
def test_hostile_values_never_change_the_shape_of_a_command(
    benign: dict[str, tuple[LoadedEnvironment, dict[str, Any], dict[str, list[str]]]],
    name: str,
    title: str,
    description: str,
    change: dict[str, str],
    test_user: str,
) -> None:
    env, shapes, skeletons = benign[name]
    files = _render_files(_with(env, title, description, change, test_user))
    assert _shapes(files) == shapes
    # The value arrives intact, as one literal, wherever it is used.
    lync_cmds = pwsh.commands(files[f"{name}-lync.ps1"])
    tested = _with(env, title, description, change, test_user)
    assert [c.params["SipUri"] for c in lync_cmds if c.name == "Test-CsExStorageConnectivity"] == [
        derive(tested.spec).test_user_uri
    ]
    # Free text stays text: no fence, heading, admonition, tab or HTML tag comes from it.
    for page in PAGES:
        assert _structure(files[page]) == skeletons[page], page
        # The title in the front matter stays one YAML string (mkdocs shows it in nav and search).
        front = yaml.safe_load(files[page].split("---\n")[1])
        assert set(front) == {"title"} and isinstance(front["title"], str), page
        assert "<" not in front["title"] and "\n" not in front["title"], page


def _structure(markdown: str) -> list[str]:
    """The Markdown skeleton of a page: headings, fences, admonitions, tabs, tags."""
    marker = re.compile(r"^\s*(#{1,6} |```|!!! |=== |<)")
    return [m.group(1) for m in map(marker.match, markdown.splitlines()) if m]
