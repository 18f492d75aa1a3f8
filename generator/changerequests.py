"""Change-request PDFs of many environments: laid out in worker processes on every core, and
cached under a key made from their inputs, so a warm build renders no change request.

The site (:mod:`generator.mkdocs_plugin`) and ``runbook change-request --all`` use it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import functools
import importlib.metadata
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator import pdf, pipeline, rendering, sources
from generator.changes import ChangeSet, changes_for
from generator.errors import Diagnostic, InputError, MachineError, RunbookError
from generator.loading import load
from generator.store import Store, hash_parts


@dataclass(frozen=True)
class Job:
    """One change request to make: ``rel`` is its path below docs/environments/."""

    rel: str
    name: str
    path: Path  # the environment file
    procedure: str
    key: str  # the PDF's cache key (see :func:`jobs`)
    env_key: str  # the environment's outcome key


@dataclass(frozen=True)
class Made:
    """A change request made, or why it could not be."""

    job: Job
    data: bytes | None
    warnings: tuple[Diagnostic, ...] = ()
    error: str | None = None
    machine: bool = False  # the error is this machine's (a missing library), not the project's


def jobs(
    outcomes: Iterable[pipeline.Outcome],
    slugs: list[str],
    *,
    created: dt.datetime | None,
    paper: pdf.Paper = "a4",
    procedure: str | None = None,
) -> list[Job]:
    """The change requests of ``outcomes`` that the site shows, one per procedure of ``slugs``
    (of ``procedure`` only, when given)."""
    return [
        job_for(outcome, slug, rel=rel, created=created, paper=paper)
        for outcome in outcomes
        for rel, slug in pdf.site_documents(outcome.name, slugs).items()
        if procedure is None or slug == procedure
    ]


def job_for(
    outcome: pipeline.Outcome,
    procedure: str,
    *,
    rel: str = "",
    created: dt.datetime | None,
    paper: pdf.Paper = "a4",
) -> Job:
    """The change request of ``outcome`` for ``procedure``, keyed by its inputs: the
    environment's key (its file and certificate, the templates, the generator, the date), the
    procedure, the paper, WeasyPrint's version and SOURCE_DATE_EPOCH. No HTML is rendered."""
    stamp = created.isoformat() if created else ""
    key = hash_parts(outcome.key, procedure, paper, _weasyprint_version(), stamp)
    return Job(rel, outcome.name, outcome.path, procedure, key, outcome.key)


@functools.cache
def _weasyprint_version() -> str:
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        return importlib.metadata.version("weasyprint")
    return ""


def cached(store: Store, job: Job) -> Made | None:
    """The change request of ``job`` from the cache, if it was made before."""
    found = store.get("pdf", job.key)
    if isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], bytes):
        return Made(job, found[0], tuple(found[1]))
    return None


def make(
    job: Job,
    project: pipeline.Project,
    today: dt.date,
    created: dt.datetime | None,
    paper: pdf.Paper = "a4",
) -> Made:
    """Lay out one change request (in a worker process, or here) and cache it. Any problem
    is the result's ``error``: it never stops the others."""
    try:
        base = pipeline.fingerprint(project, today)
        source = pipeline.scan([job.path], project.root, base)[0]
        env, found = load(job.path, project.root, today)
        if env is None:
            return Made(job, None, error="; ".join(d.format() for d in found))
        jinja_env = pipeline.jinja_env_for(project.templates)
        data, warnings = pdf.make_pdf(jinja_env, env, job.procedure, paper=paper, created=created)
    except MachineError as exc:
        return Made(job, None, error=str(exc), machine=True)
    except RunbookError as exc:
        return Made(job, None, error=str(exc))
    except Exception as exc:  # WeasyPrint's own failures: this document's, not the build's
        return Made(job, None, error=f"{type(exc).__name__}: {exc}")
    certificate = pipeline.certificates_of(env, project.root)
    if pipeline.outcome_key(source.key, certificate) == job.env_key:  # not edited meanwhile
        store = Store(project.root)
        store.put("pdf", job.key, (data, list(warnings)))
        store.close()
    return Made(job, data, tuple(warnings))


