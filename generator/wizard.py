"""``runbook new``: the questions an administrator can answer, each checked on the spot,
with defaults derived from earlier answers, turned into a commented environment file.

The questions are data (:data:`QUESTIONS`); the command line asks them at a terminal or
takes them as flags, and writes the file only if it passes the loader.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from generator import names

# The choices are the model's: a product added there is offered here.
LYNC_PRODUCTS: tuple[str, ...] = get_args(names.LyncProduct)
EXCHANGE_PRODUCTS: tuple[str, ...] = get_args(names.ExchangeProduct)
Answers = dict[str, Any]


class MissingAnswer(ValueError):
    """A question has no answer and no default, and there is no terminal to ask at."""


def _host(value: str, answers: Answers) -> str:
    return names.hostname(value.strip())


def _hosts(value: str, answers: Answers) -> list[str]:
    items = [item.strip() for item in value.replace(";", ",").split(",") if item.strip()]
    if not items:
        raise ValueError("give at least one fully qualified name (several: separate with commas)")
    out = [names.hostname(item) for item in items]
    if len(set(out)) != len(out):
        raise ValueError("a server is listed twice")
    return out


def _choice(*options: str) -> Callable[[str, Answers], str]:
    def check(value: str, answers: Answers) -> str:
        value = value.strip().lower()
        if value not in options:
            raise ValueError(f"answer one of: {', '.join(options)}")
        return value

    return check


def _text(value: str, answers: Answers) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("must not be empty")
    return value


def _optional_host(value: str, answers: Answers) -> str | None:
    return names.hostname(value.strip()) if value.strip() else None


def _autodiscover(value: str, answers: Answers) -> str:
    host = names.hostname(value.strip())
    if host in answers.get("exchange_servers", []):
        raise ValueError("the autodiscover host needs its own name, not an Exchange server's")
    return host


def _zone(value: str, answers: Answers) -> str:
    zone = names.hostname(value.strip())
    if (
        not names.in_domain(answers["autodiscover_host"], zone)
        or answers["autodiscover_host"] == zone
    ):
        raise ValueError(
            f"the autodiscover host {answers['autodiscover_host']} must be a name inside this zone"
        )
    return zone


def _address(value: str, answers: Answers) -> str | None:
    if answers.get("record") != "a":
        return None
    return names.ipv4(value.strip())


def _test_user(value: str, answers: Answers) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not value.lower().startswith("sip:"):
        value = "sip:" + value
    _, domain = names.sip_uri(value)
    if domain != answers["sip_domain"]:
        raise ValueError(f"the test user must be in the SIP domain {answers['sip_domain']}")
    return value


@dataclass(frozen=True)
class Question:
    """One question: its key (and flag), prompt, derived default and check."""

    key: str
    prompt: str
    check: Callable[[str, Answers], Any]
    default: Callable[[Answers], str | None] = lambda answers: None
    help: str = ""
    ask_if: Callable[[Answers], bool] = lambda answers: True

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


QUESTIONS: tuple[Question, ...] = (
    Question("title", "Display name of the environment", _text, help="e.g. Litware Inc."),
    Question(
        "lync_product",
        f"Lync/Skype for Business product ({', '.join(LYNC_PRODUCTS)})",
        _choice(*LYNC_PRODUCTS),
        lambda a: "sfb2019",
    ),
    Question(
        "exchange_product",
        f"Exchange product ({', '.join(EXCHANGE_PRODUCTS)})",
        _choice(*EXCHANGE_PRODUCTS),
        lambda a: "exchange2016",
    ),
    Question("domain", "The organization's DNS domain", _host, help="e.g. litwareinc.com"),
    Question("sip_domain", "Default SIP domain (the OAuth realm)", _host, lambda a: a["domain"]),
    Question("pool", "Front End pool FQDN", _host, lambda a: f"pool01.{a['domain']}"),
    Question(
        "front_ends", "Front End servers (FQDNs, comma-separated)", _hosts, lambda a: a["pool"]
    ),
    Question("exchange_servers", "Exchange servers (FQDNs, comma-separated)", _hosts),
    Question(
        "autodiscover_host",
        "Autodiscover host",
        _autodiscover,
        lambda a: f"autodiscover.{a['domain']}",
    ),
    Question(
        "dns_zone",
        "DNS zone that holds the autodiscover record",
        _zone,
        lambda a: (
            a["domain"]
            if names.in_domain(a["autodiscover_host"], a["domain"])
            else a["autodiscover_host"].split(".", 1)[1]
        ),
    ),
    Question(
        "dns_server",
        "Windows DNS server for -ComputerName (empty: the local one)",
        _optional_host,
        lambda a: "",
    ),
    Question(
        "record", "Autodiscover record type (cname, a)", _choice("cname", "a"), lambda a: "cname"
    ),
    Question(
        "address",
        "IPv4 address for the A record",
        _address,
        ask_if=lambda a: a.get("record") == "a",
    ),
    Question(
        "test_user",
        "Test user's SIP address for Test-CsExStorageConnectivity (empty: none)",
        _test_user,
        lambda a: "",
    ),
)


Ask = Callable[[Question, str | None, str | None], str]


def resolve(given: Mapping[str, str | None], ask: Ask | None) -> Answers:
    """Take each answer from ``given`` (flags) or from ``ask`` (a prompt), checked at once.

    ``ask(question, default, error)`` is called again for the same question, with the reason
    the last answer was refused, until an answer passes; without ``ask`` (no terminal), a
    missing or wrong answer raises ``ValueError`` naming the flag.
    """
    answers: Answers = {}
    for question in QUESTIONS:
        if not question.ask_if(answers):
            answers[question.key] = None
            continue
        default = question.default(answers)
        raw = given.get(question.key)
        error = None
        while True:
            if raw is None:
                if ask is None:
                    if default is None:
                        raise MissingAnswer(
                            f"{question.flag} is required ({question.prompt.lower()})"
                        )
                    raw = default
                else:
                    raw = ask(question, default, error)
            try:
                answers[question.key] = question.check(raw, answers)
                break
            except ValueError as exc:
                if ask is None:
                    raise ValueError(f"{question.flag}: {exc}") from None
                error, raw = str(exc), None
    return answers


def _q(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: any text is safe in it.
    return json.dumps(value, ensure_ascii=False)


def to_yaml(answers: Answers) -> str:
    """A commented environment file (format version 1) from the answers."""
    fe = "\n".join(f"    - {h}" for h in answers["front_ends"])
    ex = "\n".join(f"    - {h}" for h in answers["exchange_servers"])
    lines = [
        "# yaml-language-server: $schema=../schema/environment-v1.json",
        "# Written by `runbook new`. Check it with `runbook validate`. Every key: the site's page\n"
        '# "Environment file format" (docs/environments/format.md), or `runbook schema`.',
        f"title: {_q(answers['title'])}",
        "# description: free text shown on the overview page",
        f"domain: {answers['domain']}            # the organization's DNS domain",
        f"sip_domain: {answers['sip_domain']}        # the default SIP domain (the OAuth realm)",
        "",
        "lync:",
        f"  product: {answers['lync_product']}",
        f"  pool: {answers['pool']}",
        "  front_ends:",
        fe,
        "  # oauth_certificate:               # the OAuthTokenIssuer certificate, if known",
        "  #   file: certs/oauth.cer          # public certificate only (PEM or DER), never a PFX",
    ]
    if answers["test_user"]:
        lines.append(f"  test_user: {answers['test_user']}")
    else:
        lines.append(
            "  # test_user: sip:user@"
            + answers["sip_domain"]
            + "   # for Test-CsExStorageConnectivity"
        )
    lines += [
        "",
        "exchange:",
        f"  product: {answers['exchange_product']}",
        "  servers:",
        ex,
    ]
    default_host = f"autodiscover.{answers['domain']}"
    if answers["autodiscover_host"] != default_host:
        lines.append(f"  autodiscover_host: {answers['autodiscover_host']}")
    else:
        lines.append(f"  # autodiscover_host: {default_host}   # the default")
    dns = []
    if answers["dns_zone"] != answers["domain"]:
        dns.append(f"  zone: {answers['dns_zone']}")
    if answers["dns_server"]:
        dns.append(f"  server: {answers['dns_server']}")
    if answers["record"] == "a":
        dns += ["  autodiscover_record: a", f"  address: {answers['address']}"]
    lines += [
        "",
        "dns:"
        if dns
        else "# dns:                              # zone, server, autodiscover_record: cname | a, address",
        *dns,
    ]
    lines += [
        "",
        "# change:                           # shown in the change-request document",
        "#   id: CHG0000000",
        "#   window_start: 2027-01-01T22:00:00+00:00",
        "#   window_end: 2027-01-02T02:00:00+00:00",
        "#   risk: low",
    ]
    return "\n".join(lines) + "\n"
