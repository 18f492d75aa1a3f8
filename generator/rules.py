"""Rules that span several keys, run once the file has the right shape.

Each rule yields ``(key path, message, severity)``; the loader turns them into located
diagnostics. No I/O here except through the ``certificate`` that the loader read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from generator import names
from generator.certificates import CertificateInfo, subject_names
from generator.facts import product_pair
from generator.model import EnvironmentSpec

Finding = tuple[tuple[str | int, ...], str, str]
MIN_KEY_SIZE = 2048
EXPIRY_WARNING_DAYS = 30


def check(
    spec: EnvironmentSpec, certificate: CertificateInfo | None, today: dt.date
) -> Iterator[Finding]:
    """Every cross-field finding of one environment."""
    yield from _dns(spec)
    yield from _servers(spec)
    yield from _test_user(spec)
    yield from _change(spec)
    yield from _certificate(spec, certificate, today)
    pair = product_pair(spec.lync.product, spec.exchange.product)
    if not pair.documented:
        yield ("exchange", "product"), pair.warning, "warning"


def _dns(spec: EnvironmentSpec) -> Iterator[Finding]:
    host, zone = spec.autodiscover_host, spec.zone
    where = ("exchange", "autodiscover_host") if spec.exchange.autodiscover_host else ("domain",)
    if not names.in_domain(host, zone):
        yield (
            where,
            f"autodiscover host {host!r} is not in the DNS zone {zone!r} (dns.zone)",
            "error",
        )
    elif host == zone:
        yield (
            where,
            f"autodiscover host {host!r} is the zone apex itself; it needs a name inside the zone",
            "error",
        )
    for i, server in enumerate(spec.exchange.servers):
        if server == host:
            yield (
                ("exchange", "servers", i),
                (
                    f"Exchange server {server!r} is the autodiscover host itself (that would be a "
                    "CNAME pointing to itself); autodiscover needs its own name"
                ),
                "error",
            )
    if spec.dns.autodiscover_record == "a" and spec.dns.address is None:
        yield (
            ("dns", "autodiscover_record"),
            "an 'a' record needs dns.address (an IPv4 address)",
            "error",
        )
    if spec.dns.autodiscover_record == "cname" and spec.dns.address is not None:
        yield (
            ("dns", "address"),
            (
                "is used only for an A record; set dns.autodiscover_record: a, or remove the "
                "address (the default record is a CNAME to the first Exchange server)"
            ),
            "error",
        )


def _servers(spec: EnvironmentSpec) -> Iterator[Finding]:
    for key, servers in (("lync", "front_ends"), ("exchange", "servers")):
        group = getattr(spec, key)
        seen: set[str] = set()
        for i, server in enumerate(getattr(group, servers)):
            if server in seen:
                yield (key, servers, i), f"{server!r} is listed twice", "error"
            seen.add(server)


def _test_user(spec: EnvironmentSpec) -> Iterator[Finding]:
    if spec.lync.test_user is None:
        return
    where = ("lync", "test_user")
    try:
        _, domain = names.sip_uri(spec.lync.test_user, spec.sip_domain)
    except ValueError as exc:
        yield where, str(exc), "error"
        return
    if domain != spec.sip_domain:
        yield (
            where,
            f"{spec.lync.test_user!r} is not in the SIP domain {spec.sip_domain!r}",
            "error",
        )


def _change(spec: EnvironmentSpec) -> Iterator[Finding]:
    start, end = spec.change.window_start, spec.change.window_end
    if start and end and end <= start:
        yield ("change", "window_end"), "the change window ends before it starts", "error"


def _certificate(
    spec: EnvironmentSpec, info: CertificateInfo | None, today: dt.date
) -> Iterator[Finding]:
    stated = spec.lync.oauth_certificate
    if stated is None:
        return
    base = ("lync", "oauth_certificate")
    subject, key_size, not_after = stated.subject, stated.key_size, stated.not_after
    if info is not None:
        if stated.subject is not None and _norm_subject(stated.subject) != _norm_subject(
            info.subject
        ):
            yield (
                (*base, "subject"),
                f"says {stated.subject!r} but the certificate file says {info.subject!r}",
                "error",
            )
        if stated.key_size is not None and stated.key_size != info.key_size:
            yield (
                (*base, "key_size"),
                f"says {stated.key_size} but the certificate file has a {info.key_size}-bit key",
                "error",
            )
        if stated.thumbprint is not None and stated.thumbprint != info.thumbprint:
            yield (
                (*base, "thumbprint"),
                f"says {stated.thumbprint} but the certificate file's thumbprint is "
                f"{info.thumbprint}",
                "error",
            )
        if stated.not_after is not None and stated.not_after != info.not_after.date():
            yield (
                (*base, "not_after"),
                f"says {stated.not_after} but the certificate file expires on "
                f"{info.not_after.date()}",
                "error",
            )
        subject, key_size, not_after = info.subject, info.key_size, info.not_after.date()
    if subject is not None:
        domain = spec.sip_domain
        if not any(names.in_domain(v.removeprefix("*."), domain) for v in subject_names(subject)):
            yield (
                (*base, "file" if info else "subject"),
                (
                    f"the certificate's Subject ({subject}) does not include the SIP domain "
                    f"{domain!r}; Microsoft requires the SIP domain in the Subject of the "
                    "OAuthTokenIssuer certificate"
                ),
                "error",
            )
    if key_size is not None and key_size < MIN_KEY_SIZE:
        yield (
            (*base, "file" if info else "key_size"),
            (
                f"the key is {key_size} bits; the OAuthTokenIssuer certificate needs at least "
                f"{MIN_KEY_SIZE}"
            ),
            "error",
        )
    if not_after is not None:
        where = (*base, "file" if info else "not_after")
        yield from _expiry(where, not_after, info, spec.change.window_end, today)


def _expiry(
    where: tuple[str, ...],
    not_after: dt.date,
    info: CertificateInfo | None,
    window_end: dt.datetime | None,
    today: dt.date,
) -> Iterator[Finding]:
    """Error if the certificate expires before the change window ends (or today), warning
    within 30 days of it. With the file, the exact instant is compared, not only the date."""
    if window_end is not None:
        end_text = f"the end of the change window ({window_end.isoformat()})"
        expires = info.not_after if info else dt.datetime.combine(not_after, dt.time.max, dt.UTC)
        margin = expires - window_end
    else:
        end_text = f"today ({today})"
        margin = dt.timedelta(days=(not_after - today).days)
    when = f"{not_after}" if info is None else f"{info.not_after:%Y-%m-%d %H:%M} UTC"
    if margin <= dt.timedelta(0):
        yield (
            where,
            (
                f"the certificate expires on {when}, before {end_text}; renew it and export the "
                "new certificate first"
            ),
            "error",
        )
    elif margin < dt.timedelta(days=EXPIRY_WARNING_DAYS):
        yield (
            where,
            (
                f"the certificate expires on {when}, within {EXPIRY_WARNING_DAYS} days after "
                f"{end_text}; plan its renewal"
            ),
            "warning",
        )


def _norm_subject(subject: str) -> list[str]:
    return [part.strip().lower() for part in subject.split(",")]
