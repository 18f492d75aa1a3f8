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


class Certificate(_Frozen):
    """A certificate, stated or read from a public certificate file (PEM or DER)."""

    file: Line | None = Field(
        None,
        description="Public certificate (PEM or DER), relative to the YAML file",
        examples=["certs/oauth.cer"],
    )
    subject: Line | None = Field(None, description="Subject", examples=["CN=litwareinc.com"])
    key_size: StrictInt | None = Field(
        None, description="Key size in bits (at least 2048)", examples=[2048]
    )
    thumbprint: Thumbprint | None = Field(
        None,
        description="SHA-1 thumbprint, 40 hex digits, as Windows shows it",
        examples=["9A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D"],
    )
    not_after: Date | None = Field(None, description="Expiry date", examples=["2027-06-30"])


class NextCertificate(Certificate):
    """The replacement of a certificate, and when it takes effect."""

    effective: When | None = Field(
        None,
        description="When the replacement takes effect: at least 24 hours before the current one expires",
        examples=["2027-05-01T22:00:00+00:00"],
    )


OAuthCertificate = Certificate  # the name of format version 1's first certificate class


class Lync(_Frozen):
    """The Lync Server 2013 / Skype for Business Server side."""

    product: LyncProduct = Field(description="The Lync/Skype for Business Server version")
    pool: Hostname = Field(
        description="Front End pool FQDN", examples=["atl-cs-001.litwareinc.com"]
    )
    front_ends: tuple[Hostname, ...] = Field(
        min_length=1,
        description="Front End server FQDNs (at least one)",
        examples=[["atl-cs-001.litwareinc.com"]],
    )
    oauth_certificate: Certificate | None = Field(
        None, description="The OAuthTokenIssuer certificate assigned now"
    )
    next_oauth_certificate: NextCertificate | None = Field(
        None, description="Its replacement (procedure renew-oauth-certificate)"
    )
    test_user: Line | None = Field(
        None,
        description="sip: URI of a user with an Exchange mailbox, for Test-CsExStorageConnectivity",
        examples=["sip:kenmyer@litwareinc.com"],
    )


class Exchange(_Frozen):
    """The Exchange Server side."""

    product: ExchangeProduct = Field(description="The Exchange Server version")
    servers: tuple[Hostname, ...] = Field(
        min_length=1,
        description="Exchange server FQDNs (at least one)",
        examples=[["atl-exchange-001.litwareinc.com"]],
    )
    autodiscover_host: Hostname | None = Field(
        None, description="Default: autodiscover.<domain>", examples=["autodiscover.litwareinc.com"]
    )
    auth_certificate: Certificate | None = Field(
        None, description='The "Microsoft Exchange Server Auth Certificate" in use now'
    )
    next_auth_certificate: NextCertificate | None = Field(
        None, description="Its replacement (procedure renew-exchange-auth-certificate)"
    )


class Dns(_Frozen):
    """Where and how the autodiscover record is created."""

    zone: Hostname | None = Field(
        None, description="DNS zone of the autodiscover record; default: domain"
    )
    server: Hostname | None = Field(
        None,
        description="Windows DNS server for -ComputerName",
        examples=["atl-dc-001.litwareinc.com"],
    )
    autodiscover_record: Literal["cname", "a"] = Field(
        "cname", description="cname: to the first Exchange server; a: to dns.address"
    )
    address: IPv4 | None = Field(
        None, description="IPv4 address, required for an a record", examples=["192.0.2.10"]
    )


class Change(_Frozen):
    """What the change-request document shows."""

    id: Line | None = Field(None, description="Change number", examples=["CHG0012345"])
    summary: Line | None = Field(
        None,
        description="One line: what the change does",
        examples=["Integrate Lync Server 2013 with Exchange Server 2013"],
    )
    requested_by: Line | None = Field(None, examples=["Ken Myer"])
    implementer: Line | None = Field(None, examples=["Pilar Ackerman"])
    window_start: When | None = Field(
        None, description="With a time zone", examples=["2026-12-05T22:00:00+00:00"]
    )
    window_end: When | None = Field(
        None,
        description="With a time zone: the back-out's latest start is counted back from it",
        examples=["2026-12-06T02:00:00+00:00"],
    )
    risk: Literal["low", "medium", "high"] | None = None


class EnvironmentSpec(_Frozen):
    """One environment file, format version 1."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="runbook environment (format version 1)",
    )

    title: Line = Field(description="Display name", examples=["Litware Inc."])
    description: Text | None = Field(
        None, description="Free text, shown as written", examples=["Atlanta production"]
    )
    domain: Hostname = Field(
        description="The organization's DNS domain", examples=["litwareinc.com"]
    )
    sip_domain: Hostname = Field(
        description="The default SIP domain (the OAuth realm)", examples=["litwareinc.com"]
    )
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
