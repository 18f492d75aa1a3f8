"""The one pipeline: discover → load (or take from the cache) → derive → render → write.

:meth:`Run.outcomes` yields each environment's outcome; `runbook build` (:func:`build`, which
adds the write stage), the mkdocs plugin, the change requests and the tests all use it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import functools
import importlib.metadata
import multiprocessing
import os
import pickle
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

import generator
from generator import certificates, rendering, sources, writing
from generator.errors import Diagnostic, InputError
from generator.loading import LoadedEnvironment, load, load_all
from generator.store import FOLDER, FORMAT, Bytecode, Store, hash_parts

OUTPUT = PurePosixPath("environments")  # below docs/
PARALLEL_MIN = 200  # cache misses that pay for starting worker processes
# Libraries whose versions shape the output (with the generator's own code and data).
LIBRARIES = ("jinja2", "markupsafe", "pydantic", "pydantic-core", "pyyaml", "cryptography", "idna")


@dataclass(frozen=True)
class Project:
    """The folder that holds mkdocs.yml, environments/, templates/ and docs/."""

    root: Path

    @property
    def environments(self) -> Path:
        return self.root / "environments"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def output(self) -> Path:
        """Where generated files go: docs/environments/."""
        return self.root / "docs" / OUTPUT


@dataclass
class Outcome:
    """One environment's result: its diagnostics and, when valid, its files."""

    name: str
    path: Path
    key: str = ""  # a hash of every input (file, certificate, templates, code, date); "": invalid
    diagnostics: list[Diagnostic] = field(default_factory=list)
    digests: dict[str, str] = field(
        default_factory=dict
    )  # {path below docs/environments/: SHA-256}
    row: bytes = b""  # the catalogue's row (rendering.catalogue_row), pickled
    files: dict[str, str] | None = None  # the texts, when rendered here or asked for
    rendered: bool = False  # loaded and rendered in this run (not from the cache)

    @property
    def valid(self) -> bool:
        return bool(self.key)


@dataclass(frozen=True)
class Source:
    """An environment file as scanned: its cache key is the hash of its bytes."""

    path: Path
    key: str  # "" when it could not be read (the loader says why)
    sha: str = ""  # the SHA-256 of its bytes
    private_key: Diagnostic | None = None


