"""``runbook init DIR``: a new docs project with everything this project itself uses.

The skeleton is the package's ``skeleton/`` folder: this repository's own mkdocs.yml,
templates, hand-written pages and example environment (reached through symbolic links, so
there is one copy of each), plus the files only a new project needs.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from generator.errors import OutputError

# Files of the skeleton stored without their leading dot or folder (package data skips
# dot-files), and where they go in the new project.
RENAMED = {
    "gitignore": ".gitignore",
    "gitattributes": ".gitattributes",
    "pre-commit-hooks.yaml": ".pre-commit-hooks.yaml",
    "pre-commit-config.yaml": ".pre-commit-config.yaml",
    "github-workflow.yml": ".github/workflows/docs.yml",
}


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("generator").joinpath(name)))


def plan(target: Path) -> dict[Path, Path]:
    """{destination: source} of every file ``init`` writes into ``target``."""
    files: dict[Path, Path] = {}
    skeleton = _package_dir("skeleton")
    for source in sorted(skeleton.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        rel = source.relative_to(skeleton).as_posix()
        files[target / RENAMED.get(rel, rel)] = source
    for source in sorted(_package_dir("templates").iterdir()):
        if source.is_file() and not source.name.startswith("."):
            files[target / "templates" / source.name] = source
    return files


def init(target: Path) -> list[Path]:
    """Create a new project in ``target`` (which must be empty or absent); return its files."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OutputError(f"{target}: exists and is not an empty folder; choose a new folder")
    files = plan(target)
    try:
        for destination, source in files.items():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)  # follows the skeleton's links
        (target / "docs" / "environments").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{target}: cannot create the project: {exc.strerror}") from None
    return sorted(files)
