"""The only Jinja environment: one typed context per environment, rendered to {path: text}.

Templates never do I/O and never read the clock. Values reach PowerShell only through
:func:`powershell_literal` (the ``ps`` filter); free text reaches Markdown only through
:func:`markdown_text` (the ``md`` filter).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

import jinja2
from markupsafe import Markup, escape

from generator import __version__, names, rules
from generator.errors import RunbookError, TemplateError
from generator.facts import Facts, derive, product_table
from generator.loading import LoadedEnvironment
from generator.sources import CATALOGUE_FILE, display_path
from generator.steps import plan
from generator.topology import environment_svg

# PowerShell treats U+2018..U+201B as single quotes too: each must be doubled inside '...'.
_PS_SINGLE_QUOTES = re.compile("['\u2018\u2019\u201a\u201b]")
_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|~<>&\"':=$^]")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")


_PS_UNREPRESENTABLE = re.compile("[\x00\ud800-\udfff]")


def powershell_literal(value: object) -> str:
    """Quote ``value`` as a PowerShell verbatim (single-quoted) string: nothing in it expands.

    Every character stands for itself, except the single quotes (ASCII and U+2018..U+201B,
    which PowerShell also ends a string at): each is doubled. Two kinds of character are
    refused with :class:`TemplateError`: NUL (a parser stops there, and so does every C tool
    a script passes through) and lone surrogates (not encodable as UTF-8); so is ``None``.
    """
    if value is None or isinstance(value, jinja2.Undefined):
        # A missing value would otherwise become the literal 'None' in a command.
        raise TemplateError("a command needs a value here, but the template passed nothing (None)")
    text = str(value)
    bad = _PS_UNREPRESENTABLE.search(text)
    if bad:
        raise TemplateError(
            f"{text!r} cannot be quoted for PowerShell: it holds U+{ord(bad.group(0)):04X} "
            f"at position {bad.start() + 1}"
        )
    return "'" + _PS_SINGLE_QUOTES.sub(lambda m: m.group(0) * 2, text) + "'"


def markdown_text(value: object) -> str:
    """Free text for Markdown and HTML: every markup character becomes an entity, one line."""
    text = _LINE_BREAKS.sub(" ", str(value))
    # Controls, surrogates and noncharacters become spaces: YAML front matter (the page title)
    # refuses them, and a reader can't see them.
    if not (text.isascii() and text.isprintable()):  # printable ASCII has none of them
        text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs", "Cn") else ch for ch in text)
    text = text.strip()
    # Leading blanks would make an indented code block; stripped, the text is one paragraph.
    return _MD_SPECIAL.sub(lambda m: f"&#{ord(m.group(0))};", text)


# In a printed command, tokens longer than this may break inside (with the continuation mark);
# every shorter token, and every -Parameter token, stays whole on one line.
_LONG_TOKEN = 40
_TOKEN = re.compile(r"(\s+)")


def prose_html(text: object) -> Markup:
    """Words for print, escaped: a token with a hyphen (``-DeleteItem``, ``Get-AuthConfig``)
    never breaks at it; a token too long for a narrow column may break anywhere."""
    parts = []
    for part in _TOKEN.split(str(text)):
        if len(part) > 40:
            parts.append(f'<span class="long">{escape(part)}</span>')
        elif "-" in part:
            parts.append(f'<span class="tok">{escape(part)}</span>')
        else:
            parts.append(str(escape(part)))
    return Markup("".join(parts))


def command_html(text: object) -> Markup:
    """A command (one or more lines) as escaped HTML for print: one block per line; each
    token with a hyphen or slash (``-Parameter`` names, cmdlet names, paths) in a span that
    never breaks, since Pango breaks after those; a token too long for a line in a span that
    may break anywhere."""
    out = []
    for line in str(text).strip().splitlines():
        if not line.strip():
            continue
        parts = []
        for part in _TOKEN.split(line):
            if not part:
                continue
            if part.isspace():
                parts.append(str(escape(part)))
            elif len(part) > _LONG_TOKEN and not part.startswith("-"):
                parts.append(f'<span class="long">{escape(part)}</span>')
            elif "-" in part or "/" in part:
                parts.append(f'<span class="tok">{escape(part)}</span>')
            else:
                parts.append(str(escape(part)))
        out.append(f'<div class="cmd">{"".join(parts)}</div>')
    return Markup('<div class="commands">' + "".join(out) + "</div>")


def text_direction(value: object) -> str:
    """``rtl`` when the first letter of ``value`` is of a right-to-left script (Arabic,
    Hebrew, ...), else ``ltr``: the base direction of a paragraph holding only that text."""
    for char in str(value):
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


_MD_ESCAPED = re.compile(r"([\\`*_\[\]|])")


def markdown_escape(value: object) -> str:
    """Our own text (the step tables' words, with host names and URLs in them) for Markdown:
    the characters Markdown acts on are escaped, so it shows as written, and stays legible."""
    text = _MD_ESCAPED.sub(r"\\\1", str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;")


@dataclass(frozen=True)
class PageContext:
    """Everything a template may use for one environment."""

    name: str
    env: Any  # EnvironmentSpec
    facts: Facts
    certificate: Any  # CertificateInfo | None
    files: dict[str, str]
    products: dict[str, Any]
    version: str
    warnings: tuple[str, ...] = ()  # the loader's warnings, "key.path: message"
    change_tag: str = ""  # change.id as it may stand in a file name ("" without one)
    all_certificates: Any = None  # {key: CertificateInfo} of the certificates read from files

    def script(self, slug: str, shell: str) -> str:
        """The file name of a procedure's script for one shell."""
        return f"{self.name}-{_prefix(slug)}{shell}.ps1"

    def change_request(self, slug: str) -> str:
        """The file name of a procedure's change-request PDF."""
        return change_request_name(self.name, slug)

    def state_file(self, slug: str, shell: str) -> str:
        """The file a procedure's script for one shell saves what it observed in: named after
        the environment, the procedure, the change and the shell."""
        change = f"-{self.change_tag}" if self.change_tag else ""
        return f"{self.name}-{slug}{change}-{shell}-state.xml"


def _prefix(slug: str) -> str:
    """The integration's files keep their short names; other procedures' carry the slug."""
    return "" if slug == INTEGRATION else f"{slug}-"


# The procedures are the step tables of the templates (<slug>.yml.j2), each with its page
# (<slug>.md.j2); the integration comes first.
INTEGRATION = "integration"
# Output files of one environment, relative to docs/environments/<name>/, and their templates.
OVERVIEW = ("index.md", "overview.md.j2")
# The topology diagram is drawn in Python (generator/topology.py), not from a template.
DIAGRAM = "{name}-topology.svg"
DOWNLOADS = {
    "{name}-autodiscover.zone": "zone.j2",
}
SCRIPT_TEMPLATE = "script.ps1.j2"
BOM = "\ufeff"  # Windows PowerShell 5.1 reads a script without one in the ANSI code page
CATALOGUE = (CATALOGUE_FILE, "catalogue.md.j2")
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_LINE_ENDS = re.compile(r"[\r\n\x85\u2028\u2029]")


def make_jinja_env(templates: Path) -> jinja2.Environment:
    """The project's Jinja environment: StrictUndefined; no autoescape (Markdown output),
    except for HTML templates (``*.html.j2``, the change-request document), which escape
    every value."""
    jinja_env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), default_for_string=False, default=False
        ),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    jinja_env.filters["ps"] = powershell_literal
    jinja_env.filters["md"] = markdown_text
    jinja_env.filters["mdtext"] = markdown_escape
    jinja_env.filters["command"] = command_html
    jinja_env.filters["prose"] = prose_html
    jinja_env.filters["direction"] = text_direction
    jinja_env.filters["comment"] = lambda value: _LINE_ENDS.sub(" ", str(value))
    return jinja_env


