"""Change-request documents: one environment (and, optionally, what changed) → a PDF.

The stages: plan the steps (:mod:`generator.changes`, with the runbook's own command
macros) → render ``templates/change-request.html.j2`` (autoescaped HTML + print CSS) →
lay it out with WeasyPrint. The output is deterministic: the only dates in the PDF come
from ``SOURCE_DATE_EPOCH`` (and there are none without it), so the same input gives the
same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import jinja2

from generator import rendering
from generator.changes import ChangeSet
from generator.errors import Diagnostic, RunbookError, TemplateError
from generator.loading import LoadedEnvironment
from generator.steps import PlannedStep, plan
from generator.topology import environment_svg

Paper = Literal["a4", "letter"]
PAPERS: dict[str, str] = {"a4": "A4", "letter": "letter"}
TEMPLATE = "change-request.html.j2"
FILENAME = "{name}-change-request.pdf"
INTEGRATION = "integration"


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
    *,
    paper: Paper = "a4",
    changes: ChangeSet | None = None,
    created: dt.datetime | None = None,
) -> Document:
    """The change request of ``env`` as HTML (every value escaped by the template)."""
    if paper not in PAPERS:
        raise RunbookError(f"unknown paper size {paper!r}: use one of {', '.join(PAPERS)}")
    ctx = rendering.context(env)
    steps: list[PlannedStep] = plan(jinja_env, ctx)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ") if created else None
    try:
        html = jinja_env.get_template(TEMPLATE).render(
            ctx=ctx,
            steps=steps,
            changes=changes,
            paper=PAPERS[paper],
            created=stamp,
            # As an image, not inline SVG: WeasyPrint draws it ~0.15 s faster.
            topology="data:image/svg+xml;base64,"
            + base64.b64encode(environment_svg(env).encode("utf-8")).decode("ascii"),
        )
    except jinja2.TemplateError as exc:
        raise TemplateError(f"templates/{TEMPLATE}: {exc}") from None
    return Document(env.name, html)


def write_pdf(document: Document) -> bytes:
    """Lay the HTML out with WeasyPrint and return the PDF's bytes."""
    import weasyprint  # slow to import: only when a PDF is made

    with _quiet_weasyprint():
        return weasyprint.HTML(string=document.html, base_url=None).write_pdf()  # type: ignore[no-any-return]


def site_documents(name: str) -> dict[str, str]:
    """The change requests of environment ``name`` on the site: {path below
    docs/environments/: procedure slug}."""
    return {f"{name}/{FILENAME.format(name=name)}": INTEGRATION}


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
    if procedure != INTEGRATION:
        raise RunbookError(f"unknown procedure {procedure!r}: use {INTEGRATION}")
    document = render_html(jinja_env, env, paper=paper, changes=changes, created=created)
    return write_pdf(document), []


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _quiet_weasyprint:
    """WeasyPrint logs CSS and layout problems instead of raising: our own template must
    have none, so any warning it logs becomes a :class:`TemplateError`."""

    def __enter__(self) -> None:
        self.handler = _Collect()
        self.logger = logging.getLogger("weasyprint")
        self.logger.addHandler(self.handler)
        self.propagate, self.logger.propagate = self.logger.propagate, False

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.propagate = self.propagate
        if kind is None and self.handler.messages:
            raise TemplateError(
                f"templates/{TEMPLATE}: WeasyPrint: " + "; ".join(self.handler.messages)
            )
