"""Step 5, DNS: the BIND fragment passes the real named-checkzone, and every form of the
record (table, zone fragment, Windows DNS command, check) says the same as the YAML."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
from pathlib import Path
from typing import Any

import dns.name
import dns.rdatatype
import dns.zone
import pwsh
import pytest
import yaml

from generator import rendering
from generator.loading import load

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.stem for p in (REPO / "environments").glob("*.yml"))
TODAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    jinja_env = rendering.make_jinja_env(REPO / "templates")
    out: dict[str, dict[str, str]] = {}
    for name in EXAMPLES:
        env, diagnostics = load(REPO / "environments" / f"{name}.yml", REPO, TODAY)
        assert env is not None, [d.format() for d in diagnostics]
        out[name] = {p.name: t for p, t in rendering.render_environment(jinja_env, env).items()}
    return out


def _yaml(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (REPO / "environments" / f"{name}.yml").read_text("utf-8")
    )
    return data


def _expected_record(name: str) -> tuple[str, str, str, str, str | None]:
    """(zone, owner FQDN, type, data, dns server) from the YAML alone."""
    y = _yaml(name)
    dns_section = y.get("dns") or {}
    zone = dns_section.get("zone") or y["domain"]
    host = y["exchange"].get("autodiscover_host") or f"autodiscover.{y['domain']}"
    if dns_section.get("autodiscover_record", "cname") == "a":
        return zone, host, "A", dns_section["address"], dns_section.get("server")
    return zone, host, "CNAME", y["exchange"]["servers"][0], dns_section.get("server")


def _records(fragment: str) -> list[list[str]]:
    return [
        line.split()
        for line in fragment.splitlines()
        if line.strip() and not line.lstrip().startswith(";")
    ]


@pytest.mark.parametrize("name", EXAMPLES)
def test_zone_fragment_passes_named_checkzone(
    name: str, rendered: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    zone = _expected_record(name)[0]
    fragment = rendered[name][f"{name}-autodiscover.zone"]
    zonefile = tmp_path / "zone.db"
    zonefile.write_text(
        f"$TTL 3600\n"
        f"{zone}. 3600 IN SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 3600\n"
        f"{zone}. 3600 IN NS ns1.{zone}.\n"
        f"ns1.{zone}. 3600 IN A 192.0.2.53\n" + fragment,
        "utf-8",
    )
    done = subprocess.run(
        ["named-checkzone", "-i", "full", "-k", "fail", "-n", "fail", zone, str(zonefile)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout
    # And the same file read by dnspython: exactly the one record, where the YAML says.
    parsed = dns.zone.from_file(str(zonefile), origin=zone, relativize=False)
    _want_zone, owner, rtype, data, _ = _expected_record(name)
    rdataset = parsed.find_rdataset(dns.name.from_text(owner), dns.rdatatype.from_text(rtype))
    assert [r.to_text() for r in rdataset] == [data + "." if rtype == "CNAME" else data]


@pytest.mark.parametrize("name", EXAMPLES)
def test_zone_fragment_names_are_absolute_and_match_the_yaml(
    name: str, rendered: dict[str, dict[str, str]]
) -> None:
    zone, owner, rtype, data, _ = _expected_record(name)
    records = _records(rendered[name][f"{name}-autodiscover.zone"])
    assert len(records) == 1, records
    fields = records[0]
    assert fields[0] == owner + "."  # absolute: named-checkzone would append the zone otherwise
    assert fields[1:4] == ["3600", "IN", rtype]
    if rtype == "CNAME":
        # named-checkzone silently turns a target without the dot into target.zone.: check here.
        assert fields[4] == data + ".", fields
    else:
        assert ipaddress.IPv4Address(fields[4]) == ipaddress.IPv4Address(data)
    assert owner == zone or owner.endswith("." + zone)


@pytest.mark.parametrize("name", EXAMPLES)
def test_runbook_table_and_bind_tab_show_the_same_record(
    name: str, rendered: dict[str, dict[str, str]]
) -> None:
    zone, owner, rtype, data, _ = _expected_record(name)
    page = rendered[name]["runbook.md"]
    # The TTL the table shows is the TTL the command sets.
    assert (
        f"| `{owner}` | {rtype} | `{data}` | `{zone}` | 3600 (set with `-TimeToLive 01:00:00`) |"
        in page
    )
    fragment_line = f"{owner}. 3600 IN {rtype} {data}{'.' if rtype == 'CNAME' else ''}"
    assert fragment_line in page
    assert fragment_line in rendered[name][f"{name}-autodiscover.zone"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_windows_dns_commands_match_the_yaml(
    name: str, rendered: dict[str, dict[str, str]]
) -> None:
    zone, owner, rtype, data, server = _expected_record(name)
    relative = owner.removesuffix("." + zone)
    for label, text in (
        ("dns.ps1", rendered[name][f"{name}-dns.ps1"]),
        ("runbook.md", "\n".join(pwsh.powershell_blocks(rendered[name]["runbook.md"]))),
    ):
        assert not pwsh.has_error(text), (label, pwsh.error_nodes(text))
        cmds = pwsh.commands(text)
        adds = [c for c in cmds if c.name.startswith("Add-DnsServerResourceRecord")]
        assert len(adds) == 1, (label, adds)
        add = adds[0]
        if rtype == "CNAME":
            assert add.name == "Add-DnsServerResourceRecordCName"
            assert add.params.get("HostNameAlias") == data
        else:
            assert add.name == "Add-DnsServerResourceRecordA"
            assert add.params.get("IPv4Address") == data
        assert add.params.get("Name") == relative
        assert add.params.get("ZoneName") == zone
        assert add.params.get("TimeToLive") == "01:00:00"
        # -ComputerName exactly when dns.server is set: otherwise the local DNS server is used.
        assert ("ComputerName" in add.params) == (server is not None), (label, add.text)
        if server:
            assert add.params["ComputerName"] == server
        # The DNS step's lookups (observe, verify) ask the zone's server and keep the error:
        # only "the name does not exist" counts as absent, a server that did not answer stops.
        resolves = [c for c in cmds if c.name == "Resolve-DnsName" and "ErrorVariable" in c.params]
        assert len(resolves) >= 2, label
        for check in resolves:
            assert check.params.get("Name") == owner
            # The server the change is made on (its own, without dns.server) is asked.
            assert check.params.get("Server") == (server or "127.0.0.1")
            assert check.params["ErrorAction"] == "SilentlyContinue"
        assert "DNS_ERROR_RCODE_NAME_ERROR" in text
        removes = [c for c in cmds if c.name == "Remove-DnsServerResourceRecord"]
        assert len(removes) == 1
        assert removes[0].params.get("RRType") == ("CName" if rtype == "CNAME" else "A")
        assert removes[0].params.get("RecordData") == data  # this record only
        assert ("ComputerName" in removes[0].params) == (server is not None)
