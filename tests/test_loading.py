"""The loader's rules, one fixture per failure mode with the exact messages it must produce.

``tests/fixtures/invalid/NAME.yml`` is a small variation of ``tests/fixtures/valid/base.yml``;
``NAME.expected`` next to it holds every line ``runbook validate`` must print for it
(``path:line:column: message``). Refresh with ``pytest tests/test_loading.py --update-golden``
and review the diff.
"""

from __future__ import annotations

import string
import unicodedata
from pathlib import Path

import pytest
from conftest import TODAY

from generator import names
from generator.loading import load, load_all

FIXTURES = Path(__file__).resolve().parent / "fixtures"
INVALID = FIXTURES / "invalid"
VALID = FIXTURES / "valid"
CASES = sorted(INVALID.glob("*.yml"))


def _messages(path: Path) -> list[str]:
    _env, diagnostics = load(Path(path.name), path.parent, TODAY)
    return [d.format() for d in sorted(diagnostics)]


def test_every_rule_has_a_fixture_and_an_expected_file() -> None:
    """Fixtures and expected files come in pairs, and there is one for each loader rule."""
    stems = {p.stem for p in CASES}
    expected = {p.stem for p in INVALID.glob("*.expected")}
    assert stems == expected
    for rule in (
        "duplicate-key",
        "yaml11-boolean",
        "yaml11-octal-text",
        "yaml11-date",
        "unknown-key",
        "python-tag",
        "alias-bomb",
        "invalid-utf8",
        "top-level-list",
        "Invalid_Name",
        "hostname-not-fqdn",
        "hostname-bad-label",
        "hostname-too-long",
        "autodiscover-outside-zone",
        "exchange-is-autodiscover",
        "test-user-outside-sip-domain",
        "a-record-without-address",
        "secret-password",
        "unknown-product",
        "missing-required",
        "many-errors",
        "merge-conflict",
        "utf16",
    ):
        assert rule in stems


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_invalid_fixture(case: Path, monkeypatch: pytest.MonkeyPatch, update_golden: bool) -> None:
    """Each invalid fixture yields no environment and exactly its expected messages."""
    monkeypatch.chdir(INVALID)
    env, diagnostics = load(Path(case.name), INVALID, TODAY)
    lines = [d.format() for d in sorted(diagnostics)]
    expected_file = case.with_suffix(".expected")
    if update_golden:
        expected_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert env is None
    assert lines, "an invalid file must produce at least one message"
    assert lines == expected_file.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("case", sorted(VALID.glob("*.yml")), ids=lambda p: p.stem)
