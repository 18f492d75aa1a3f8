"""Hypothesis strategies for environment documents, valid and mutated, kept in one place."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import strategies as st

BASE: dict[str, Any] = {
    "title": "Litware Inc.",
    "description": "Atlanta production",
    "domain": "litwareinc.com",
    "sip_domain": "litwareinc.com",
    "lync": {
        "product": "lync2013",
        "pool": "atl-cs-001.litwareinc.com",
        "front_ends": ["atl-cs-001.litwareinc.com"],
        "test_user": "sip:kenmyer@litwareinc.com",
    },
    "exchange": {"product": "exchange2013", "servers": ["atl-exchange-001.litwareinc.com"]},
    "change": {
        "id": "CHG0012345",
        "summary": "Integrate",
        "requested_by": "Ken Myer",
        "implementer": "Pilar Ackerman",
        "risk": "low",
    },
}

FREE_TEXT_PATHS = [
    ("title",),
    ("description",),
    ("change", "id"),
    ("change", "summary"),
    ("change", "requested_by"),
    ("change", "implementer"),
]
ALL_PATHS = [
    *FREE_TEXT_PATHS,
    ("domain",),
    ("sip_domain",),
    ("lync", "product"),
    ("lync", "pool"),
    ("lync", "front_ends", 0),
    ("lync", "test_user"),
    ("exchange", "product"),
    ("exchange", "servers", 0),
    ("exchange", "autodiscover_host"),
    ("dns", "zone"),
    ("dns", "server"),
    ("dns", "autodiscover_record"),
    ("dns", "address"),
    ("change", "risk"),
    ("change", "window_start"),
    ("lync", "oauth_certificate", "thumbprint"),
    ("lync", "oauth_certificate", "key_size"),
]

# Characters that have bitten real runbooks: lookalike dashes and quotes, bidi controls,
# zero-width characters, PowerShell and Markdown metacharacters, YAML syntax.
NASTY = [
    "\u2013",
    "\u2014",
    "\u2015",
    "\u2018",
    "\u2019",
    "\u201c",
    "\u201d",
    "\u202e",
    "\u200b",
    "\u200e",
    "\ufeff",
    "\x00",
    "\x1b",
    "\r",
    "\n",
    "\t",
    "'",
    '"',
    "`",
    "$",
    ";",
    "|",
    "&",
    "$(Remove-Item C:\\)",
    "'; Remove-Item -Recurse C:\\ #",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "![x](http://e/x.png)",
    "{{ 7*7 }}",
    "{% raw %}",
    "*bold*",
    "# heading",
    "```",
    "- item",
    "&amp;",
    "\\",
    "%",
    "!!python/object:os.system",
    "*alias",
    "&anchor",
    "? key",
    ": ",
    "#",
    "---",
    "...",
]

nasty_text = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(min_size=0, max_size=8)), min_size=1, max_size=6
).map("".join)

any_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        nasty_text,
        st.text(max_size=300),
        st.dates(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


def put(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A copy of ``doc`` with ``value`` at ``path`` (creating mappings on the way)."""
    doc = copy.deepcopy(doc)
    node: Any = doc
    for part in path[:-1]:
        if isinstance(part, int):
            node = node[part]
        else:
            node = node.setdefault(part, {})
            if not isinstance(node, dict | list):
                return doc
    node[path[-1]] = value
    return doc


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """YAML text: the valid base with values replaced, keys added, or syntax spliced in."""
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        doc = put(doc, path, draw(any_value))
    if draw(st.booleans()):
        doc[draw(st.text(min_size=1, max_size=12))] = draw(any_value)
    text = yaml.safe_dump(doc, allow_unicode=draw(st.booleans()), sort_keys=False)
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(NASTY)) + text[at:]
    return text


@st.composite
def hostile_free_text_documents(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(benign, hostile): the same valid environment, the hostile one with nasty free text."""
    hostile = copy.deepcopy(BASE)
    for path in FREE_TEXT_PATHS:
        if draw(st.booleans()):
            hostile = put(hostile, path, draw(nasty_text))
    return BASE, hostile
