"""A docs project and its pipeline: load → validate → derive → render → write.

The command line and the mkdocs plugin are thin adapters over these functions. Both go
through :func:`generate`, which redoes only the environments whose inputs changed: each
environment's loaded data, warnings and rendered files are cached under a hash of its file's
bytes, its certificate file's bytes, the templates, the generator's code and the date.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime as dt
import hashlib
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from generator import cache, certificates, rendering, writing
from generator.errors import Diagnostic, InputError
from generator.loading import (
    LoadedEnvironment,
    discover,
    display_path,
    load,
    load_all,
    private_key_files,
    unknown_name,
)

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
    files = list(paths) or discover(project.root)
    return load_all(files, project.root, today or dt.date.today())


def render(project: Project, envs: list[LoadedEnvironment]) -> dict[PurePosixPath, str]:
    """Every generated file, keyed by path below docs/environments/."""
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
    run = _Run(project, today or dt.date.today(), use_cache)
    result = Generated()
    items = list(run.environments(result.diagnostics))
    result.diagnostics += private_key_files(project.root, result.diagnostics)
    result.rendered = run.rendered
    result.envs = [env for env, _, _ in items]
    if result.errors:
        run.close(prune=False)
        return result
    for env, key, _ in items:
        if not only or env.name in only:
            result.files.update(run.files(key, env))
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
    invalid: nothing is written then. ``progress`` is called with each environment's name
    once it is loaded and rendered (for a progress bar).

    Memory stays flat in the number of environments: the first pass keeps only each
    environment's data and the digests of its files; the second fetches the text of changed
    files one environment at a time (from the cache, where the first pass put it).
    """
    run = _Run(project, today or dt.date.today(), use_cache=True)
    diagnostics: list[Diagnostic] = []
    try:
        items = []
        for item in run.environments(
            diagnostics, jobs=jobs if jobs is not None else _default_jobs()
        ):
            items.append(item)
            if progress is not None:
                progress(item[0].name)
        diagnostics += private_key_files(project.root, diagnostics)
        if any(d.severity == "error" for d in diagnostics):
            raise InputError(diagnostics)
        known = {env.name for env, _, _ in items}
        unknown = [name for name in only if name not in known]
        if unknown:
            raise InputError([unknown_name(project.root, name) for name in unknown])
        catalogue = {str(rel): text.encode("utf-8") for rel, text in run.catalogue(items).items()}
        digests = {rel: writing.digest(data) for rel, data in catalogue.items()}
        owner: dict[str, tuple[LoadedEnvironment, str]] = {}
        for env, key, env_digests in items:
            if not only or env.name in only:
                digests.update(env_digests)
                owner.update(dict.fromkeys(env_digests, (env, key)))
        current: dict[str, Any] = {"key": None, "files": {}}

        def fetch(rel: str) -> bytes:
            if rel in catalogue:
                return catalogue[rel]
            env, key = owner[rel]
            if current["key"] != key:  # files come in name order: one environment at a time
                current["key"], current["files"] = (
                    key,
                    {str(p): t for p, t in run.files(key, env).items()},
                )
            return str(current["files"][rel]).encode("utf-8")

        keep: frozenset[str] = frozenset()
        if only:
            manifest = writing.read_manifest(project.output)
            keep = frozenset(rel for rel in manifest if rel.split("/")[0] in known - set(only))
        if check:
            report = writing.sync(
                project.output, digests=digests, fetch=fetch, keep=keep, dry_run=True
            )
        else:
            with writing.locked(project.output):
                report = writing.sync(project.output, digests=digests, fetch=fetch, keep=keep)
    finally:
        run.close(prune=not only and not any(d.severity == "error" for d in diagnostics))
    return report, diagnostics


def _default_jobs() -> int:
    """Worker processes for a cold build: the CPUs this process may use (RUNBOOK_JOBS overrides)."""
    try:
        return max(1, int(os.environ.get("RUNBOOK_JOBS", "") or len(os.sched_getaffinity(0))))
    except (ValueError, AttributeError):
        return os.cpu_count() or 1


