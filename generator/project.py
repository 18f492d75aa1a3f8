"""A docs project and its pipeline: load → validate → derive → render → write.

The command line and the mkdocs plugin are thin adapters over these functions. Both go
through :func:`generate`, which redoes only the environments whose inputs changed: each
environment's loaded data, warnings and rendered files are cached under a hash of its file's
bytes, its certificate file's bytes, the templates, the generator's code and the date.
"""

from __future__ import annotations

import array
import collections
import contextlib
import dataclasses
import datetime as dt
import hashlib
import itertools
import os
import pickle
import tempfile
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator import cache, certificates, writing
from generator.errors import Diagnostic, InputError, OutputError
from generator.sources import (
    CATALOGUE_FILE,
    discover,
    display_path,
    file_names,
    holds_private_key,
    named,
    private_key_files,
    same_name,
    scanned_bytes,
    stem,
    unknown_name,
)

if TYPE_CHECKING:
    from generator.loading import LoadedEnvironment

# The loader and the templates (pydantic, YAML, Jinja) are imported where an environment is
# loaded or rendered: a build whose environments all come from the cache never needs them.

OUTPUT = PurePosixPath("environments")
# Fewer cache misses than this are loaded and rendered in the build's own process: starting
# worker processes costs about a second.
PARALLEL_MIN = 400


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
        """Where generated Markdown goes: docs/environments/."""
        return self.root / "docs" / OUTPUT


@dataclass
class Generated:
    """What :func:`generate` made: the valid environments, their files, every diagnostic."""

    envs: list[LoadedEnvironment] = field(default_factory=list)
    files: dict[PurePosixPath, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # environments rendered (cache misses)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def load_project(
    project: Project, paths: Sequence[Path] = (), today: dt.date | None = None
) -> tuple[list[LoadedEnvironment], list[Diagnostic]]:
    """Load the given environment files (default: all of the project), with diagnostics."""
    from generator.loading import load_all

    files = list(paths) or discover(project.root)
    envs, diagnostics = load_all(files, project.root, today or dt.date.today())
    if paths:  # a file named alone: is another file the same environment?
        shown = {display_path(path) for path in files}
        beside = (other for path in files for other in named(path.parent, path.stem))
        same = same_name(dict.fromkeys([*files, *beside]))
        diagnostics += [d for d in same if d.path in shown]
    else:
        diagnostics += same_name(files)
    return envs, diagnostics


def render(project: Project, envs: list[LoadedEnvironment]) -> dict[PurePosixPath, str]:
    """Every generated file, keyed by path below docs/environments/."""
    from generator import rendering

    return rendering.render_all(project.templates, envs)


def generate(
    project: Project,
    only: Sequence[str] = (),
    *,
    today: dt.date | None = None,
    use_cache: bool = True,
) -> Generated:
    """Load and render the project's environments, reusing cached results whose inputs match.

    ``only`` limits rendering to the named environments; every environment is loaded (the
    catalogue lists them all). Diagnostics of invalid files are in the result; nothing is
    raised for them here. Every file is returned in memory (the mkdocs plugin needs them all);
    :func:`build` streams instead.
    """
    run = _Run(project, today or dt.date.today(), use_cache, whole=True)
    result = Generated()
    items = list(run.environments(result.diagnostics, jobs=_default_jobs()))
    result.diagnostics += private_key_files(project.root, result.diagnostics, run.flagged)
    result.rendered = run.rendered
    result.envs = [item.env for item in items if item.env is not None]
    if result.errors:
        run.close(prune=False)
        return result
    for item in items:
        if (not only or item.name in only) and item.files is not None:
            result.files.update(item.files)
    result.files.update(run.catalogue(items))
    run.close(prune=not only)
    return result


