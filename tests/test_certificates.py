"""The OAuthTokenIssuer certificate: read from PEM or DER, checked against the seed's rules.

Certificates and keys are made at run time (``tests/certs.py``); none is committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import certs
import pytest
from conftest import TODAY

from generator import certificates
from generator.loading import LoadedEnvironment, load

BASE = """\
title: Litware Inc.
domain: litwareinc.com
sip_domain: litwareinc.com
lync:
  product: lync2013
  pool: atl-cs-001.litwareinc.com
  front_ends:
    - atl-cs-001.litwareinc.com
  oauth_certificate:
    file: {file}
{stated}exchange:
  product: exchange2013
  servers:
    - atl-exchange-001.litwareinc.com
{change}"""
FILE_LINE = 10  # the line of "file:" in BASE; its value starts at column 11
WINDOW = """\
change:
  window_start: 2026-12-05T22:00:00+00:00
  window_end: 2026-12-06T02:00:00+00:00
"""


def _environment(
    root: Path,
    data: bytes | None,
    *,
    file: str = "certs/oauth.cer",
    stated: str = "",
    change: str = "",
) -> Path:
    (root / "environments" / "certs").mkdir(parents=True, exist_ok=True)
    if data is not None:
        (root / "environments" / file).write_bytes(data)
    path = root / "environments" / "lab.yml"
    path.write_text(BASE.format(file=file, stated=stated, change=change), encoding="utf-8")
    return path


def _load(path: Path, root: Path) -> tuple[LoadedEnvironment | None, list[str]]:
    env, diagnostics = load(path, root, TODAY)
    return env, [f"{d.line}:{d.column}: {d.severity}: {d.message}" for d in sorted(diagnostics)]


@pytest.mark.parametrize("encoding", ["pem", "der"])
def test_reads_pem_and_der(encoding: str) -> None:
    """Subject (as Windows shows it), SANs, key size, thumbprint and expiry come from the file."""
    cert, _key = certs.make_certificate()
    data = certs.pem(cert) if encoding == "pem" else certs.der(cert)
    info = certificates.read(data)
    assert info.subject == "CN=litwareinc.com, O=Litware Inc., C=US"
    assert info.dns_names == ("litwareinc.com", "atl-cs-001.litwareinc.com")
    assert info.key_size == 2048
    assert re.fullmatch(r"[0-9A-F]{40}", info.thumbprint)
    assert info.thumbprint == hashlib.sha1(certs.der(cert)).hexdigest().upper()
    assert info.not_after == dt.datetime(2028, 6, 30, 12, 0, tzinfo=dt.UTC)


def test_a_good_certificate_file_loads(tmp_path: Path) -> None:
    """A matching public certificate loads with no message, and the environment carries it."""
    cert, _key = certs.make_certificate()
    thumbprint = hashlib.sha1(certs.der(cert)).hexdigest()  # lowercase is fine in the file
    stated = (
        "    subject: CN=litwareinc.com, O=Litware Inc., C=US\n    key_size: 2048\n"
        f"    thumbprint: {thumbprint}\n    not_after: 2028-06-30\n"
    )
    path = _environment(tmp_path, certs.der(cert), stated=stated, change=WINDOW)
    env, lines = _load(path, tmp_path)
    assert lines == []
    assert env is not None
    assert env.all_certificates["lync.oauth_certificate"].thumbprint == thumbprint.upper()
    assert env.spec.lync.oauth_certificate is not None
    assert env.spec.lync.oauth_certificate.thumbprint == thumbprint.upper()


def test_stated_values_contradicting_the_file_are_errors(tmp_path: Path) -> None:
    """Each stated value that the file contradicts is an error at that key."""
    cert, _key = certs.make_certificate()
    real = hashlib.sha1(certs.der(cert)).hexdigest().upper()
    stated = (
        "    subject: CN=contoso.com\n    key_size: 4096\n"
        "    thumbprint: 3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B\n    not_after: 2029-01-01\n"
    )
    path = _environment(tmp_path, certs.pem(cert), stated=stated)
    env, lines = _load(path, tmp_path)
    assert env is None
    assert lines == [
        "11:14: error: lync.oauth_certificate.subject: says 'CN=contoso.com' but the "
        "certificate file says 'CN=litwareinc.com, O=Litware Inc., C=US'",
        "12:15: error: lync.oauth_certificate.key_size: says 4096 but the certificate file "
        "has a 2048-bit key",
        "13:17: error: lync.oauth_certificate.thumbprint: says "
        f"3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B but the certificate file's thumbprint is {real}",
        "14:16: error: lync.oauth_certificate.not_after: says 2029-01-01 but the certificate "
        "file expires on 2028-06-30",
    ]


def test_sip_domain_not_in_subject(tmp_path: Path) -> None:
    """The seed: the SIP domain must appear in the Subject (a SAN alone is not enough)."""
    cert, _key = certs.make_certificate("atl-cs-001.contoso.com", organization=None)
    env, lines = _load(_environment(tmp_path, certs.der(cert)), tmp_path)
    assert env is None
    assert lines == [
        f"{FILE_LINE}:11: error: lync.oauth_certificate.file: the certificate's Subject "
        "(CN=atl-cs-001.contoso.com, C=US) does not include the SIP domain 'litwareinc.com'; "
        "Microsoft requires the SIP domain in the Subject of the OAuthTokenIssuer certificate",
    ]


def test_small_key(tmp_path: Path) -> None:
    """The seed: at least 2048 bits; a 1024-bit key is an error."""
    cert, _key = certs.make_certificate(bits=1024)
    env, lines = _load(_environment(tmp_path, certs.pem(cert)), tmp_path)
    assert env is None
    assert lines == [
        f"{FILE_LINE}:11: error: lync.oauth_certificate.file: the key is 1024 bits; the "
        "OAuthTokenIssuer certificate needs at least 2048",
    ]


def test_expires_before_the_change_window_ends(tmp_path: Path) -> None:
    """A certificate that expires during the change window is an error."""
    expiry = dt.datetime(2026, 12, 6, 0, 0, tzinfo=dt.UTC)
    cert, _key = certs.make_certificate(not_after=expiry)
    env, lines = _load(_environment(tmp_path, certs.pem(cert), change=WINDOW), tmp_path)
    assert env is None
    assert lines == [
        f"{FILE_LINE}:11: error: lync.oauth_certificate.file: the certificate expires on "
        "2026-12-06 00:00 UTC, before the end of the change window (2026-12-06T02:00:00+00:00); "
        "renew it first (procedure renew-oauth-certificate)",
    ]


def test_expiry_compares_the_instant_not_the_date(tmp_path: Path) -> None:
    """Expiring an hour after the window ends, on the same day, is not an error (a warning)."""
    cert, _key = certs.make_certificate(not_after=dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC))
    env, lines = _load(_environment(tmp_path, certs.pem(cert), change=WINDOW), tmp_path)
    assert env is not None
    assert [line.split(": ")[1] for line in lines] == ["warning"]


def test_stated_expiry_without_a_file_or_window_is_checked_against_today(tmp_path: Path) -> None:
    """Without a file, the stated not_after is checked; without a window, against today."""
    path = _environment(
        tmp_path, None, stated="    subject: CN=litwareinc.com\n    not_after: 2026-11-01\n"
    )
    path.write_text(path.read_text().replace("    file: certs/oauth.cer\n", ""))
    env, lines = _load(path, tmp_path)
    assert env is None
    assert lines == [
        "11:16: error: lync.oauth_certificate.not_after: the certificate expires on 2026-11-01, "
        f"before today ({TODAY}); renew it first (procedure renew-oauth-certificate)",
    ]


def test_expires_within_60_days_is_a_warning_that_names_the_procedure(tmp_path: Path) -> None:
    """Within 60 days of today: valid, with a warning naming the procedure that renews it."""
    cert, _key = certs.make_certificate(not_after=dt.datetime(2026, 12, 20, tzinfo=dt.UTC))
    env, lines = _load(_environment(tmp_path, certs.pem(cert), change=WINDOW), tmp_path)
    assert env is not None
    assert lines == [
        f"{FILE_LINE}:11: warning: lync.oauth_certificate.file: the certificate expires on "
        "2026-12-20 00:00 UTC, in 23 days; renew it with the procedure renew-oauth-certificate "
        "(page renew-oauth-certificate.md)",
    ]
    assert [w.severity for w in env.warnings] == ["warning"]


def test_sixty_one_days_is_quiet(tmp_path: Path) -> None:
    """The warning's edge: 61 days after today (and over 30 after the window) is quiet."""
    cert, _key = certs.make_certificate(not_after=dt.datetime(2027, 1, 27, tzinfo=dt.UTC))
    env, lines = _load(_environment(tmp_path, certs.pem(cert), change=WINDOW), tmp_path)
    assert (env is not None, lines) == (True, [])


