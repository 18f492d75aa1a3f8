"""A docs project and its pipeline: load → validate → derive → render → write.

The command line and the mkdocs plugin are thin adapters over these functions. Both go
through :func:`generate`, which redoes only the environments whose inputs changed: each
environment's loaded data, warnings and rendered files are cached under a hash of its file's
bytes, its certificate file's bytes, the templates, the generator's code and the date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from generator import cache, certificates, rendering, writing
from generator.errors import Diagnostic, InputError
from generator.loading import LoadedEnvironment, discover, display_path, load, load_all, private_key_files

OUTPUT = PurePosixPath("environments")


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


def load_project(project: Project, paths: Sequence[Path] = (), today: dt.date | None = None) -> tuple[list[LoadedEnvironment], list[Diagnostic]]:
    """Load the given environment files (default: all of the project), with diagnostics."""
    files = list(paths) or discover(project.root)
    return load_all(files, project.root, today or dt.date.today())


def render(project: Project, envs: list[LoadedEnvironment]) -> dict[PurePosixPath, str]:
    """Every generated file, keyed by path below docs/environments/."""
    return rendering.render_all(project.templates, envs)


def generate(project: Project, only: Sequence[str] = (), *, today: dt.date | None = None, use_cache: bool = True) -> Generated:
    """Load and render the project's environments, reusing cached results whose inputs match.

    ``only`` limits rendering to the named environments; every environment is loaded (the
    catalogue lists them all). Diagnostics of invalid files are in the result; nothing is
    raised for them here.
    """
    today = today or dt.date.today()
    store = cache.Cache(project.root, "environments") if use_cache else None
    base = cache.hash_parts(cache.generator_fingerprint(), cache.folder_fingerprint(project.templates), today.isoformat())
    result = Generated()
    jinja_env = None
    env_keys = []
    for path in discover(project.root):
        data = path.read_bytes()
        key = cache.hash_parts(base, path.name, data)
        entry = _lookup(store, key, path)
        if entry is None:
            env, found = load(path, project.root, today)
            result.diagnostics.extend(found)
            if env is None:
                continue
            jinja_env = jinja_env or rendering.make_jinja_env(project.templates)
            files = rendering.render_environment(jinja_env, env)
            result.rendered.append(env.name)
            if store is not None and path.read_bytes() == data and _certificate_unchanged(env):
                store.put(key, _entry(env, found, files))
        else:
            env, files = entry["env"], entry["files"]
            result.diagnostics.extend(dataclasses.replace(d, path=display_path(path)) for d in entry["warnings"])
        result.envs.append(env)
        env_keys.append(key)
        if not only or env.name in only:
            result.files.update(files)
    result.diagnostics += private_key_files(project.root, result.diagnostics)
    if result.errors:
        if store is not None:
            store.close()
        return result
    catalogue_key = cache.hash_parts(base, "catalogue", *env_keys)
    catalogue = store.get(catalogue_key) if store is not None else None
    if catalogue is None:
        jinja_env = jinja_env or rendering.make_jinja_env(project.templates)
        catalogue = rendering.render_catalogue(jinja_env, result.envs)
        if store is not None:
            store.put(catalogue_key, catalogue)
    result.files.update(catalogue)
    if store is not None:
        if not only:
            store.prune()
        store.close()
    return result


def build(project: Project, only: Sequence[str] = (), *, check: bool = False, today: dt.date | None = None) -> tuple[writing.WriteReport, list[Diagnostic]]:
    """Load every environment, render, and write (or, with ``check``, compare) the docs.

    ``only`` limits rendering to the named environments (the catalogue is always rebuilt);
    the other environments' files are kept. Raises :class:`InputError` when any file is
    invalid: nothing is written then.
    """
    result = generate(project, only, today=today)
    if result.errors:
        raise InputError(result.diagnostics)
    known = {env.name for env in result.envs}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise InputError([Diagnostic(str(project.environments), 1, 1, f"no environment named {name!r}") for name in unknown])
    keep: frozenset[str] = frozenset()
    if only:
        manifest = writing.read_manifest(project.output)
        keep = frozenset(rel for rel in manifest if rel.split("/")[0] in known - set(only))
    if check:
        return writing.sync(project.output, result.files, keep=keep, dry_run=True), result.diagnostics
    with writing.locked(project.output):
        report = writing.sync(project.output, result.files, keep=keep)
    return report, result.diagnostics


def _entry(env: LoadedEnvironment, found: list[Diagnostic], files: dict[PurePosixPath, str]) -> dict[str, Any]:
    certificate = None
    if env.certificate_path is not None:
        certificate = (str(env.certificate_path), hashlib.sha256(env.certificate_path.read_bytes()).hexdigest())
    return {"env": env, "warnings": list(found), "files": files, "certificate": certificate}


def _lookup(store: cache.Cache | None, key: str, path: Path) -> dict[str, Any] | None:
    """A cached entry for ``key``, if its certificate file (named inside it) is unchanged."""
    if store is None:
        return None
    entry = store.get(key)
    if not isinstance(entry, dict):
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
