"""What follows from an environment: URLs, DNS records, cmdlet and shell names.

The product facts themselves live in ``data/products.yml``; this module only combines them
with the environment. Every URL and record name the pages show is derived here, once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from generator.model import EnvironmentSpec


@functools.cache
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
    sources: tuple[str, ...]
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
            return ProductPair(lync, exchange, True, tuple(pair["sources"]), pair.get("note", ""))
    return ProductPair(lync, exchange, False, (), "")


@dataclass(frozen=True)
class DnsRecord:
    """One DNS record the runbook creates."""

    zone: str
    name: str  # relative to the zone
    fqdn: str
    type: str  # "CNAME" or "A"
    data: str  # target FQDN or IPv4 address
    ttl: int = 3600


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
    )