def test_valid_fixture(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The base every invalid fixture derives from is itself valid, as are the others here."""
    monkeypatch.chdir(VALID)
    env, diagnostics = load(Path(case.name), VALID, TODAY)
    assert [d for d in diagnostics if d.severity == "error"] == []
    assert env is not None
    assert env.name == case.stem


def test_internationalized_names_become_a_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    """IDN host names are accepted and stored as lowercase punycode A-labels."""
    monkeypatch.chdir(VALID)
    env, _ = load(Path("internationalized.yml"), VALID, TODAY)
    assert env is not None
    spec = env.spec
    assert spec.domain == "xn--bcher-kva.example"
    assert spec.sip_domain == "xn--bcher-kva.example"
    assert spec.lync.pool == "pool.xn--bcher-kva.example"
    assert spec.lync.front_ends == ("fe1.xn--bcher-kva.example",)
    # "München-ex1": UTS #46 folds the capital M, then punycode.
    assert spec.exchange.servers == ("xn--mnchen-ex1-9db.xn--bcher-kva.example",)
    assert spec.autodiscover_host == "autodiscover.xn--bcher-kva.example"
    # the test user's domain (U-label in the file) matches the SIP domain (an A-label)
    assert names.sip_uri(spec.lync.test_user or "")[1] == spec.sip_domain


def test_quoted_yaml11_words_stay_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quoting is the documented way out of the YAML 1.1 surprises: "no" stays the text no."""
    monkeypatch.chdir(VALID)
    env, _ = load(Path("quoted-yaml11.yml"), VALID, TODAY)
    assert env is not None
    assert env.spec.title == "no"
    assert env.spec.change.id == "0755"


def test_all_errors_of_a_file_in_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file with several problems reports each, at its own line, in one run."""
    monkeypatch.chdir(INVALID)
    lines = _messages(INVALID / "many-errors.yml")
    assert len(lines) >= 6
    assert len({line.split(": ")[0] for line in lines}) == len(lines)  # all distinct places
    assert any("duplicate key 'domain'" in line for line in lines)
    assert any("did you mean 'title'?" in line for line in lines)
    assert any("'lync2010' is not one of" in line for line in lines)
    assert any("exchange.password" in line for line in lines)


def test_all_files_in_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_all goes on after a bad file: every file's messages come back together."""
    monkeypatch.chdir(INVALID)
    paths = [Path(p.name) for p in CASES]
    valid_copy = INVALID.parent / "valid" / "base.yml"
    envs, diagnostics = load_all([*paths, valid_copy], INVALID, TODAY)
    assert [env.name for env in envs] == ["base"]
    got = sorted(d.format() for d in diagnostics)
    expected = sorted(
        line for p in CASES for line in p.with_suffix(".expected").read_text().splitlines()
    )
    assert got == expected
    assert {d.path for d in diagnostics} == {p.name for p in CASES}


def test_duplicate_key_is_reported_at_the_second_occurrence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The duplicate is located where it repeats, and names the line of the first one."""
    monkeypatch.chdir(INVALID)
    text = (INVALID / "duplicate-key.yml").read_text().splitlines()
    first, second = [i + 1 for i, line in enumerate(text) if line.startswith("domain:")]
    (line,) = _messages(INVALID / "duplicate-key.yml")
    assert line.startswith(f"duplicate-key.yml:{second}:1: duplicate key 'domain'")
    assert f"already appears at line {first}" in line


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ATL-CS-001.LitwareInc.com", "atl-cs-001.litwareinc.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("a" * 63 + ".example.com", "a" * 63 + ".example.com"),
    ],
)
def test_hostname_accepts(value: str, expected: str) -> None:
    """Valid host names come back as lowercase A-labels."""
    assert names.hostname(value) == expected


def test_the_plain_ascii_shortcut_skips_only_characters_the_full_check_accepts() -> None:
    """names.hostname skips its per-character pass for names of letters, digits, dots and
    hyphens; rendering.markdown_text skips its control-character pass for printable ASCII.
    Both rest on facts about those characters, checked here for every one of them."""
    plain = string.ascii_letters + string.digits + ".-"
    for char in plain:
        assert names._HOST_PLAIN.match(char)
        assert char not in names._LOOKALIKES
        assert unicodedata.category(char)[0] not in "CZ"
        assert names._HOST_ASCII.match(char)
    for code in range(128):
        char = chr(code)
        if char.isprintable():
            assert unicodedata.category(char) not in ("Cc", "Cs", "Cn"), repr(char)
        if names._HOST_PLAIN.match(char):
            assert char in plain, repr(char)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("mail", "is not a fully qualified domain name"),
        ("a" * 64 + ".example.com", "label 'aaaa"),
        (".".join(["a" * 63] * 4), "is longer than 253 characters"),
        ("ex01.example.com;calc", "it holds ';'"),
        ("ex01.example.com $x", "it holds U+0020 (space)"),
        ("ex01`.example.com", "it holds '`'"),
        ("ex01\u200b.example.com", "U+200B (zero width space)"),
        ("ex\u201901.example.com", "a curly quote (U+2019)"),
        ("ex\u201301.example.com", "an en dash (U+2013) where a hyphen (-) belongs"),
        ("192.0.2.1", "is an address, not a host name"),
    ],
)
def test_hostname_refuses(value: str, fragment: str) -> None:
    """Nothing but letters, digits, hyphens and dots, in a fully qualified name, gets through."""
    with pytest.raises(ValueError, match=None) as info:
        names.hostname(value)
    assert fragment in str(info.value)