class Maker:
    """Makes change requests in worker processes, one per CPU; ``done`` is called with each
    result (in a thread of the pool). :meth:`wait` returns once every result was handled."""

    def __init__(
        self,
        project: pipeline.Project,
        today: dt.date,
        created: dt.datetime | None,
        done: Callable[[Made], None],
        *,
        paper: pdf.Paper = "a4",
        jobs: int | None = None,
    ) -> None:
        self.args = (project, today, created, paper)
        self.done = done
        self.pool = pipeline.worker_pool(jobs or pipeline.default_jobs(), low_priority=True)
        self.busy = threading.Condition()
        self.pending: dict[str, concurrent.futures.Future[Made]] = {}

    def submit(self, job: Job) -> None:
        """Make ``job``'s change request, unless one with its key is on its way already."""
        with self.busy:
            if job.key in self.pending:
                return
            future = self.pool.submit(make, job, *self.args)
            self.pending[job.key] = future
        future.add_done_callback(lambda f: self._finish(job, f))

    def _finish(self, job: Job, future: concurrent.futures.Future[Made]) -> None:
        try:
            made = future.result()
        except concurrent.futures.CancelledError:
            made = Made(job, None, error="cancelled")
        except Exception as exc:  # a worker that died
            made = Made(job, None, error=f"{type(exc).__name__}: {exc}")
        try:
            self.done(made)
        finally:
            with self.busy:
                self.pending.pop(job.key, None)
                self.busy.notify_all()

    def wait(self) -> None:
        with self.busy:
            self.busy.wait_for(lambda: not self.pending)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def write_all(
    project: pipeline.Project,
    outcomes: list[pipeline.Outcome],
    folder: Path,
    *,
    today: dt.date,
    created: dt.datetime | None,
    procedure: str | None = None,
    paper: pdf.Paper = "a4",
) -> list[Made]:
    """``runbook change-request --all``: every change request into ``folder`` (one file each,
    named as on the site), from the cache or made in parallel; the results in name order."""
    from generator.writing import write_atomic

    results: dict[str, Made] = {}

    def done(made: Made) -> None:
        if made.data is not None:
            write_atomic(folder / PurePosixPath(made.job.rel).name, made.data)
        results[made.job.rel] = made

    store = Store(project.root)
    todo = []
    jinja_env = pipeline.jinja_env_for(project.templates)
    if procedure is not None:
        rendering.check_procedure(jinja_env, procedure)
    slugs = rendering.procedures(jinja_env)
    for job in jobs(outcomes, slugs, created=created, paper=paper, procedure=procedure):
        hit = cached(store, job)
        if hit is None:
            todo.append(job)
        else:
            done(hit)
    store.close()
    if todo:
        maker = Maker(project, today, created, done, paper=paper)
        for job in todo:
            maker.submit(job)
        maker.wait()
        maker.shutdown()
    return [results[rel] for rel in sorted(results)]


def placeholder(message: str) -> bytes:
    """A one-page PDF that says ``message`` (ASCII, in a font every viewer has): what a
    change request's link shows while it is being made, or when it could not be."""
    text = message.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    lines = "".join(f"({line}) Tj T* " for line in _wrapped(text, 80))
    stream = f"BT /F1 12 Tf 16 TL 56 780 Td {lines}ET".encode("ascii", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    table = b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"xref\n0 %d\n0000000000 65535 f \n%s" % (len(objects) + 1, table)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _wrapped(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line]


def shown(job: Job) -> str:
    """The environment file of ``job``, as messages name it."""
    return sources.display_path(job.path)


def change_request(
    project: pipeline.Project,
    name: str,
    *,
    procedure: str,
    paper: pdf.Paper,
    since: str | None = None,
    previous: Path | None = None,
    today: dt.date | None = None,
    created: dt.datetime | None = None,
) -> tuple[Made, list[Diagnostic], ChangeSet | None]:
    """``runbook change-request NAME``: one change request (from the cache unless it shows
    what changed), the environment's warnings, and what changed."""
    today = today or dt.date.today()
    with pipeline.Run(project, today=today) as run:
        outcomes = list(run.outcomes([name]))
        problems = [d for d in run.problems if sources.stem(Path(d.path).name) == name]
    diagnostics = problems + [d for o in outcomes for d in o.diagnostics]
    if not outcomes:
        raise InputError([sources.unknown_name(project.root, name)])
    if any(d.severity == "error" for d in diagnostics):
        raise InputError(diagnostics)
    job = job_for(outcomes[0], procedure, created=created, paper=paper)
    if since is None and previous is None:
        store = Store(project.root)
        made = cached(store, job)
        store.close()
        return made or make(job, project, today, created, paper), diagnostics, None
    env, _found = load(outcomes[0].path, project.root, today)
    if env is None:
        raise InputError(_found)
    jinja_env = pipeline.jinja_env_for(project.templates)
    changes = changes_for(
        jinja_env, project.root, env, today, since=since, previous=previous, procedure=procedure
    )
    data, warnings = pdf.make_pdf(
        jinja_env, env, procedure, paper=paper, changes=changes, created=created
    )
    return Made(job, data, tuple(warnings)), diagnostics, changes