def context(env: LoadedEnvironment) -> PageContext:
    """The one typed context of an environment's templates."""
    files = {
        key.split("}-")[-1].replace(".", "_"): key.format(name=env.name)
        for key in (*DOWNLOADS, DIAGRAM)
    }
    change_id = env.spec.change.id or ""
    return PageContext(
        name=env.name,
        env=env.spec,
        facts=derive(env.spec),
        certificate=env.all_certificates.get("lync.oauth_certificate"),
        files=files,
        products=product_table(),
        version=__version__,
        warnings=tuple(d.message for d in env.warnings if d.severity == "warning"),
        change_tag=_file_name_part(change_id),
        all_certificates=env.all_certificates,
    )


def _file_name_part(text: str) -> str:
    """``text`` as it may stand in a file name: its safe characters, or else a digest of it."""
    safe = _UNSAFE_IN_FILE_NAME.sub("-", text).strip(".-")[:40]
    if text and not safe:
        return "change-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return safe


def render_environment(
    jinja_env: jinja2.Environment, env: LoadedEnvironment
) -> dict[PurePosixPath, str]:
    """Render one environment's pages and downloads, keyed by path below docs/environments/."""
    ctx = context(env)
    base = PurePosixPath(env.name)
    planned = [plan(jinja_env, ctx, slug) for slug in procedures(jinja_env)]
    out = {base / OVERVIEW[0]: _render(jinja_env, OVERVIEW[1], ctx=ctx, procedures=planned)}
    for target, template in DOWNLOADS.items():
        out[base / target.format(name=env.name)] = _render(jinja_env, template, ctx=ctx)
    for procedure in planned:
        slug = procedure.slug
        out[base / procedure.page] = _render(
            jinja_env, f"{slug}.md.j2", ctx=ctx, procedure=procedure
        )
        for shell in procedure.shells:
            text = _render(
                jinja_env,
                SCRIPT_TEMPLATE,
                ctx=ctx,
                procedure=procedure,
                shell=shell,
                steps=procedure.of_shell(shell),
            )
            out[base / ctx.script(slug, shell)] = BOM + text
    out[base / DIAGRAM.format(name=env.name)] = environment_svg(env)
    return out


