"""Validated tokens that may appear inside commands: host names, SIP URIs, thumbprints.

Each function takes what the YAML file says and returns the canonical form, or raises
``ValueError`` with a message in plain words. Nothing that passes here can carry a quote,
a space, ``$``, a backtick or a semicolon into a command.
"""

from __future__ import annotations

import ipaddress
import re

import idna

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_ENV_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
_SIP_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z")
_THUMBPRINT = re.compile(r"[0-9A-F]{40}\Z")
_INVISIBLE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def hostname(value: str) -> str:
    """Return the fully qualified host name ``value`` as lowercase A-labels (punycode)."""
    if not value:
        raise ValueError("is empty; a fully qualified domain name is needed")
    if value.endswith("."):
        raise ValueError(f"{value!r}: write the name without the trailing dot")
    if value.isascii():
        ascii_name = value.lower()
    else:
        try:
            ascii_name = idna.encode(value, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"{value!r} is not a valid internationalized host name ({exc})") from None
    if len(ascii_name) > 253:
        raise ValueError(f"{value!r} is longer than 253 characters")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise ValueError(
            f"{value!r} is not a fully qualified domain name (it needs at least two labels, "
            "like server.example.com)"
        )
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(
                f"{value!r} is not a valid host name: label {label!r} must be 1 to 63 letters, "
                "digits or hyphens, not starting or ending with a hyphen"
            )
    if labels[-1].isdigit():
        raise ValueError(f"{value!r} is an address, not a host name")
    return ascii_name


def environment_name(stem: str) -> str:
    """Check an environment's name (the file stem): lowercase letters, digits, hyphens."""
    if not _ENV_NAME.match(stem):
        raise ValueError(
            f"{stem!r} is not a valid environment name: use 1 to 63 lowercase letters, digits "
            "and hyphens, starting with a letter or digit (rename the file)"
        )
    return stem


def sip_uri(value: str) -> tuple[str, str]:
    """Split ``sip:user@domain`` into (user, A-label domain); raise ValueError otherwise."""
    if not value.lower().startswith("sip:"):
        raise ValueError(f"{value!r} is not a SIP URI; write it as sip:user@{{sip_domain}}")
    user, at, domain = value[4:].partition("@")
    if not at:
        raise ValueError(f"{value!r} has no @domain part")
    if not _SIP_USER.match(user):
        raise ValueError(
            f"{value!r}: the user part {user!r} may hold only letters, digits, '.', '_', '+' "
            "and '-'"
        )
    return user, hostname(domain)


def thumbprint(value: str) -> str:
    """Return a SHA-1 certificate thumbprint as 40 uppercase hex digits, as Windows shows it."""
    if _INVISIBLE.search(value):
        raise ValueError(
            "holds an invisible formatting character (the certificate dialog in Windows adds "
            "one when you copy the thumbprint); type it again or copy it from Get-ChildItem "
            "Cert:\\LocalMachine\\My"
        )
    compact = value.upper()
    if not _THUMBPRINT.match(compact):
        raise ValueError(f"{value!r} is not a thumbprint: 40 hexadecimal digits, no spaces")
    return compact


def ipv4(value: str) -> str:
    """Return a dotted-quad IPv4 address in canonical form."""
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address like 192.0.2.10") from None


def in_domain(name: str, domain: str) -> bool:
    """True when ``name`` is ``domain`` itself or a name below it (both A-labels)."""
    return name == domain or name.endswith("." + domain)
