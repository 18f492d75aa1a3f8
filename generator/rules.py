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
from generator.model import Certificate, EnvironmentSpec

Finding = tuple[tuple[str | int, ...], str, str]
MIN_KEY_SIZE = 2048
EXPIRY_WARNING_DAYS = 30  # before the end of the change window
RENEWAL_WARNING_DAYS = 60  # before today
ROLL_LEAD = dt.timedelta(
    hours=24
)  # a roll's effective date before the current one expires [S-ROLL]
# The certificates an environment may describe, and the procedure that renews each.
CERTIFICATES = {
    "lync.oauth_certificate": "renew-oauth-certificate",
    "lync.next_oauth_certificate": "renew-oauth-certificate",
    "exchange.auth_certificate": "renew-exchange-auth-certificate",
    "exchange.next_auth_certificate": "renew-exchange-auth-certificate",
}


def check(
    spec: EnvironmentSpec, read: dict[str, CertificateInfo], today: dt.date
) -> Iterator[Finding]:
    """Every cross-field finding of one environment; ``read``: the certificates read from
    their files, by key."""
    yield from _dns(spec)
    yield from _servers(spec)
    yield from _test_user(spec)
    yield from _change(spec)
    for key in CERTIFICATES:
        yield from _certificate(spec, key, read.get(key), today)
    yield from _rolls(spec, read)
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


def stated(spec: EnvironmentSpec, key: str) -> Certificate | None:
    """The certificate that key ``key`` of :data:`CERTIFICATES` describes, if any."""
    side, name = key.split(".")
    return getattr(getattr(spec, side), name)  # type: ignore[no-any-return]


def _certificate(
    spec: EnvironmentSpec, key: str, info: CertificateInfo | None, today: dt.date
) -> Iterator[Finding]:
    described = stated(spec, key)
    if described is None:
        return
    side, name = key.split(".")
    base = (side, name)
    subject, key_size, not_after = described.subject, described.key_size, described.not_after
    if info is not None:
        yield from _stated_against_file(base, described, info)
        subject, key_size, not_after = info.subject, info.key_size, info.not_after.date()
    where = (*base, "file") if info else None
    if side == "lync" and subject is not None:
        domain = spec.sip_domain
        if not any(names.in_domain(v.removeprefix("*."), domain) for v in subject_names(subject)):
            yield (
                where or (*base, "subject"),
                (
                    f"the certificate's Subject ({subject}) does not include the SIP domain "
                    f"{domain!r}; Microsoft requires the SIP domain in the Subject of the "
                    "OAuthTokenIssuer certificate"
                ),
                "error",
            )
    if key_size is not None and key_size < MIN_KEY_SIZE:
        yield (
            where or (*base, "key_size"),
            f"the key is {key_size} bits; the "
            f"{'OAuthTokenIssuer' if side == 'lync' else 'Exchange Auth'} certificate needs at "
            f"least {MIN_KEY_SIZE}",
            "error",
        )
    if not_after is not None:
        window_end = None if name.startswith("next_") else spec.change.window_end
        yield from _expiry(
            where or (*base, "not_after"), not_after, info, window_end, today, CERTIFICATES[key]
        )


def _stated_against_file(
    base: tuple[str, str], stated: Certificate, info: CertificateInfo
) -> Iterator[Finding]:
    """What the environment file states of a certificate must be what its file holds."""
    if stated.subject is not None and _norm_subject(stated.subject) != _norm_subject(info.subject):
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
            f"says {stated.thumbprint} but the certificate file's thumbprint is {info.thumbprint}",
            "error",
        )
    if stated.not_after is not None and stated.not_after != info.not_after.date():
        yield (
            (*base, "not_after"),
            f"says {stated.not_after} but the certificate file expires on {info.not_after.date()}",
            "error",
        )


def _expiry(
    where: tuple[str, ...],
    not_after: dt.date,
    info: CertificateInfo | None,
    window_end: dt.datetime | None,
    today: dt.date,
    procedure: str,
) -> Iterator[Finding]:
    """Error if the certificate expires before the change window ends (or today); a warning
    within 60 days of today that names the procedure that renews it, or within 30 days after
    the window. With the file, the exact instant is compared, not only the date."""
    if window_end is not None:
        end_text = f"the end of the change window ({window_end.isoformat()})"
        expires = info.not_after if info else dt.datetime.combine(not_after, dt.time.max, dt.UTC)
        margin = expires - window_end
    else:
        end_text = f"today ({today})"
        margin = dt.timedelta(days=(not_after - today).days)
    when = f"{not_after}" if info is None else f"{info.not_after:%Y-%m-%d %H:%M} UTC"
    days = (not_after - today).days
    if margin <= dt.timedelta(0):
        yield (
            where,
            (
                f"the certificate expires on {when}, before {end_text}; renew it first "
                f"(procedure {procedure})"
            ),
            "error",
        )
    elif days <= RENEWAL_WARNING_DAYS:
        yield (
            where,
            (
                f"the certificate expires on {when}, in {days} days; renew it with the "
                f"procedure {procedure} (page {procedure}.md)"
            ),
            "warning",
        )
    elif margin < dt.timedelta(days=EXPIRY_WARNING_DAYS):
        yield (
            where,
            (
                f"the certificate expires on {when}, within {EXPIRY_WARNING_DAYS} days after "
                f"{end_text}; plan its renewal (procedure {procedure})"
            ),
            "warning",
        )


def _rolls(spec: EnvironmentSpec, read: dict[str, CertificateInfo]) -> Iterator[Finding]:
    """A replacement takes effect at least 24 hours before the current certificate expires
    [S-ROLL], and before it expires itself."""
    for side, current, following in (
        ("lync", "oauth_certificate", "next_oauth_certificate"),
        ("exchange", "auth_certificate", "next_auth_certificate"),
    ):
        nxt = getattr(getattr(spec, side), following)
        if nxt is None or nxt.effective is None:
            continue
        where = (side, following, "effective")
        expires = _expires_at(getattr(getattr(spec, side), current), read.get(f"{side}.{current}"))
        if expires is not None and nxt.effective > expires - ROLL_LEAD:
            yield (
                where,
                (
                    f"{nxt.effective.isoformat()} is less than 24 hours before the current "
                    f"certificate expires ({expires:%Y-%m-%d %H:%M} UTC): the replacement must take "
                    "effect at least 24 hours before it [S-ROLL]"
                ),
                "error",
            )
        own = _expires_at(nxt, read.get(f"{side}.{following}"))
        if own is not None and nxt.effective >= own:
            yield where, f"is after the replacement itself expires ({own:%Y-%m-%d})", "error"


def expiries(
    spec: EnvironmentSpec, read: dict[str, CertificateInfo]
) -> list[tuple[str, dt.date, str]]:
    """(key, expiry date, procedure that renews it) of every certificate whose expiry is known."""
    found = []
    for key, procedure in CERTIFICATES.items():
        expires = _expires_at(stated(spec, key), read.get(key))
        if expires is not None:
            found.append((key, expires.date(), procedure))
    return found


def _expires_at(stated: Certificate | None, info: CertificateInfo | None) -> dt.datetime | None:
    """When a certificate expires: the file's instant, or the end of the stated day (UTC)."""
    if info is not None:
        return info.not_after
    if stated is not None and stated.not_after is not None:
        return dt.datetime.combine(stated.not_after, dt.time.max, dt.UTC)
    return None


def _norm_subject(subject: str) -> list[str]:
    return [part.strip().lower() for part in subject.split(",")]