def _private_key_line(what: str) -> str:
    return (
        f"{FILE_LINE}:11: error: lync.oauth_certificate.file: certs/oauth.cer: {what}; "
        f"{certificates.PRIVATE_KEY_REASON}"
    )


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        ("pem-key", "the file holds a private key"),
        ("pem-cert-and-key", "the file holds a private key"),
        ("pfx", "the file is a PFX (PKCS#12) file, which carries the private key"),
        ("pfx-password", "the file is a PFX (PKCS#12) file, which carries the private key"),
    ],
)
def test_private_keys_are_refused(tmp_path: Path, kind: str, what: str) -> None:
    """Any file holding a private key is refused, and the message says why."""
    cert, key = certs.make_certificate()
    data = {
        "pem-key": lambda: certs.pem_private_key(key),
        "pem-cert-and-key": lambda: certs.pem(cert) + certs.pem_private_key(key),
        "pfx": lambda: certs.pfx(cert, key, None),
        "pfx-password": lambda: certs.pfx(cert, key, b"Pa$$w0rd"),
    }[kind]()
    env, lines = _load(_environment(tmp_path, data), tmp_path)
    assert env is None
    assert lines == [_private_key_line(what)]
    assert "private keys never belong in a docs repository" in lines[0]


def test_not_a_certificate(tmp_path: Path) -> None:
    """Anything else is named for what it is not."""
    env, lines = _load(_environment(tmp_path, b"hello\n"), tmp_path)
    assert env is None
    assert lines == [
        f"{FILE_LINE}:11: error: lync.oauth_certificate.file: certs/oauth.cer: the file is not "
        "an X.509 certificate in PEM or DER form",
    ]


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("../../outside.cer", "the path leads outside the project folder"),
        ("certs/../../../outside.cer", "the path leads outside the project folder"),
        ("ABSOLUTE", "the path must be relative to the environment file, not absolute"),
        ("C:/certs/oauth.cer", "the path must be relative to the environment file, not absolute"),
        ("certs/missing.cer", "no such file"),
    ],
)
def test_paths_outside_the_project_are_refused(tmp_path: Path, file: str, reason: str) -> None:
    """The certificate must lie inside the project; an existing file outside it is not read."""
    root = tmp_path / "project"
    root.mkdir()
    cert, _key = certs.make_certificate()
    outside = tmp_path / "outside.cer"
    outside.write_bytes(certs.der(cert))
    if file == "ABSOLUTE":
        file = str(outside)
    path = _environment(root, None, file=file)
    env, lines = _load(path, root)
    assert env is None
    assert len(lines) == 1
    assert lines[0].startswith(
        f"{FILE_LINE}:11: error: lync.oauth_certificate.file: {file}: {reason}"
    )


def test_the_example_certificate_is_public() -> None:
    """The committed example certificate holds no private key and meets the seed's rules."""
    data = (
        Path(__file__).resolve().parent.parent / "environments" / "certs" / "contoso-oauth.cer"
    ).read_bytes()
    assert not certificates.holds_private_key(data)
    info = certificates.read(data)
    assert info.key_size >= 2048
    assert "contoso.com" in info.subject.lower()