class Run:
    """One pass over a project's environments, through the cache in ``.cache/runbook/``."""

    def __init__(
        self,
        project: Project,
        *,
        today: dt.date | None = None,
        jobs: int | None = None,
        use_cache: bool = True,
    ) -> None:
        self.project = project
        self.today = today or dt.date.today()
        self.jobs = jobs or default_jobs()
        self.store = Store(project.root, enabled=use_cache)
        self.base = fingerprint(project, self.today)
        self.paths = sources.discover(project.root)
        # Problems of no one environment: two files of one, a private key beside them.
        self.problems = sources.same_name(self.paths) + sources.private_key_files(
            project.root, skip=set(self.paths)
        )
        self.prune = False  # set by a complete run: drop the cache entries it did not use
        self._texts = False  # whether the run asked for texts (then it prunes those too)
        self._certificates: dict[str, str | None] = {}

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.prune:
            self.store.prune(("env", "catalogue", "files") if self._texts else ("env", "catalogue"))
        self.store.close()

    def outcomes(self, names: Sequence[str] = (), *, texts: bool = False) -> Iterator[Outcome]:
        """Each environment (of ``names``, default all) in name order: from the cache when its
        inputs match, else loaded, derived and rendered (in worker processes when many).
        ``texts``: every outcome holds its files' texts."""
        self._texts = self._texts or texts
        paths = [p for p in self.paths if not names or sources.stem(p.name) in names]
        scanned = scan(paths, self.project.root, self.base)
        hits = self.lookup(scanned, texts=texts)
        made = make_all(
            [s for s in scanned if s.key not in hits], self.project, self.today, self.jobs
        )
        for source in scanned:
            outcome = hits.get(source.key)
            if outcome is None:
                outcome, entry = next(made)
                if entry is not None:
                    self.store.put("env", source.key, entry)
                    if texts:
                        self.store.put("files", outcome.key, outcome.files)
            yield outcome

    def lookup(self, scanned: list[Source], *, texts: bool) -> dict[str, Outcome]:
        """The cached outcomes of ``scanned`` whose certificate file is unchanged."""
        keys = [s.key for s in scanned if s.key and s.private_key is None]
        entries = self.store.get_many("env", keys)
        hits: dict[str, Outcome] = {}
        for source in scanned:
            entry = entries.get(source.key)
            if not isinstance(entry, dict) or any(
                self._certificate_changed(recorded) for recorded in entry["certificates"]
            ):
                continue
            warnings = entry["warnings"]
            if warnings:  # named where the project is now
                shown = sources.display_path(source.path)
                warnings = [dataclasses.replace(d, path=shown) for d in warnings]
            hits[source.key] = Outcome(
                entry["name"], source.path, entry["key"], warnings, entry["digests"], entry["row"]
            )
        if texts:
            found = self.store.get_many("files", [o.key for o in hits.values()])
            hits = {
                k: dataclasses.replace(o, files=found[o.key])
                for k, o in hits.items()
                if o.key in found
            }
        return hits

    def _certificate_changed(self, recorded: tuple[str, str]) -> bool:
        """Whether a certificate file (path in the project, SHA-256) holds other bytes now."""
        rel, sha = recorded
        if rel not in self._certificates:
            data = sources.read_inside(
                self.project.root / rel, self.project.root, sources.SCAN_BYTES
            )
            self._certificates[rel] = None if data is None else writing.digest(data)
        return self._certificates[rel] != sha

    def files(self, outcome: Outcome) -> dict[str, str]:
        """The texts of a valid outcome: held, cached, or rendered again."""
        if outcome.files is None:
            outcome.files = self.store.get("files", outcome.key)
        if outcome.files is None:
            source = scan([outcome.path], self.project.root, self.base)[0]
            made, _entry = make(source, self.project, self.today)
            if made.key != outcome.key or made.files is None:
                shown = sources.display_path(outcome.path)
                raise InputError([Diagnostic(shown, 1, 1, "changed during the build: build again")])
            outcome.files = made.files
        return outcome.files

    def catalogue(self, valid: Sequence[tuple[str, bytes]]) -> str:
        """The catalogue (docs/environments/index.md) from each valid environment's (key, row)."""
        key = hash_parts(self.base, *(k for k, _row in valid))
        text = self.store.get("catalogue", key)
        if not isinstance(text, str):
            rows = [pickle.loads(row) for _key, row in valid]
            jinja_env = jinja_env_for(self.project.templates)
            text = rendering.render_catalogue_rows(jinja_env, rows)[
                PurePosixPath(sources.CATALOGUE_FILE)
            ]
            self.store.put("catalogue", key, text)
        return text

    def reference(self) -> str:
        """The page of the environment format (docs/environments/format.md), from the model."""
        text = self.store.get("catalogue", self.base)
        if not isinstance(text, str):
            jinja_env = jinja_env_for(self.project.templates)
            text = rendering.render_reference(jinja_env)[PurePosixPath(rendering.REFERENCE[0])]
            self.store.put("catalogue", self.base, text)
        return text


def scan(paths: list[Path], root: Path, base: str) -> list[Source]:
    """Read each environment file (never through a link out of the project) and key it; a
    file the loader will refuse (unreadable, too large) gets no key."""
    scanned = []
    for path in paths:
        data = sources.read_inside(path, root, sources.SCAN_BYTES)
        if data is None:
            scanned.append(Source(path, ""))
            continue
        key = hash_parts(base, path.name, data) if len(data) <= sources.MAX_BYTES else ""
        private_key = sources.private_key_error(path, data)
        scanned.append(Source(path, key, writing.digest(data), private_key))
    return scanned


