"""Validated tokens that may appear inside commands: host names, SIP URIs, thumbprints.

Each function takes what the YAML file says and returns the canonical form, or raises
``ValueError`` with a message in plain words. Nothing that passes here can carry a quote,
a space, ``$``, a backtick or a semicolon into a command.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Literal

import idna

# The products a file may name (the model's fields; the wizard offers the same choices).
LyncProduct = Literal["lync2013", "sfb2015", "sfb2019"]
ExchangeProduct = Literal["exchange2013", "exchange2016", "exchange2019"]

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_ENV_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
REFERENCE_PAGE = "format"  # docs/environments/format.md, beside the environments' folders
_SIP_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z")
_THUMBPRINT = re.compile(r"[0-9A-F]{40}\Z")
_INVISIBLE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_HOST_ASCII = re.compile(r"[A-Za-z0-9.-]")
_HOST_PLAIN = re.compile(r"[A-Za-z0-9.-]+\Z")  # nothing to look at character by character
# Characters that word processors and mail clients put in place of hyphens and quotes.
_LOOKALIKES = {
    "\u2010": "a Unicode hyphen",
    "\u2011": "a non-breaking hyphen",
    "\u2012": "a figure dash",
    "\u2013": "an en dash",
    "\u2014": "an em dash",
    "\u2015": "a horizontal bar",
    "\u2212": "a minus sign",
    "\u2018": "a curly quote",
    "\u2019": "a curly quote",
    "\u201a": "a curly quote",
    "\u201b": "a curly quote",
    "\u201c": "a curly quote",
    "\u201d": "a curly quote",
    "\u201e": "a curly quote",
    "\u201f": "a curly quote",
}


def shown(value: str, limit: int = 80) -> str:
    """``value`` quoted for a message, cut short (with its length) when it is very long."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value):,} characters)"


def _describe(char: str) -> str:
    """A character as an administrator can find it: ``';' `` or ``U+200B (ZERO WIDTH SPACE)``."""
    if char.isprintable() and not char.isspace() and unicodedata.category(char)[0] != "C":
        return repr(char)
    name = unicodedata.name(char, "a control character").lower()
    return f"U+{ord(char):04X} ({name})"


def text(value: str) -> str:
    """Free text: refuse control, invisible and direction-changing characters.

    They do not show on screen, yet reach the pages and documents (and a copied command)
    as they are; tabs and line breaks are fine.
    """
    for char in value:
        if char in "\t\n":
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            raise ValueError(
                f"holds the invisible character {_describe(char)}; delete it (retype the text "
                "if you cannot see where it is)"
            )
    return value


def hostname(value: str) -> str:
    """Return the fully qualified host name ``value`` as lowercase A-labels (punycode)."""
    if not value:
        raise ValueError("is empty; a fully qualified domain name is needed")
    if value.endswith("."):
        raise ValueError(f"{shown(value)}: write the name without the trailing dot")
    if len(value) > 253:  # before any per-character work: a hostile file can hold megabytes
        raise ValueError(f"{shown(value)} is longer than 253 characters")
    for char in "" if _HOST_PLAIN.match(value) else value:
        if char in _LOOKALIKES:
            kind = "a hyphen (-)" if "quote" not in _LOOKALIKES[char] else "nothing"
            raise ValueError(
                f"{shown(value)} holds {_LOOKALIKES[char]} (U+{ord(char):04X}) where {kind} "
                "belongs; "
                "word processors and mail clients change these characters: type the name again"
            )
        invisible = unicodedata.category(char)[0] in "CZ"
        if (char.isascii() and not _HOST_ASCII.match(char)) or invisible:
            raise ValueError(
                f"{shown(value)} is not a valid host name: it holds {_describe(char)}; a host name "
                "has only letters, digits, hyphens and dots"
            )
    if value.isascii():
        ascii_name = value.lower()
    else:
        try:
            ascii_name = idna.encode(value, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(
                f"{shown(value)} is not a valid internationalized host name ({exc})"
            ) from None
    if len(ascii_name) > 253:
        raise ValueError(f"{shown(value)} is longer than 253 characters")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise ValueError(
            f"{shown(value)} is not a fully qualified domain name (it needs at least two labels, "
            "like server.example.com)"
        )
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(
                f"{shown(value)} is not a valid host name: label {label!r} must be 1 to 63 "
                "letters, "
                "digits or hyphens, not starting or ending with a hyphen"
            )
    if labels[-1].isdigit():
        raise ValueError(f"{shown(value)} is an address, not a host name")
    return ascii_name


def line(value: str) -> str:
    """One line of text: no line break (free text with line breaks goes in ``description``)."""
    if "\n" in value:
        raise ValueError(
            "must be one line; it holds a line break (longer text belongs in description)"
        )
    return value


def environment_name(stem: str) -> str:
    """Check an environment's name (the file stem): lowercase letters, digits, hyphens."""
    if stem == REFERENCE_PAGE:
        raise ValueError(
            f"{shown(stem)} is the name of the environment format's reference page "
            f"(docs/environments/{stem}.md); rename the file"
        )
    if not _ENV_NAME.match(stem):
        raise ValueError(
            f"{shown(stem)} is not a valid environment name: use 1 to 63 lowercase letters, digits "
            "and hyphens, starting with a letter or digit (rename the file)"
        )
    return stem


def sip_uri(value: str, domain: str = "example.com") -> tuple[str, str]:
    """Split ``sip:user@domain`` into (user, A-label domain); raise ValueError otherwise.

    ``domain`` is the SIP domain to show in the example of a message.
    """
    if not value.lower().startswith("sip:"):
        raise ValueError(f"{shown(value)} is not a SIP URI; write it as sip:user@{domain}")
    user, at, domain = value[4:].partition("@")
    if not at:
        raise ValueError(f"{shown(value)} has no @domain part")
    if not _SIP_USER.match(user):
        raise ValueError(
            f"{shown(value)}: the user part {shown(user)} may hold only letters, digits, '.', "
            "'_', '+' "
            "and '-'"
        )
    try:
        return user, hostname(domain)
    except ValueError as exc:
        raise ValueError(f"{shown(value)}: the domain after @ is not valid: {exc}") from None


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
        raise ValueError(f"{shown(value)} is not a thumbprint: 40 hexadecimal digits, no spaces")
    return compact


def ipv4(value: str) -> str:
    """Return a dotted-quad IPv4 address in canonical form."""
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{shown(value)} is not an IPv4 address like 192.0.2.10") from None


def in_domain(name: str, domain: str) -> bool:
    """True when ``name`` is ``domain`` itself or a name below it (both A-labels)."""
    return name == domain or name.endswith("." + domain)