def procedures(jinja_env: jinja2.Environment) -> list[str]:
    """The slugs of the project's procedures: the integration, then the others by name."""
    tables = jinja_env.list_templates(filter_func=lambda name: name.endswith(".yml.j2"))
    slugs = sorted(name.removesuffix(".yml.j2") for name in tables if "/" not in name)
    return sorted(slugs, key=lambda slug: slug != INTEGRATION)


def check_procedure(jinja_env: jinja2.Environment, slug: str) -> None:
    """Raise :class:`RunbookError` naming the known procedures unless ``slug`` is one."""
    known = procedures(jinja_env)
    if slug not in known:
        raise RunbookError(f"unknown procedure {slug!r}: use one of {', '.join(known)}")


def change_request_name(name: str, slug: str) -> str:
    """The file name of environment ``name``'s change request for procedure ``slug``."""
    return f"{name}-{_prefix(slug)}change-request.pdf"


REFERENCE = (f"{names.REFERENCE_PAGE}.md", "reference.md.j2")


def render_reference(jinja_env: jinja2.Environment) -> dict[PurePosixPath, str]:
    """The reference of the environment format for people, from the model itself."""
    from generator.model import EnvironmentSpec

    schema = EnvironmentSpec.model_json_schema()
    rows: list[dict[str, Any]] = []
    _reference_rows(schema, schema["$defs"], "", rows)
    target, template = REFERENCE
    with template_errors(jinja_env, template):
        text = jinja_env.get_template(template).render(rows=rows)
    return {PurePosixPath(target): text}


def _reference_rows(
    node: dict[str, Any], defs: dict[str, Any], prefix: str, rows: list[dict[str, Any]]
) -> None:
    """One row per key of a JSON Schema object, then the keys of each mapping below it."""
    for key, prop in node["properties"].items():
        kind = next(o for o in prop.get("anyOf", [prop]) if o.get("type") != "null")
        below = defs[kind["$ref"].rpartition("/")[2]] if "$ref" in kind else None
        rows.append(
            {
                "key": prefix + key,
                "type": _kind_of(kind),
                "required": key in node.get("required", ()),
                "default": prop.get("default") if below is None else None,  # a mapping: none
                "description": prop.get("description") or (below or {}).get("description", ""),
                "example": (prop.get("examples") or [None])[0],
            }
        )
        if below is not None:
            _reference_rows(below, defs, f"{prefix}{key}.", rows)