def make_all(
    misses: list[Source], project: Project, today: dt.date, jobs: int
) -> Iterator[tuple[Outcome, dict[str, Any] | None]]:
    """:func:`make` each miss, in order: in worker processes when there are many."""
    if jobs < 2 or len(misses) < PARALLEL_MIN:
        yield from (make(source, project, today) for source in misses)
        return
    size = max(4, min(16, len(misses) // (jobs * 4)))
    pool = worker_pool(jobs)
    try:
        window: deque[concurrent.futures.Future[list[Any]]] = deque()
        for start in range(0, len(misses), size):  # a bounded window: memory stays flat
            window.append(pool.submit(_make_chunk, misses[start : start + size], project, today))
            if len(window) > 2 * jobs:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)


def _make_chunk(
    misses: list[Source], project: Project, today: dt.date
) -> list[tuple[Outcome, dict[str, Any] | None]]:
    return [make(source, project, today) for source in misses]


def make(source: Source, project: Project, today: dt.date) -> tuple[Outcome, dict[str, Any] | None]:
    """Load, derive and render one environment: its outcome, and its cache entry (None when
    it is invalid or its files changed meanwhile)."""
    env, found = load(source.path, project.root, today)
    if source.private_key is not None and not any(d.code == "private-key" for d in found):
        found.append(source.private_key)
    name = sources.stem(source.path.name)
    if env is None or any(d.severity == "error" for d in found):
        return Outcome(name, source.path, diagnostics=found), None
    jinja_env = jinja_env_for(project.templates)
    texts = {str(rel): text for rel, text in rendering.render_environment(jinja_env, env).items()}
    certificate = certificates_of(env, project.root)
    outcome = Outcome(
        env.name,
        source.path,
        outcome_key(source.key, certificate),
        found,
        {rel: writing.digest(text.encode()) for rel, text in texts.items()},
        pickle.dumps(rendering.catalogue_row(env), protocol=pickle.HIGHEST_PROTOCOL),
        texts,
        rendered=True,
    )
    entry = {
        "name": env.name,
        "key": outcome.key,
        "warnings": found,
        "digests": outcome.digests,
        "row": outcome.row,
        "certificates": certificate,
    }
    return outcome, entry if source.key and _unchanged(source, env, project.root) else None


def _unchanged(source: Source, env: LoadedEnvironment, root: Path) -> bool:
    """Whether the file still holds the bytes it was keyed by, and its certificate file what
    the loader read (else the outcome is not cached: it was edited meanwhile)."""
    data = sources.read_inside(source.path, root)
    if data is None or writing.digest(data) != source.sha:
        return False
    try:
        return all(
            certificates.read(path.read_bytes()) == env.all_certificates[key]
            for key, path in env.certificate_paths.items()
        )
    except (OSError, ValueError):
        return False


def outcome_key(file_key: str, files: list[tuple[str, str]]) -> str:
    """An outcome's key: its file's key and its certificate files' digests."""
    return hash_parts(file_key, *(sha for _, sha in files))


def certificates_of(env: LoadedEnvironment, root: Path) -> list[tuple[str, str]]:
    """The certificate files' paths in the project and SHA-256s, as the loader read them."""
    found = []
    for path in dict.fromkeys(env.certificate_paths.values()):
        rel = path.relative_to(root.resolve()).as_posix()
        found.append((rel, writing.digest(path.read_bytes())))
    return found


@functools.lru_cache(maxsize=8)
def jinja_env_for(templates: Path) -> jinja2.Environment:
    """The project's Jinja environment, made once per process (it reloads changed templates),
    its compiled templates kept in the project's store."""
    jinja_env = rendering.make_jinja_env(templates)
    jinja_env.bytecode_cache = Bytecode(Store(templates.parent))
    return jinja_env


def fingerprint(project: Project, today: dt.date) -> str:
    """What every environment's outcome depends on besides its own files: the generator's
    code and libraries, the templates and the date (certificate warnings)."""
    return hash_parts(generator_fingerprint(), folder_fingerprint(project.templates), str(today))


def folder_fingerprint(folder: Path) -> str:
    """A hash of every file below ``folder``: names and bytes."""
    parts: list[bytes | str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        parts += [path.relative_to(folder).as_posix(), path.read_bytes()]
    return hash_parts(*parts)


@functools.cache
def generator_fingerprint() -> str:
    """A hash of the generator: its code and data, Python's and the libraries' versions."""
    package = Path(generator.__file__).parent
    parts: list[bytes | str] = [FORMAT, sys.version]
    for dist in LIBRARIES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            parts += [dist, importlib.metadata.version(dist)]
    for path in sorted([*package.glob("*.py"), *package.glob("data/*")]):
        parts += [path.relative_to(package).as_posix(), path.read_bytes()]
    return hash_parts(*parts)


def default_jobs() -> int:
    """Worker processes: RUNBOOK_JOBS, else the CPUs this process may use."""
    with contextlib.suppress(ValueError):
        return max(1, int(os.environ.get("RUNBOOK_JOBS", "")))
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def worker_pool(jobs: int, *, low_priority: bool = False) -> concurrent.futures.ProcessPoolExecutor:
    """Worker processes that start fresh (forkserver, or spawn on Windows: never forked from a
    process with threads, such as ``mkdocs serve``) and end with this process, however it
    ends; ``low_priority``: they yield the CPU to it."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(os.getpid(), low_priority)
    )


def _start_worker(parent: int, low_priority: bool) -> None:
    if low_priority and hasattr(os, "nice"):
        os.nice(10)
    if os.name == "posix":  # a parent killed (SIGTERM, SIGKILL) leaves no worker behind
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _watch(parent: int) -> None:
    while True:
        time.sleep(1)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)


def load_project(
    project: Project, paths: Sequence[Path] = (), today: dt.date | None = None
) -> tuple[list[LoadedEnvironment], list[Diagnostic]]:
    """Load (no rendering) the given environment files, default all: ``runbook validate``."""
    files = list(paths) or sources.discover(project.root)
    envs, diagnostics = load_all(files, project.root, today or dt.date.today())
    if paths:  # a file named alone: is another file the same environment?
        shown = {sources.display_path(path) for path in files}
        beside = [o for path in files for o in sources.named(path.parent, sources.stem(path.name))]
        diagnostics += [
            d for d in sources.same_name(dict.fromkeys([*files, *beside])) if d.path in shown
        ]
    else:
        diagnostics += sources.same_name(files)
    return envs, diagnostics


def build(
    project: Project,
    only: Sequence[str] = (),
    *,
    check: bool = False,
    today: dt.date | None = None,
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[writing.WriteReport, list[Diagnostic]]:
    """The pipeline's write stage: `runbook build` (``check``: compare, write nothing).

    ``only`` renders those environments and keeps the others' files (the catalogue is always
    rebuilt). Raises :class:`InputError` when any input is invalid: nothing is written then."""
    lock = project.root / FOLDER / "build.lock"
    with contextlib.ExitStack() as stack:
        if not check:
            stack.enter_context(writing.locked(lock))
        run = stack.enter_context(Run(project, today=today, jobs=jobs))
        writer = writing.Writer(project.output, project.root / FOLDER / "staging", check=check)
        stack.callback(writer.abandon)
        diagnostics = list(run.problems)
        valid: list[tuple[str, bytes]] = []
        found: set[str] = set()
        for outcome in run.outcomes():
            diagnostics += outcome.diagnostics
            if progress is not None:
                progress(outcome.name)
            if not outcome.valid:
                continue
            valid.append((outcome.key, outcome.row))
            found.add(outcome.name)
            if only and outcome.name not in only:
                writer.keep(outcome.name)
            elif not any(d.severity == "error" for d in diagnostics):
                writer.add(outcome.digests, functools.partial(run.files, outcome))
        if any(d.severity == "error" for d in diagnostics):
            raise InputError(diagnostics)
        unknown = [sources.unknown_name(project.root, name) for name in only if name not in found]
        if unknown:
            raise InputError(unknown)
        catalogue = {
            sources.CATALOGUE_FILE: run.catalogue(valid),
            rendering.REFERENCE[0]: run.reference(),
        }
        digests = {rel: writing.digest(text.encode()) for rel, text in catalogue.items()}
        writer.add(digests, lambda: catalogue)
        report = writer.commit()
        run.prune = not only
    return report, diagnostics


def site_files(
    project: Project, *, today: dt.date | None = None
) -> tuple[dict[str, str], list[Outcome]]:
    """What the mkdocs plugin adds to the site: every generated file's text by its path below
    docs/, and the environments' outcomes. Raises :class:`InputError` for invalid input."""
    with Run(project, today=today) as run:
        outcomes = list(run.outcomes(texts=True))
        diagnostics = run.problems + [d for o in outcomes for d in o.diagnostics]
        if any(d.severity == "error" for d in diagnostics):
            raise InputError(diagnostics)
        files = {f"{OUTPUT}/{rel}": text for o in outcomes for rel, text in (o.files or {}).items()}
        files[f"{OUTPUT}/{sources.CATALOGUE_FILE}"] = run.catalogue(
            [(o.key, o.row) for o in outcomes]
        )
        files[f"{OUTPUT}/{rendering.REFERENCE[0]}"] = run.reference()
        for outcome in outcomes:
            outcome.files = None
        run.prune = True
    return files, outcomes
