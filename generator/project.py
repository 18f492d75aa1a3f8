"""A docs project and its pipeline: load → validate → derive → render → write.

The command line and the mkdocs plugin are thin adapters over these functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator import rendering, writing
from generator.errors import Diagnostic, InputError
from generator.loading import LoadedEnvironment, discover, load_all

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


def load_project(project: Project, paths: Sequence[Path] = (), today: dt.date | None = None) -> tuple[list[LoadedEnvironment], list[Diagnostic]]:
    """Load the given environment files (default: all of the project), with diagnostics."""
    files = list(paths) or discover(project.root)
    return load_all(files, project.root, today or dt.date.today())


def render(project: Project, envs: list[LoadedEnvironment]) -> dict[PurePosixPath, str]:
    """Every generated file, keyed by path below docs/environments/."""
    return rendering.render_all(project.templates, envs)


def build(project: Project, only: Sequence[str] = (), *, check: bool = False, today: dt.date | None = None) -> tuple[writing.WriteReport, list[Diagnostic]]:
    """Load every environment, render, and write (or, with ``check``, compare) the docs.

    ``only`` limits rendering to the named environments (the catalogue is always rebuilt);
    the other environments' files are kept. Raises :class:`InputError` when any file is
    invalid: nothing is written then.
    """
    envs, diagnostics = load_project(project, today=today)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise InputError(diagnostics)
    known = {env.name for env in envs}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise InputError([Diagnostic(str(project.environments), 1, 1, f"no environment named {name!r}") for name in unknown])
    selected = [env for env in envs if not only or env.name in only]
    jinja_env = rendering.make_jinja_env(project.templates)
    files = rendering.render_catalogue(jinja_env, envs)
    for env in selected:
        files.update(rendering.render_environment(jinja_env, env))
    keep: frozenset[str] = frozenset()
    if only:
        manifest = writing.read_manifest(project.output)
        keep = frozenset(rel for rel in manifest if rel.split("/")[0] in known - set(only))
    if check:
        return writing.sync(project.output, files, keep=keep, dry_run=True), diagnostics
    with writing.locked(project.output):
        report = writing.sync(project.output, files, keep=keep)
    return report, diagnostics
