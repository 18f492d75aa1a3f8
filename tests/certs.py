"""Test certificates, made at run time with ``cryptography``: no private key is ever committed."""

from __future__ import annotations

import datetime as dt
import functools

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


@functools.cache
def rsa_key(bits: int = 2048, seed: int = 0) -> rsa.RSAPrivateKey:
    """An RSA key of ``bits`` (cached per (bits, seed): key generation is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make_certificate(
    common_name: str = "litwareinc.com",
    *,
    organization: str | None = "Litware Inc.",
    sans: tuple[str, ...] = ("litwareinc.com", "atl-cs-001.litwareinc.com"),
    bits: int = 2048,
    not_after: dt.datetime = dt.datetime(2028, 6, 30, 12, 0, tzinfo=dt.UTC),
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A self-signed certificate shaped like a Lync OAuthTokenIssuer certificate, and its key."""
    key = rsa_key(bits)
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "US")]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    name = x509.Name(attributes)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1000 + bits)
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(not_after)
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False
        )
    return builder.sign(key, hashes.SHA256()), key


def pem(cert: x509.Certificate) -> bytes:
    """The certificate as Base-64 (PEM)."""
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert: x509.Certificate) -> bytes:
    """The certificate as DER (binary .cer)."""
    return cert.public_bytes(serialization.Encoding.DER)


def pem_private_key(key: rsa.RSAPrivateKey) -> bytes:
    """An unencrypted PKCS#8 PEM private key."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def pfx(cert: x509.Certificate, key: rsa.RSAPrivateKey, password: bytes | None) -> bytes:
    """A PKCS#12 (.pfx) file holding the certificate and its private key."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"oauth", key, cert, None, encryption)
