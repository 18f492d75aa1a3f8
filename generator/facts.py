"""What follows from an environment: URLs, DNS records, cmdlet and shell names.

The product facts themselves live in ``data/products.yml``; this module only combines them
with the environment. Every URL and record name the pages show is derived here, once.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from generator import names
from generator.model import EnvironmentSpec


@functools.cache
def product_table() -> dict[str, Any]:
    """The product facts of ``data/products.yml`` (read once; callers do not change it)."""
    text = resources.files("generator").joinpath("data/products.yml").read_text("utf-8")
    table: dict[str, Any] = yaml.safe_load(text)
    return table


@dataclass(frozen=True)
class ProductPair:
    """Whether the saved documentation describes this Lync/SfB + Exchange pair."""

    lync: str
    exchange: str
    documented: bool
    lync_side: str  # what the Lync/SfB pages document for this pair, with their sources
    exchange_side: str  # what the Exchange pages document for it
    note: str

    @property
    def warning(self) -> str:
        """The warning shown for an undocumented pair."""
        table = product_table()
        lync, exchange = table["lync"][self.lync]["name"], table["exchange"][self.exchange]["name"]
        return (
            f"{lync} with {exchange} is not a documented combination: no saved Microsoft page "
            "describes this integration for it (UNVERIFIED). The runbook follows the nearest "
            "documented procedure; test it in a lab first"
        )


def product_pair(lync: str, exchange: str) -> ProductPair:
    """Look up a product pair in the data table."""
    for pair in product_table()["documented_pairs"]:
        if pair["lync"] == lync and pair["exchange"] == exchange:
            return ProductPair(
                lync, exchange, True, pair["lync_side"], pair["exchange_side"], pair.get("note", "")
            )
    return ProductPair(lync, exchange, False, "", "", "")


@dataclass(frozen=True)
class DnsRecord:
    """One DNS record the runbook creates."""

    zone: str
    name: str  # relative to the zone
    fqdn: str
    type: str  # "CNAME" or "A"
    data: str  # target FQDN or IPv4 address
    ttl: int = 3600

    @property
    def ttl_span(self) -> str:
        """The TTL as a PowerShell TimeSpan (hh:mm:ss), for -TimeToLive."""
        minutes, seconds = divmod(self.ttl, 60)
        return f"{minutes // 60:02}:{minutes % 60:02}:{seconds:02}"


@dataclass(frozen=True)
class Facts:
    """Everything the templates need that is derived from the environment."""

    lync_product: dict[str, str]
    exchange_product: dict[str, Any]
    pair: ProductPair
    autodiscover_host: str
    zone: str
    exchange_autodiscover_uri: str
    lync_autodiscover_url: str
    exchange_metadata_url: str
    lync_metadata_url: str
    record: DnsRecord
    # The autodiscover host's parent domain as a wildcard name (a certificate may name it so).
    autodiscover_wildcard: str
    # A .NET regular expression that finds the SIP domain as a name in a certificate Subject.
    sip_domain_pattern: str
    # A .NET regular expression that finds what names Exchange in a Lync partner application:
    # Exchange's application identifier [L-ONPREM], a server's name, the autodiscover host.
    exchange_pattern: str
    test_user_uri: str | None  # lync.test_user with its domain as A-labels
    ews_url: str  # EWS on the first Exchange server (Test-OAuthConnectivity's documented form)


def derive(spec: EnvironmentSpec) -> Facts:
    """Derive the URLs, records and product facts of one environment."""
    table = product_table()
    host, zone = spec.autodiscover_host, spec.zone
    name = host.removesuffix("." + zone)
    if spec.dns.autodiscover_record == "a":
        assert spec.dns.address is not None  # the loader's rules guarantee it
        record = DnsRecord(zone, name, host, "A", spec.dns.address)
    else:
        record = DnsRecord(zone, name, host, "CNAME", spec.exchange.servers[0])
    return Facts(
        lync_product=table["lync"][spec.lync.product],
        exchange_product=table["exchange"][spec.exchange.product],
        pair=product_pair(spec.lync.product, spec.exchange.product),
        autodiscover_host=host,
        zone=zone,
        exchange_autodiscover_uri=f"https://{host}/autodiscover/autodiscover.xml",
        lync_autodiscover_url=f"https://{host}/autodiscover/autodiscover.svc",
        exchange_metadata_url=f"https://{host}/autodiscover/metadata/json/1",
        lync_metadata_url=f"https://{spec.lync.pool}/metadata/json/1",
        record=record,
        autodiscover_wildcard="*." + host.partition(".")[2],
        sip_domain_pattern=r"(^|[=.,\s])" + re.escape(spec.sip_domain) + r"(\s*,|\s*$)",
        exchange_pattern="|".join(
            re.escape(name)
            for name in ("00000002-0000-0ff1-ce00-000000000000", *spec.exchange.servers, host)
        ),
        test_user_uri=_sip_uri(spec.lync.test_user),
        ews_url=f"https://{spec.exchange.servers[0]}/ews/",
    )


def _sip_uri(value: str | None) -> str | None:
    """``value`` with its domain as A-labels (the loader has checked it is a SIP URI)."""
    if value is None:
        return None
    try:
        user, domain = names.sip_uri(value)
    except ValueError:
        return value  # a model made without the loader: quoted as it is
    return f"sip:{user}@{domain}"