def build(
    project: Project,
    only: Sequence[str] = (),
    *,
    check: bool = False,
    today: dt.date | None = None,
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[writing.WriteReport, list[Diagnostic]]:
    """Load every environment, render, and write (or, with ``check``, compare) the docs.

    ``only`` limits rendering to the named environments (the catalogue is always rebuilt);
    the other environments' files are kept. Raises :class:`InputError` when any file is
    invalid: nothing under docs/ is written then. ``progress`` is called with each
    environment's name once it is loaded and rendered (for a progress bar).

    Memory: an environment's files are staged (see :class:`writing.Writer`) as soon as they
    are rendered; their digests go to the writer's index (a file), the catalogue row to a
    temporary file and the keys the cache was asked for to a table of its own, so what is
    kept of each environment is its file's name (the environments are scanned a batch at a
    time: :class:`_Scan`). The cache holds no rendered text for a build: the files on disk
    are the copy (an environment whose files were changed on disk is rendered again).
    """
    run = _Run(project, today or dt.date.today(), use_cache=True)
    diagnostics: list[Diagnostic] = []
    writer: writing.Writer | None = None
    with contextlib.ExitStack() as stack:
        if not check:
            stack.enter_context(writing.locked(project.root / cache.FOLDER / "build.lock"))
        index = project.root / cache.FOLDER / "output.sqlite3"
        stack.enter_context(writing.index_errors(index))
        try:
            writer = writing.Writer(
                project.output, project.root / cache.FOLDER / "staging", index, dry_run=check
            )
            if not check:
                run.stage_to = (project.output, writer.staging)
            rows = stack.enter_context(_RowFile(run.base, project.root / cache.FOLDER))
            found_only: set[str] = set()  # of the names in ``only``, those found
            for item in run.environments(
                diagnostics, jobs=jobs if jobs is not None else _default_jobs()
            ):
                rows.add(item.name, item.key, item.row)
                if progress is not None:
                    progress(item.name)
                if only and item.name not in only:
                    # `runbook build NAME`: the other environments' files stay as they are.
                    writer.keep_folder(item.name)
                    continue
                if only:
                    found_only.add(item.name)
                changed = writer.add_environment(item.name, item.digests)
                unstaged = [rel for rel in changed if rel not in item.staged]
                if unstaged and not check and not any(d.severity == "error" for d in diagnostics):
                    data = item.data if item.data is not None else run.render_again(item)
                    for rel in unstaged:
                        writer.stage(rel, data[rel])
            diagnostics += private_key_files(project.root, diagnostics, run.flagged)
            if any(d.severity == "error" for d in diagnostics):
                raise InputError(diagnostics)
            unknown = [name for name in only if name not in found_only]
            if unknown:
                raise InputError([unknown_name(project.root, name) for name in unknown])
            run.add_catalogue(rows, writer)
            report = writer.commit()
        except BaseException:
            if writer is not None:
                writer.abandon()
            raise
        finally:
            if writer is not None:
                writer.close()
            run.close(prune=not only and not any(d.severity == "error" for d in diagnostics))
    return report, diagnostics


def _default_jobs() -> int:
    """Worker processes for a cold build: the CPUs this process may use (RUNBOOK_JOBS overrides)."""
    try:
        return max(1, int(os.environ.get("RUNBOOK_JOBS", "") or len(os.sched_getaffinity(0))))
    except (ValueError, AttributeError):
        return os.cpu_count() or 1


@dataclass
class _Item:
    """One valid environment of a run: what a build keeps of it."""

    name: str
    path: Path
    key: str
    digests: dict[str, str]  # {path below docs/environments/: SHA-256}
    row: bytes  # its catalogue row (rendering.catalogue_row), pickled: see _Rows
    data: dict[str, bytes] | None = None  # its files' bytes, when rendered in this run
    staged: frozenset[str] = frozenset()  # its files staged in this run (writing.staged_name)
    env: LoadedEnvironment | None = None  # loaded in this run, or (whole runs) from the cache
    files: dict[PurePosixPath, str] | None = None  # its files' texts (whole runs)


@dataclass
class _Made:
    """What loading and rendering one environment gives (in a worker process, or here)."""

    found: list[Diagnostic]  # its diagnostics
    name: str = ""
    valid: bool = False
    data: dict[str, bytes] | None = None  # its files' bytes (when asked for)
    staged: frozenset[str] = frozenset()  # its changed files, staged (writing.staged_name)
    digests: dict[str, str] = field(default_factory=dict)
    row: bytes = b""  # its catalogue row, pickled
    # What the cache keeps of it; None when its file or certificate changed during the build.
    entry: dict[str, Any] | None = None
    env: LoadedEnvironment | None = None  # sent back from a worker only when asked for


class _Run:
    """One pass over a project's environment files, through the cache.

    An environment's cache entry (under its key) is small, plain data: its name, path,
    warnings, catalogue row, the digests of its files and its certificate file's digest (a
    build reads it without importing the model). A ``whole`` run (:func:`generate`, for the
    mkdocs plugin, which needs every file's text) also keeps the loaded environment
    (``key:env``) and its files' texts (``key:files``).
    """

    def __init__(
        self, project: Project, today: dt.date, use_cache: bool, *, whole: bool = False
    ) -> None:
        self.project = project
        self.today = today
        self.whole = whole
        self.store = cache.Cache(project.root, "environments") if use_cache else None
        self.base = cache.hash_parts(
            cache.generator_fingerprint(),
            cache.folder_fingerprint(project.templates),
            today.isoformat(),
        )
        self.rendered: list[str] = []
        self._jinja_env: Any = None
        self.compiled = project.root / cache.FOLDER / "templates" if use_cache else None
        # (docs folder, staging folder): a build's misses stage their changed files there
        # (in the worker that rendered them: the bytes never travel between processes).
        self.stage_to: tuple[Path, Path] | None = None
        self._digests: dict[str, str | None] = {}
        self.flagged: list[str] = []  # environment files holding a private key (environments)

    def jinja_env(self) -> Any:
        from generator import rendering

        self._jinja_env = self._jinja_env or rendering.make_jinja_env(
            self.project.templates, self.compiled
        )
        return self._jinja_env

    def environments(self, diagnostics: list[Diagnostic], jobs: int = 1) -> Iterator[_Item]:
        """Each valid environment, in name order; diagnostics appended.

        The environment files are scanned (read, hashed, looked up in the cache) a batch at a
        time, at most ``LOOKAHEAD`` ahead of the caller (:class:`_Scan`), so that what a run
        holds does not grow with the number of environments. Cache entries are read
        ``BATCH`` at a time as the caller goes; an entry found stale only then (it cannot be
        read) is loaded and rendered here. The misses are loaded and rendered here, or, with
        ``jobs`` > 1 and enough of them ahead, in that many worker processes (:class:`_Maker`);
        the results come back in name order all the same. The environment files that hold a
        private key are left in ``self.flagged`` (for :func:`private_key_files`)."""
        scan = _Scan(self, diagnostics)
        self.flagged = scan.flagged
        maker = _Maker(self, scan, jobs)
        stored: dict[str, Any] = {}
        asked: set[str] = set()  # the keys of the entries read last (``stored``)
        try:
            while scan.ahead or scan.more():
                name, sha, key, hit = scan.ahead.popleft()
                path = scan.path(name)
                if hit:
                    if key not in asked:
                        asked, stored = self._read_entries(key, scan)
                    found = self._lookup(key, path, stored.pop(key, None), stored)
                    if found is not None:
                        item, warnings = found
                        if warnings:
                            shown = display_path(path)
                            diagnostics.extend(dataclasses.replace(d, path=shown) for d in warnings)
                        yield item
                        continue
                    made_one = self._make_here(path, sha)
                else:
                    made_one = maker.next()
                item_made = self._made_item(made_one, path, key, diagnostics)
                if item_made is not None:
                    yield item_made
        finally:
            maker.close()

    BATCH = 500  # cache entries read at a time, and environment files scanned at a time

    def _read_entries(self, key: str, scan: _Scan) -> tuple[set[str], dict[str, Any]]:
        """The stored entries of ``key`` and of the hits that follow it (``BATCH`` in all; for a
        whole run their environments and texts too): the keys asked for, and what was read."""
        scan.reach(files=self.BATCH)
        keys = [key]
        keys += itertools.islice((f.key for f in scan.ahead if f.hit), self.BATCH - 1)
        asked = set(keys)
        if self.whole:  # the environments and texts too, in the same few queries
            keys += [key + suffix for key in keys for suffix in (":env", ":files")]
        return asked, self.store.get_many(keys) if self.store is not None else {}

    def hits(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` have an entry to use: stored, with their certificate file unchanged
        (:meth:`_certificate_changed`) and, for a whole run, their environment and texts stored
        too (``runbook build`` keeps neither). The others are misses from the start, so that
        they can go to the workers."""
        if self.store is None:
            return set()
        present = self.store.present(keys)
        if self.whole:
            for suffix in (":env", ":files"):
                with_part = self.store.present(sorted(key + suffix for key in present))
                present = {key.removesuffix(suffix) for key in with_part}
        return present - self._certificate_changed(present)

    def _made_item(
        self, made_one: _Made, path: Path, key: str, diagnostics: list[Diagnostic]
    ) -> _Item | None:
        """The item of an environment loaded and rendered in this run (None: invalid), its
        diagnostics appended and its cache entry stored."""
        diagnostics.extend(made_one.found)
        if not made_one.valid:
            return None
        if self.whole:
            self.rendered.append(made_one.name)
        item = _Item(
            made_one.name, path, key, made_one.digests, made_one.row, staged=made_one.staged
        )
        texts = {}
        if self.whole and made_one.data is not None:  # texts only, not bytes beside them
            texts = {rel: b.decode("utf-8") for rel, b in made_one.data.items()}
            item.files = {PurePosixPath(rel): text for rel, text in texts.items()}
            item.env = made_one.env
        else:
            item.data = made_one.data
        if self.store is not None and made_one.entry is not None:
            self.store.put(key, made_one.entry)
            if made_one.entry["certificate"] is not None:
                self.store.put(key + CERTIFICATE, made_one.entry["certificate"])
            if self.whole:
                self.store.put(key + ":env", made_one.env)
                self.store.put(key + ":files", texts)
        return item

    def _certificate_changed(self, keys: set[str]) -> set[str]:
        """The ``keys`` whose environment's certificate file changed since their entry was
        stored (its path and digest are kept beside the entry, under ``KEY:certificate``), so
        that they go to the workers with the other misses: the environments of a certificate
        shared by thousands are not rendered one by one here."""
        changed: set[str] = set()
        if self.store is None:
            return changed
        ordered = sorted(keys)
        for start in range(0, len(ordered), self.BATCH):
            chunk = [key + CERTIFICATE for key in ordered[start : start + self.BATCH]]
            for side, stored in self.store.get_many(chunk).items():
                if not (isinstance(stored, tuple) and len(stored) == 2):
                    continue  # the entry's own check (_lookup) decides
                if self._certificate_differs(stored):
                    changed.add(side.removesuffix(CERTIFICATE))
        return changed

    def _make_here(self, path: Path, sha: str) -> _Made:
        """Load and render one environment in this process."""
        return _load_and_render(
            path, sha, self.project, self.today, self.jinja_env(), self._wants()
        )

    def _lookup(
        self, key: str, path: Path, entry: Any, stored: dict[str, Any]
    ) -> tuple[_Item, list[Diagnostic]] | None:
        """The cached item for ``key`` (its stored ``entry``) and its warnings, if its
        certificate file (named inside it) is unchanged (and, for a whole run, its environment
        and texts are in ``stored`` too)."""
        if self.store is None or not isinstance(entry, dict) or "row" not in entry:
            return None
        # The key names the environment file (environments/NAME) and the certificate's path is
        # relative to the project folder, so a build that names the project differently (``.``
        # or its full path), or a moved or copied project, finds the entry: the output does
        # not depend on where the project lies.
        if entry["certificate"] is not None and self._certificate_differs(entry["certificate"]):
            return None
        item = _Item(entry["name"], path, key, entry["digests"], entry["row"])
        if self.whole:
            from generator.loading import LoadedEnvironment

            env, files = stored.pop(key + ":env", None), stored.pop(key + ":files", None)
            if not isinstance(env, LoadedEnvironment) or not isinstance(files, dict):
                return None
            if env.path != path:  # loaded where the project was: name its files where it is
                certificate = entry["certificate"]
                env = dataclasses.replace(
                    env,
                    path=path,
                    certificate_path=None
                    if certificate is None
                    else (self.project.root / certificate[0]).resolve(),
                )
            item.env = env
            item.files = {PurePosixPath(rel): str(text) for rel, text in files.items()}
        return item, entry["warnings"]

    def _certificate_differs(self, recorded: tuple[str, str]) -> bool:
        """Whether the certificate file recorded as (path relative to the project, SHA-256)
        holds other bytes now, or is gone (each file read once per run: environments share
        them)."""
        name, digest = recorded
        if name not in self._digests:
            try:
                data = (self.project.root / name).read_bytes()
                self._digests[name] = hashlib.sha256(data).hexdigest()
            except OSError:
                self._digests[name] = None
        return self._digests[name] != digest

    def _wants(self) -> _Wants:
        return _Wants(env=self.whole, data=self.whole or self.stage_to is None, stage=self.stage_to)

    def render_again(self, item: _Item) -> dict[str, bytes]:
        """The files of a cached environment whose files on disk differ from what it makes
        (edited or deleted by hand): loaded and rendered again."""
        made = _load_and_render(
            item.path, "", self.project, self.today, self.jinja_env(), _Wants(data=True)
        )
        if not made.valid or made.data is None:  # the file changed under the build
            raise InputError(
                [Diagnostic(display_path(item.path), 1, 1, "changed during the build: build again")]
            )
        return made.data

    def catalogue(self, items: list[_Item]) -> dict[PurePosixPath, str]:
        """``index.md``, the catalogue of all environments."""
        rows = _RowFile(self.base, self.project.root / cache.FOLDER)
        for item in items:
            rows.add(item.name, item.key, item.row)
        return self.catalogue_from_rows(rows)

    def add_catalogue(self, rows: _RowFile, writer: writing.Writer) -> None:
        """Add the catalogue to ``writer`` (and stage it, when it changed) without holding its
        text (4 MB at N = 10,000): its digest is cached under the rows' key, and a catalogue
        that changed is rendered into a temporary file as it comes, then staged from there."""
        key = rows.key() + CATALOGUE_DIGEST
        stored = self.store.get(key) if self.store is not None else None
        if isinstance(stored, str) and not writer.add(CATALOGUE_FILE, stored):
            rows.close()
            return
        from generator import rendering

        with rows, _temporary_file_errors(), tempfile.TemporaryFile(dir=rows.folder) as file:
            made = hashlib.sha256()
            for block in rendering.catalogue_blocks(self.jinja_env(), rows.in_name_order()):
                file.write(block)
                made.update(block)
            found = made.hexdigest()
            if self.store is not None:
                self.store.put(key, found)
            # (A digest from the cache was added already; a catalogue made otherwise is not
            # expected, but it is what is written, so it is what is recorded.)
            if (found == stored or writer.add(CATALOGUE_FILE, found)) and not writer.dry_run:
                file.seek(0)
                writer.stage(CATALOGUE_FILE, iter(lambda: file.read(1 << 20), b""))

    def catalogue_from_rows(self, rows: _RowFile) -> dict[PurePosixPath, str]:
        """The catalogue from the environments' rows (cached under all their keys)."""
        key = rows.key()
        stored = self.store.get(key) if self.store is not None else None
        if isinstance(stored, dict):
            rows.close()
            return stored
        from generator import rendering

        with rows:
            catalogue = rendering.render_catalogue_rows(self.jinja_env(), rows.in_name_order())
        if self.store is not None:
            self.store.put(key, catalogue)
        return catalogue

    def close(self, *, prune: bool) -> None:
        if self.store is None:
            return
        if prune:
            self.store.prune()
        self.store.close()


# Environment files scanned ahead of a run's caller, at most (plus one batch): where the misses
# among them are found, to go to the workers.
LOOKAHEAD = 2_000


class _Found(typing.NamedTuple):
    """An environment file as scanned."""

    name: str
    sha: str  # the SHA-256 of its bytes
    key: str  # its cache key ("": not read, see sources.scanned_bytes; always a miss)
    hit: bool  # whether its cache entry is to be used (:meth:`_Run.hits`)


class _Scan:
    """A run's environment files, scanned ahead of it in name order, ``_Run.BATCH`` at a time:
    each read whole, hashed, its cache key made, and looked up in the cache. Of all the files
    only their names are held (``sources.file_names``, in one string); of the scanned ones, only those that
    the run has not reached (``ahead``), among which the misses not yet sent to be made
    (``unsent``)."""

    def __init__(self, run: _Run, diagnostics: list[Diagnostic]) -> None:
        self.run = run
        self.folder = run.project.environments
        self._folder = str(self.folder)
        self._root = os.path.realpath(run.project.root)
        names = file_names(run.project.root)
        # Two files of one environment (contoso.yml and contoso.yaml) come together.
        groups = (list(group) for _, group in itertools.groupby(names, key=stem))
        diagnostics += same_name(
            self.folder / name for group in groups if len(group) > 1 for name in group
        )
        # The names are held as one string (no file name holds a NUL): as a list, its strings
        # and the listing's objects that were between them stayed as scattered memory (6 MB
        # at N = 30,000 for 2 MB of names). Nor are they made paths until they are reached:
        # a path interns its parts.
        self._names = "\0".join(names)
        self._left = len(names)  # names not yet scanned, from ``self._at`` in ``_names``
        self._at = 0
        del names
        self.ahead: collections.deque[_Found] = collections.deque()
        self.unsent: collections.deque[_Found] = collections.deque()
        self.flagged: list[str] = []  # the files that hold a private key (private_key_files)

    def more(self) -> bool:
        """Scan the next batch of files; False when every file was scanned."""
        names: list[str] = []
        while self._left and len(names) < self.run.BATCH:
            end = self._names.find("\0", self._at)
            end = len(self._names) if end < 0 else end
            names.append(self._names[self._at : end])
            self._at, self._left = end + 1, self._left - 1
        if not names:
            return False
        base = self.run.base
        found = []
        for name in names:
            full = os.path.join(self._folder, name)
            data = scanned_bytes(full, self._root)
            if data is None:  # a miss, which the loader reports; private_key_files reads it
                self.flagged.append(full)
                found.append((name, "", ""))
                continue
            if holds_private_key(data):
                self.flagged.append(full)
            found.append((name, writing.digest(data), cache.hash_parts(base, name, data)))
        hits = self.run.hits([key for _, _, key in found if key])
        for name, sha, key in found:
            scanned = _Found(name, sha, key, key in hits)
            self.ahead.append(scanned)
            if not scanned.hit:
                self.unsent.append(scanned)
        return True

    def reach(self, *, files: int | None = None, misses: int | None = None) -> None:
        """Scan on until ``files`` are ahead (default and at most: ``LOOKAHEAD``), or, with
        ``misses``, until that many misses are waiting to be sent, or every file is scanned."""
        files = LOOKAHEAD if files is None else min(files, LOOKAHEAD)
        while (
            len(self.ahead) < files
            and (misses is None or len(self.unsent) < misses)
            and self.more()
        ):
            pass

    def path(self, name: str) -> Path:
        """The path of the environment file ``name``."""
        return Path(os.path.join(self._folder, name))


class _Maker:
    """Loads and renders a run's misses, in the order they were scanned (:class:`_Scan`): in
    the run's own process, or in ``jobs`` worker processes once ``PARALLEL_MIN`` misses are
    waiting within ``LOOKAHEAD`` files (starting them costs about a second). The workers get
    a bounded window of batches, so results wait in memory only that long."""

    def __init__(self, run: _Run, scan: _Scan, jobs: int) -> None:
        self.run = run
        self.scan = scan
        self.jobs = jobs
        self.pool: Any = None
        self.chunk = 0
        self.window: collections.deque[Any] = collections.deque()  # futures of batches
        self.results: collections.deque[_Made] = collections.deque()

    def next(self) -> _Made:
        """The made environment of the next miss (the oldest of ``scan.unsent``, or sent)."""
        if self.results:
            return self.results.popleft()
        scan = self.scan
        if self.pool is None and self.jobs > 1:
            scan.reach(misses=PARALLEL_MIN)
            if len(scan.unsent) >= PARALLEL_MIN:
                self._start()
        if self.pool is None:
            miss = scan.unsent.popleft()
            return self.run._make_here(scan.path(miss.name), miss.sha)
        self._fill()
        self.results.extend(self.window.popleft().result())
        self._fill()
        return self.results.popleft()

    def _start(self) -> None:
        import concurrent.futures  # here: a build with few misses never needs them
        import multiprocessing

        self.scan.reach()  # the misses that are near, for the size of a batch
        self.chunk = max(16, min(64, len(self.scan.unsent) // (self.jobs * 8)))
        context = multiprocessing.get_context(
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        self.pool = concurrent.futures.ProcessPoolExecutor(self.jobs, mp_context=context)
        run = self.run
        self.args = (run.project, run.today, run.compiled, run._wants())

    def _fill(self) -> None:
        """Send batches of misses until ``2 * jobs`` are in flight (or none is near)."""
        scan = self.scan
        while len(self.window) < 2 * self.jobs:
            scan.reach(misses=self.chunk)
            if not scan.unsent:
                return
            sent = [scan.unsent.popleft() for _ in range(min(self.chunk, len(scan.unsent)))]
            batch = [(scan.path(miss.name), miss.sha) for miss in sent]
            self.window.append(self.pool.submit(_make_batch, batch, *self.args))

    def close(self) -> None:
        """Stop the workers (those still in flight when the run stopped early are cancelled)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


CERTIFICATE = ":certificate"  # beside an entry: its certificate file's path and digest
CATALOGUE_DIGEST = ":digest"  # beside the catalogue's key: the SHA-256 of its bytes


class _RowFile:
    """The catalogue's rows (pickled) as environments come, in name order, kept in an anonymous
    temporary file (in ``folder`` when it exists: the project's cache folder) rather than in
    memory (6 MB at N = 10,000), with where each ends (8 bytes a row), and the hash of the
    environments' cache keys that names the finished catalogue in the cache."""

    def __init__(self, base: str, folder: Path) -> None:
        self.folder = folder if folder.is_dir() else None
        with _temporary_file_errors():
            self._file = tempfile.TemporaryFile(dir=self.folder)
        self._ends = array.array("q", [0])  # row i is the bytes from _ends[i] to _ends[i + 1]
        self._last = ""
        self._key = cache.PartsHash(base, "catalogue")

    def add(self, name: str, key: str, row: bytes) -> None:
        if name < self._last:
            raise ValueError(f"catalogue rows out of name order: {name!r} after {self._last!r}")
        self._last = name
        with _temporary_file_errors():
            self._file.write(row)
        self._ends.append(self._ends[-1] + len(row))
        self._key.update(key)

    def key(self) -> str:
        """The catalogue's cache key: ``cache.hash_parts(base, "catalogue", *keys)``."""
        return self._key.hexdigest()

    def in_name_order(self) -> _Rows:
        with _temporary_file_errors():
            self._file.flush()
        return _Rows(self._file.fileno(), self._ends, range(len(self._ends) - 1))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _RowFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _temporary_file_errors() -> Iterator[None]:
    """An OSError of the rows' temporary file (a full disk) as an OutputError: a message."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write a temporary file: {exc.strerror or exc}") from None


class _Rows(Sequence[Any]):
    """The catalogue's rows, each read and unpickled when the template reaches it: the
    catalogue of 10,000 environments never holds 10,000 rows at once."""

    def __init__(self, fd: int, ends: array.array[int], which: range) -> None:
        self._fd = fd
        self._ends = ends
        self._which = which  # the rows of this sequence (a slice of them)

    def __len__(self) -> int:
        return len(self._which)

    @typing.overload
    def __getitem__(self, index: int) -> Any: ...
    @typing.overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return _Rows(self._fd, self._ends, self._which[index])
        row = self._which[index]
        start = self._ends[row]
        return pickle.loads(os.pread(self._fd, self._ends[row + 1] - start, start))


@dataclass(frozen=True)
class _Wants:
    """What :func:`_load_and_render` sends back besides digests, row and cache entry."""

    env: bool = False  # the loaded environment
    data: bool = False  # the files' bytes
    stage: tuple[Path, Path] | None = None  # (docs folder, staging folder): stage changed files


def _load_and_render(
    path: Path, sha: str, project: Project, today: dt.date, jinja_env: Any, wants: _Wants
) -> _Made:
    """Load ``path``, render it, and make its cache entry (when its bytes still have the
    SHA-256 ``sha``, its certificate file still holds what was read, and no private key is
    in it: a file that holds one is scanned again every time)."""
    from generator import rendering
    from generator.loading import load

    env, found = load(path, project.root, today)
    if env is None:
        return _Made(found)
    data = {
        str(rel): text.encode("utf-8")
        for rel, text in rendering.render_environment(jinja_env, env).items()
    }
    digests = {rel: writing.digest(b) for rel, b in data.items()}
    row = pickle.dumps(rendering.catalogue_row(env), protocol=pickle.HIGHEST_PROTOCOL)
    made = _Made(found, env.name, True, row=row, digests=digests)
    try:
        raw = path.read_bytes()
        if (
            writing.digest(raw) == sha
            and not certificates.holds_private_key(raw)
            and _certificate_unchanged(env)
        ):
            made.entry = _entry(env, found, digests, made.row, project.root)
    except OSError:
        pass
    if wants.stage is not None:
        out_dir, staging = wants.stage
        made.staged = frozenset(writing.stage_changed(out_dir, staging, data, digests))
    if wants.data:
        made.data = data
    if wants.env:
        made.env = env
    return made


def _make_batch(
    paths: list[tuple[Path, str]],
    project: Project,
    today: dt.date,
    compiled: Path | None,
    wants: _Wants,
) -> list[_Made]:
    """A worker's share of :meth:`_Run._make` (a module-level function: it is pickled)."""
    from generator import rendering

    jinja_env = rendering.make_jinja_env(project.templates, compiled)
    return [_load_and_render(path, sha, project, today, jinja_env, wants) for path, sha in paths]


def _entry(
    env: LoadedEnvironment,
    found: list[Diagnostic],
    digests: dict[str, str],
    row: bytes,
    root: Path,
) -> dict[str, Any]:
    """An environment's cache entry; its certificate's path relative to the project folder."""
    certificate = None
    if env.certificate_path is not None:
        certificate = (
            _inside(env.certificate_path, root),
            hashlib.sha256(env.certificate_path.read_bytes()).hexdigest(),
        )
    return {
        "name": env.name,
        "warnings": list(found),
        "digests": digests,
        "row": row,
        "certificate": certificate,
    }


def _inside(path: Path, root: Path) -> str:
    """A certificate file's (resolved) ``path`` relative to the project folder ``root``, as a
    POSIX string (the loader keeps certificates inside the project)."""
    return path.relative_to(root.resolve()).as_posix()


def _certificate_unchanged(env: LoadedEnvironment) -> bool:
    """True when the certificate file still holds what the loader read (no edit meanwhile)."""
    if env.certificate_path is None:
        return True
    try:
        return certificates.read(env.certificate_path.read_bytes()) == env.certificate
    except (OSError, ValueError):
        return False
