"""Change-request documents: one environment (and, optionally, what changed) → a PDF.

The stages: plan the steps (:mod:`generator.changes`, with the runbook's own command
macros) → render ``templates/change-request.html.j2`` (autoescaped HTML + print CSS) →
lay it out with WeasyPrint. The output is deterministic: the only dates in the PDF come
from ``SOURCE_DATE_EPOCH`` (and there are none without it), so the same input gives the
same bytes. :func:`cached_pdf` keeps PDFs by the hash of their HTML.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jinja2

from generator import rendering
from generator.changes import ChangeSet, changes_for
from generator.errors import Diagnostic, OutputError, RunbookError, TemplateError
from generator.loading import LoadedEnvironment, load_named
from generator.steps import PlannedStep, plan
from generator.topology import environment_svg
from generator.writing import write_atomic

Paper = Literal["a4", "letter"]
PAPERS: dict[str, str] = {"a4": "A4", "letter": "letter"}
TEMPLATE = "change-request.html.j2"
FILENAME = "{name}-change-request.pdf"
CACHE = Path(".cache") / "runbook" / "pdf"
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


def cache_key(document: Document) -> str:
    """The cache key of a document: its HTML and the WeasyPrint version."""
    import weasyprint

    return hashlib.sha256(
        f"weasyprint {weasyprint.__version__}\n{document.html}".encode()
    ).hexdigest()


def cached_pdf(document: Document, cache_dir: Path) -> tuple[bytes, bool]:
    """The PDF of ``document``, from ``cache_dir`` when its HTML was rendered before.

    Returns (bytes, True when it came from the cache). A broken cache entry is rebuilt.
    """
    path = cache_dir / f"{cache_key(document)}.pdf"
    try:
        data = path.read_bytes()
        if data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"):
            return data, True
    except OSError:
        pass
    data = write_pdf(document)
    try:
        write_atomic(path, data)
    except OutputError:
        pass  # a cache that cannot be written only costs time
    return data, False


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


def change_request(
    root: Path,
    name: str,
    *,
    paper: Paper = "a4",
    since: str | None = None,
    previous: Path | None = None,
    today: dt.date | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[bytes, LoadedEnvironment, ChangeSet | None]:
    """The change request of environment ``name`` of the project at ``root`` as PDF bytes,
    with the environment and, given ``since`` or ``previous``, what changed."""
    today = today or dt.date.today()
    jinja_env = rendering.make_jinja_env(root / "templates")
    env = load_named(root, name, today)
    changes = changes_for(jinja_env, root, env, today, since=since, previous=previous)
    document = render_html(
        jinja_env, env, paper=paper, changes=changes, created=source_date(environ)
    )
    return write_pdf(document), env, changes


def site_pdfs(
    root: Path, envs: list[LoadedEnvironment], environ: Mapping[str, str] | None = None
) -> dict[str, tuple[bytes, bool]]:
    """Each environment's change-request PDF for the site, {file name below the
    environment's folder: (bytes, from cache)}; cached under ``.cache/runbook/pdf/`` of the
    project by the hash of the HTML, so an unchanged environment is not laid out again."""
    jinja_env = rendering.make_jinja_env(root / "templates")
    created = source_date(environ)
    out: dict[str, tuple[bytes, bool]] = {}
    for env in envs:
        document = render_html(jinja_env, env, created=created)
        out[f"{env.name}/{FILENAME.format(name=env.name)}"] = cached_pdf(document, root / CACHE)
    return out
