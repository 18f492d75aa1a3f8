"""Environment file format version 1 as typed, frozen data. No I/O, no Jinja."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)

from generator import names

LyncProduct = names.LyncProduct
ExchangeProduct = names.ExchangeProduct


def _only_date(value: Any) -> Any:
    # pydantic's lax date also takes numbers as Unix timestamps: a YAML typo, not a date.
    if isinstance(value, bool | int | float):
        raise ValueError("expected a date like 2027-06-30")
    return value


def _only_datetime(value: Any) -> Any:
    # As _only_date: a number is not taken as a Unix timestamp.
    if isinstance(value, bool | int | float):
        raise ValueError(
            "expected a date and time with a time zone, like 2026-12-05T22:00:00+00:00"
        )
    return value


Hostname = Annotated[StrictStr, AfterValidator(names.hostname)]
Thumbprint = Annotated[StrictStr, AfterValidator(names.thumbprint)]
IPv4 = Annotated[StrictStr, AfterValidator(names.ipv4)]
Date = Annotated[dt.date, BeforeValidator(_only_date)]
When = Annotated[AwareDatetime, BeforeValidator(_only_datetime)]
Text = Annotated[StrictStr, Field(min_length=1, max_length=2000), AfterValidator(names.text)]
# One line: names, ids, paths; a line break there could start a new Markdown block or command.
Line = Annotated[Text, AfterValidator(names.line)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OAuthCertificate(_Frozen):
    """The Lync/SfB OAuthTokenIssuer certificate, stated or read from a public certificate file."""

    file: Line | None = Field(
        None, description="Public certificate (PEM or DER), relative to the YAML file"
    )
    subject: Line | None = Field(None, description="Subject, e.g. CN=litwareinc.com")
    key_size: StrictInt | None = Field(None, description="Key size in bits (at least 2048)")
    thumbprint: Thumbprint | None = Field(None, description="SHA-1 thumbprint, 40 hex digits")
    not_after: Date | None = Field(None, description="Expiry date")


class Lync(_Frozen):
    """The Lync Server 2013 / Skype for Business Server side."""

    product: LyncProduct
    pool: Hostname = Field(description="Front End pool FQDN")
    front_ends: tuple[Hostname, ...] = Field(min_length=1, description="Front End server FQDNs")
    oauth_certificate: OAuthCertificate | None = None
    test_user: Line | None = Field(None, description="sip: URI of a user with an Exchange mailbox")


class Exchange(_Frozen):
    """The Exchange Server side."""

    product: ExchangeProduct
    servers: tuple[Hostname, ...] = Field(min_length=1, description="Exchange server FQDNs")
    autodiscover_host: Hostname | None = Field(None, description="Default: autodiscover.<domain>")


class Dns(_Frozen):
    """Where and how the autodiscover record is created."""

    zone: Hostname | None = Field(None, description="DNS zone; default: domain")
    server: Hostname | None = Field(None, description="Windows DNS server for -ComputerName")
    autodiscover_record: Literal["cname", "a"] = "cname"
    address: IPv4 | None = Field(None, description="IPv4 address, required for an a record")


class Change(_Frozen):
    """What the change-request document shows."""

    id: Line | None = None
    summary: Line | None = None
    requested_by: Line | None = None
    implementer: Line | None = None
    window_start: When | None = None
    window_end: When | None = None
    risk: Literal["low", "medium", "high"] | None = None


class EnvironmentSpec(_Frozen):
    """One environment file, format version 1."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="runbook environment (format version 1)",
    )

    title: Line
    description: Text | None = None
    domain: Hostname
    sip_domain: Hostname
    lync: Lync
    exchange: Exchange
    dns: Dns = Dns()
    change: Change = Change()

    @property
    def autodiscover_host(self) -> str:
        """The autodiscover host: as stated, or ``autodiscover.<domain>``."""
        return self.exchange.autodiscover_host or f"autodiscover.{self.domain}"

    @property
    def zone(self) -> str:
        """The DNS zone that holds the autodiscover record: as stated, or the domain."""
        return self.dns.zone or self.domain