class _Run:
    """One pass over a project's environment files, through the cache.

    An environment's cache entry is two records: its data (the loaded environment, its
    warnings, the digests of its files, its certificate file's digest) and, apart, the text
    of its files, read only when needed.
    """

    def __init__(self, project: Project, today: dt.date, use_cache: bool) -> None:
        self.project = project
        self.today = today
        self.store = cache.Cache(project.root, "environments") if use_cache else None
        self.base = cache.hash_parts(
            cache.generator_fingerprint(),
            cache.folder_fingerprint(project.templates),
            today.isoformat(),
        )
        self.rendered: list[str] = []
        self._jinja_env: Any = None
        self._memory: dict[str, dict[PurePosixPath, str]] = {}  # files not in the cache

    def jinja_env(self) -> Any:
        self._jinja_env = self._jinja_env or rendering.make_jinja_env(self.project.templates)
        return self._jinja_env

    def environments(
        self, diagnostics: list[Diagnostic], jobs: int = 1
    ) -> Iterator[tuple[LoadedEnvironment, str, dict[str, str]]]:
        """Each valid environment with its cache key and {file: digest}; diagnostics appended.

        With ``jobs`` > 1 and enough cache misses, the misses are loaded and rendered in that
        many worker processes; the results come back in name order all the same."""
        lookups = []
        for path in discover(self.project.root):
            data = path.read_bytes()
            key = cache.hash_parts(self.base, path.name, data)
            lookups.append((path, data, key, _lookup(self.store, key, path)))
        misses = [path for path, _, _, entry in lookups if entry is None]
        made = self._make(misses, jobs)
        for path, data, key, entry in lookups:
            if entry is not None:
                diagnostics.extend(
                    dataclasses.replace(d, path=display_path(path)) for d in entry["warnings"]
                )
                yield entry["env"], key, entry["digests"]
                continue
            env, found, files = next(made)
            diagnostics.extend(found)
            if env is None or files is None:
                continue
            self.rendered.append(env.name)
            digests = {
                str(rel): writing.digest(text.encode("utf-8")) for rel, text in files.items()
            }
            if self.store is not None and path.read_bytes() == data and _certificate_unchanged(env):
                self.store.put(key + ":files", {str(rel): text for rel, text in files.items()})
                self.store.put(key, _entry(env, found, digests))
            else:
                self._memory[key] = files
            yield env, key, digests

    def _make(
        self, paths: list[Path], jobs: int
    ) -> Iterator[
        tuple[LoadedEnvironment | None, list[Diagnostic], dict[PurePosixPath, str] | None]
    ]:
        """Load and render ``paths``, in order: here, or in worker processes when it pays."""
        if jobs <= 1 or len(paths) < PARALLEL_MIN:
            for path in paths:
                yield _load_and_render(path, self.project, self.today, self.jinja_env())
            return
        chunk = max(16, min(64, len(paths) // (jobs * 8)))
        batches = iter([paths[i : i + chunk] for i in range(0, len(paths), chunk)])
        context = multiprocessing.get_context(
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            # A bounded window of batches in flight: results wait in memory only that long.
            window = collections.deque(
                pool.submit(_make_batch, batch, self.project, self.today)
                for batch in itertools.islice(batches, 2 * jobs)
            )
            while window:
                results = window.popleft().result()
                following = next(batches, None)
                if following is not None:
                    window.append(pool.submit(_make_batch, following, self.project, self.today))
                yield from results

    def files(self, key: str, env: LoadedEnvironment) -> dict[PurePosixPath, str]:
        """The files of the environment cached under ``key`` (rendered again if evicted)."""
        if key in self._memory:
            return self._memory[key]
        stored = self.store.get(key + ":files") if self.store is not None else None
        if isinstance(stored, dict):
            return {PurePosixPath(rel): str(text) for rel, text in stored.items()}
        return rendering.render_environment(self.jinja_env(), env)

    def catalogue(
        self, items: list[tuple[LoadedEnvironment, str, dict[str, str]]]
    ) -> dict[PurePosixPath, str]:
        """``index.md``, the catalogue of all environments (cached under all their keys)."""
        key = cache.hash_parts(self.base, "catalogue", *(k for _, k, _ in items))
        stored = self.store.get(key) if self.store is not None else None
        if isinstance(stored, dict):
            return stored
        catalogue = rendering.render_catalogue(self.jinja_env(), [env for env, _, _ in items])
        if self.store is not None:
            self.store.put(key, catalogue)
        return catalogue

    def close(self, *, prune: bool) -> None:
        if self.store is None:
            return
        if prune:
            self.store.prune()
        self.store.close()


def _load_and_render(
    path: Path, project: Project, today: dt.date, jinja_env: Any
) -> tuple[LoadedEnvironment | None, list[Diagnostic], dict[PurePosixPath, str] | None]:
    env, found = load(path, project.root, today)
    if env is None:
        return None, found, None
    return env, found, rendering.render_environment(jinja_env, env)


def _make_batch(
    paths: list[Path], project: Project, today: dt.date
) -> list[tuple[LoadedEnvironment | None, list[Diagnostic], dict[PurePosixPath, str] | None]]:
    """A worker's share of :meth:`_Run._make` (a module-level function: it is pickled)."""
    jinja_env = rendering.make_jinja_env(project.templates)
    return [_load_and_render(path, project, today, jinja_env) for path in paths]


def _entry(
    env: LoadedEnvironment, found: list[Diagnostic], digests: dict[str, str]
) -> dict[str, Any]:
    certificate = None
    if env.certificate_path is not None:
        certificate = (
            str(env.certificate_path),
            hashlib.sha256(env.certificate_path.read_bytes()).hexdigest(),
        )
    return {"env": env, "warnings": list(found), "digests": digests, "certificate": certificate}


def _lookup(store: cache.Cache | None, key: str, path: Path) -> dict[str, Any] | None:
    """A cached entry for ``key``, if its certificate file (named inside it) is unchanged."""
    if store is None:
        return None
    entry = store.get(key)
    if not isinstance(entry, dict) or "digests" not in entry:
        return None
    if entry["certificate"] is not None:
        cert_path, cert_digest = entry["certificate"]
        try:
            if hashlib.sha256(Path(cert_path).read_bytes()).hexdigest() != cert_digest:
                return None
        except OSError:
            return None
    env: LoadedEnvironment = entry["env"]
    if env.path != path:
        # The project was moved or copied: the output does not depend on where it lies.
        return None
    return entry


def _certificate_unchanged(env: LoadedEnvironment) -> bool:
    """True when the certificate file still holds what the loader read (no edit meanwhile)."""
    if env.certificate_path is None:
        return True
    try:
        return certificates.read(env.certificate_path.read_bytes()) == env.certificate
    except (OSError, ValueError):
        return False