def _kind_of(kind: dict[str, Any]) -> str:
    """A JSON Schema type in words."""
    if "$ref" in kind:
        return "mapping"
    if "enum" in kind:
        return " or ".join(str(value) for value in kind["enum"])
    if kind.get("type") == "array":
        return "list of " + _kind_of(kind["items"])
    formats = {"date": "date (YYYY-MM-DD)", "date-time": "date and time with a time zone"}
    if kind.get("format") in formats:
        return formats[kind["format"]]
    return {"integer": "whole number", "string": "text"}.get(kind.get("type", ""), "value")


def catalogue_row(env: LoadedEnvironment) -> SimpleNamespace:
    """What the catalogue shows of one environment, as plain data (namespaces: Jinja tries an
    attribute before an item). A build keeps this row per environment, not the environment:
    these fields are all that ``templates/catalogue.md.j2`` can use."""
    ctx = context(env)
    spec, facts = env.spec, ctx.facts
    row: SimpleNamespace = _namespace(
        {
            "name": env.name,
            "env": {
                "title": spec.title,
                "description": spec.description,
                "domain": spec.domain,
                "sip_domain": spec.sip_domain,
                "lync": {
                    "product": spec.lync.product,
                    "pool": spec.lync.pool,
                    "front_ends": list(spec.lync.front_ends),
                },
                "exchange": {
                    "product": spec.exchange.product,
                    "servers": list(spec.exchange.servers),
                },
            },
            "facts": {
                "lync_product": {"id": spec.lync.product, "name": facts.lync_product["name"]},
                "exchange_product": {
                    "id": spec.exchange.product,
                    "name": facts.exchange_product["name"],
                },
                "pair": {"documented": facts.pair.documented, "note": facts.pair.note},
                "autodiscover_host": facts.autodiscover_host,
                "zone": facts.zone,
            },
            "certificates": [
                {"key": key, "not_after": expires, "procedure": procedure}
                for key, expires, procedure in rules.expiries(spec, env.all_certificates)
            ],
            "warnings": list(ctx.warnings),
        }
    )
    return row


def _namespace(value: Any) -> Any:
    if isinstance(value, dict):
        return SimpleNamespace(**{key: _namespace(item) for key, item in value.items()})
    return value


def render_catalogue_rows(
    jinja_env: jinja2.Environment, rows: Sequence[SimpleNamespace]
) -> dict[PurePosixPath, str]:
    """The catalogue (docs/environments/index.md) from :func:`catalogue_row` rows, in name order."""
    target, template = CATALOGUE
    with template_errors(jinja_env, template):
        text = jinja_env.get_template(template).render(rows=rows, products=product_table())
    return {PurePosixPath(target): text}


def _render(jinja_env: jinja2.Environment, template: str, **values: Any) -> str:
    """``template`` rendered with ``values``."""
    with template_errors(jinja_env, template):
        return jinja_env.get_template(template).render(**values)


@contextlib.contextmanager
def template_errors(jinja_env: jinja2.Environment, template: str) -> Iterator[None]:
    """A template's errors as :class:`TemplateError`: a message naming the file and line."""
    try:
        yield
    except jinja2.TemplateSyntaxError as exc:
        where = display_path(Path(exc.filename)) if exc.filename else _shown(jinja_env, exc.name)
        raise TemplateError(f"{where}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(
            f"{_shown(jinja_env, exc.name)}: template not found (a project made by an older "
            "runbook may lack it: `runbook init` makes a project that has every template, to "
            "copy it from)"
        ) from None
    except jinja2.TemplateError as exc:  # at run time: an undefined name, a failed call
        where = _template_line(exc) or _shown(jinja_env, template)
        raise TemplateError(f"{where}: {exc.message}") from None


def _shown(jinja_env: jinja2.Environment, name: object) -> str:
    """The template file ``name`` as the other messages show files: templates/NAME, relative
    to the working directory where the project lies below it."""
    folder = getattr(jinja_env.loader, "searchpath", ["templates"])[0]
    return display_path(Path(folder) / str(name))


def _template_line(exc: BaseException) -> str | None:
    """``path:line`` of the innermost template frame of ``exc``'s traceback, if any."""
    tb = exc.__traceback__
    where = None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            where = f"{display_path(Path(name))}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where
