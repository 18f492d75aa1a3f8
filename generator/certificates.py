"""Read a public certificate file (PEM or DER) and refuse anything that holds a private key."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is imported when a certificate is read: most files have none,
    from cryptography import x509  # and `runbook validate` should start fast.

_PRIVATE_PEM = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_CERT_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
PRIVATE_KEY_REASON = (
    "private keys never belong in a docs repository: everyone who can read the repository "
    "or its history could impersonate the server. Export the certificate without its "
    "private key (a .cer file, DER or Base-64) and reference that"
)


class CertificateProblem(ValueError):
    """The certificate file cannot be used; the message says why in plain words."""


@dataclass(frozen=True)
class CertificateInfo:
    """What the runbook needs to know about the OAuthTokenIssuer certificate."""

    subject: str
    dns_names: tuple[str, ...]
    key_size: int
    thumbprint: str
    not_after: dt.datetime


def _is_pkcs12(data: bytes) -> bool:
    """True for a DER PKCS#12 (PFX) file: a SEQUENCE whose first element is INTEGER 3.

    Decided from the structure rather than from a parser's error text, so that a PFX whose
    password we do not know is recognised as surely as one without a password.
    """
    if len(data) < 5 or data[0] != 0x30:
        return False
    length_byte = data[1]
    header = 2 + (length_byte & 0x7F if length_byte & 0x80 else 0)
    return data[header : header + 3] == b"\x02\x01\x03"


def holds_private_key(data: bytes) -> bool:
    """True when ``data`` holds a private key: a PEM private key block or a PKCS#12 (PFX) file."""
    if _PRIVATE_PEM.search(data) or _is_pkcs12(data):
        return True
    if data[:1] != b"\x30":
        return False
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        pkcs12.load_pkcs12(data, None)
    except Exception:
        return False
    return True


def read(data: bytes) -> CertificateInfo:
    """Parse one public certificate; raise :class:`CertificateProblem` if it cannot be used."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    if _is_pkcs12(data):
        raise CertificateProblem(
            "the file is a PFX (PKCS#12) file, which carries the private key; " + PRIVATE_KEY_REASON
        )
    if holds_private_key(data):
        raise CertificateProblem(f"the file holds a private key; {PRIVATE_KEY_REASON}")
    pem = _CERT_PEM.findall(data)
    try:
        if len(pem) > 1:
            raise CertificateProblem(
                "the file holds more than one certificate; reference the OAuthTokenIssuer "
                "certificate alone"
            )
        cert = (
            x509.load_pem_x509_certificate(pem[0]) if pem else x509.load_der_x509_certificate(data)
        )
    except CertificateProblem:
        raise
    except Exception:
        raise CertificateProblem(
            "the file is not an X.509 certificate in PEM or DER form"
        ) from None
    der = cert.public_bytes(Encoding.DER)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        dns_names = tuple(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        dns_names = ()
    return CertificateInfo(
        subject=_windows_subject(cert.subject),
        dns_names=dns_names,
        key_size=_key_size(cert),
        thumbprint=hashlib.sha1(der).hexdigest().upper(),
        not_after=cert.not_valid_after_utc,
    )


def _key_size(cert: x509.Certificate) -> int:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return 256
    if isinstance(key, ed448.Ed448PublicKey):
        return 456
    # DSA, not named: cryptography deprecates the name itself.
    return int(getattr(key, "key_size", 0))


def _windows_subject(name: x509.Name) -> str:
    # Windows lists the most specific attribute first: CN=..., OU=..., O=..., C=...
    parts = [
        f"{attr.rfc4514_attribute_name}="
        + (attr.value if isinstance(attr.value, str) else attr.value.hex())
        for attr in reversed(list(name))
    ]
    return ", ".join(parts)


def subject_names(subject: str) -> list[str]:
    """The values of a subject string's attributes (``CN=a, O=b`` → ``['a', 'b']``), lowercase."""
    values = []
    for part in re.split(r",\s*", subject):
        _, eq, value = part.partition("=")
        if eq:
            values.append(value.strip().lower())
    return values
