"""Change-request documents: one environment (and, optionally, what changed) → a PDF.

The stages: plan the steps (:mod:`generator.changes`, with the runbook's own command
macros) → render ``templates/change-request.html.j2`` (autoescaped HTML + print CSS) →
lay it out with WeasyPrint. The output is deterministic: the only dates in the PDF come
from ``SOURCE_DATE_EPOCH`` (and there are none without it), so the same input gives the
same bytes. A character no installed font has is printed as U+FFFD, with a warning naming
the field that holds it.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jinja2

from generator import rendering
from generator.changes import ChangeSet
from generator.errors import Diagnostic, MachineError, RunbookError, TemplateError
from generator.loading import LoadedEnvironment
from generator.sources import display_path
from generator.steps import plan
from generator.topology import environment_svg

Paper = Literal["a4", "letter"]
PAPERS: dict[str, str] = {"a4": "A4", "letter": "letter"}
TEMPLATE = "change-request.html.j2"
INTEGRATION = rendering.INTEGRATION


@dataclass(frozen=True)
class Document:
    """The HTML of one change request, ready for WeasyPrint."""

    name: str
    html: str


def source_date(environ: Mapping[str, str] | None = None) -> dt.datetime | None:
    """The time of ``SOURCE_DATE_EPOCH`` (UTC), or None when it is not set."""
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise RunbookError(
            f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, not {value!r}"
        )
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)


def render_html(
    jinja_env: jinja2.Environment,
    env: LoadedEnvironment,
    slug: str = INTEGRATION,
    *,
    paper: Paper = "a4",
    changes: ChangeSet | None = None,
    created: dt.datetime | None = None,
) -> Document:
    """The change request of ``env`` as HTML (every value escaped by the template)."""
    if paper not in PAPERS:
        raise RunbookError(f"unknown paper size {paper!r}: use one of {', '.join(PAPERS)}")
    ctx = rendering.context(env)
    procedure = plan(jinja_env, ctx, slug)
    window_end = env.spec.change.window_end
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ") if created else None
    with rendering.template_errors(jinja_env, TEMPLATE):
        # A procedure may have its own document, extending the common one.
        template = jinja_env.select_template([f"{slug}.{TEMPLATE}", TEMPLATE])
        html = template.render(
            ctx=ctx,
            procedure=procedure,
            latest_backout=(
                window_end - dt.timedelta(minutes=procedure.backout_minutes) if window_end else None
            ),
            changes=changes,
            paper=PAPERS[paper],
            created=stamp,
            # As an image, not inline SVG: WeasyPrint draws it ~0.15 s faster.
            topology="data:image/svg+xml;base64,"
            + base64.b64encode(environment_svg(env).encode("utf-8")).decode("ascii"),
        )
    return Document(env.name, html)


def site_documents(name: str, slugs: list[str]) -> dict[str, str]:
    """The change requests of environment ``name`` on the site, one per procedure of
    ``slugs``: {path below docs/environments/: procedure slug}."""
    return {f"{name}/{rendering.change_request_name(name, slug)}": slug for slug in slugs}


def make_pdf(
    jinja_env: jinja2.Environment,
    env: LoadedEnvironment,
    procedure: str = INTEGRATION,
    *,
    paper: Paper = "a4",
    changes: ChangeSet | None = None,
    created: dt.datetime | None = None,
) -> tuple[bytes, list[Diagnostic]]:
    """The change request of ``env`` for ``procedure`` as PDF bytes, with the warnings about
    it (text in the environment that no installed font can show). A problem of the template
    raises :class:`TemplateError`."""
    rendering.check_procedure(jinja_env, procedure)
    document = render_html(jinja_env, env, procedure, paper=paper, changes=changes, created=created)
    data, missing = write_pdf(document)
    if not missing:
        return data, []
    unshown = _unshown(env, missing, changes)
    html = document.html.translate({ord(char): SUBSTITUTE for char in missing})
    data, _ = write_pdf(Document(document.name, html))
    return data, unshown


# WeasyPrint's messages about the machine rather than the document: not errors of ours.
_MACHINE = ("Using fontTools instead of HarfBuzz-Subset",)
_NOTDEF = re.compile(
    r"\.notdef glyph rendered for Unicode string unsupported by fonts: .*\(U\+([0-9A-F]+)\)"
)
# What a character no installed font has is shown as: a visible replacement (in DejaVu Sans).
SUBSTITUTE = "\ufffd"


def write_pdf(document: Document) -> tuple[bytes, set[str]]:
    """Lay the HTML out with WeasyPrint: the PDF's bytes, and the characters that no installed
    font has (drawn as .notdef). Any other problem WeasyPrint reports (CSS, layout, an image)
    is one of our template: :class:`TemplateError`."""
    weasyprint = _weasyprint()
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    propagate, logger.propagate = logger.propagate, False
    try:
        data: bytes = weasyprint.HTML(string=document.html, base_url=None).write_pdf()
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate
    missing, problems = set(), []
    for message in collect.messages:
        notdef = _NOTDEF.match(message)
        if notdef:
            missing.add(chr(int(notdef[1], 16)))
        elif not message.startswith(_MACHINE):
            problems.append(message)
    if problems:
        raise TemplateError(f"templates/{TEMPLATE}: WeasyPrint: " + "; ".join(problems))
    return data, missing


def _weasyprint() -> Any:
    """WeasyPrint, imported when a PDF is made (slow to import). Without HarfBuzz-Subset, an
    optional library, its import warns that a future version will need it: not our concern."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "HarfBuzz-Subset", DeprecationWarning)
        try:
            import weasyprint
        except OSError as exc:  # its system libraries cannot be loaded
            raise MachineError(
                f"the change requests need Pango, which WeasyPrint cannot load ({exc}); as root: "
                "apt-get install libpango-1.0-0 libpangoft2-1.0-0 (README.md, 'System packages')"
            ) from None
    return weasyprint


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _unshown(
    env: LoadedEnvironment, missing: set[str], changes: ChangeSet | None
) -> list[Diagnostic]:
    """A warning for each field of ``env`` that holds a character of ``missing``, located in
    its file; :class:`TemplateError` for a character that comes from no field (the template's)."""
    fields = list(_texts(env.spec.model_dump(mode="json"), ""))
    for key, cert in sorted(env.all_certificates.items()):
        fields.append((f"{key}.file", cert.subject))
    if changes is not None:
        fields += [(f"{d.subject} (before)", d.before or "") for d in changes.differences]
    try:
        source = env.path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        source = ""
    found, seen = [], set()
    for key, value in fields:
        chars = sorted({c for c in value if c in missing})
        if not chars:
            continue
        seen.update(chars)
        at = source.find(chars[0])
        line = source.count("\n", 0, at) + 1 if at >= 0 else 1
        column = at - source.rfind("\n", 0, at) if at >= 0 else 1
        shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars)
        message = (
            f"{key}: no installed font can show {shown}; the change request prints "
            f"{SUBSTITUTE} instead (install fonts for this script: README, 'System packages')"
        )
        found.append(Diagnostic(display_path(env.path), line, column, message, "warning"))
    if missing - seen:
        raise TemplateError(
            f"templates/{TEMPLATE}: no installed font can show "
            + ", ".join(f"U+{ord(c):04X}" for c in sorted(missing - seen))
        )
    return found


def _texts(value: Any, key: str) -> Iterator[tuple[str, str]]:
    """(key path, text) of every string in ``value`` (a model dumped as JSON data)."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _texts(item, f"{key}.{name}" if key else name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _texts(item, f"{key}[{i}]")
