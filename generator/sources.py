"""A project's environment files: where they are, how they are read and how paths are shown.

Reads never follow a link out of the project, with or without ``os.O_NOFOLLOW`` (Windows)."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path, PurePath

from generator import certificates
from generator.errors import Diagnostic

SUFFIXES = (".yml", ".yaml")
CATALOGUE_FILE = "index.md"  # the catalogue, below docs/environments/
MAX_BYTES = 1_000_000  # an environment file's size, at most (a larger one is refused)
SCAN_BYTES = 10_000_000  # how far the private-key check reads a file


def display_path(path: PurePath | str) -> str:
    """``path`` relative to the working directory where it lies below it, with ``/`` on every
    system."""
    path, cwd = Path(path), os.getcwd()
    try:
        if _inside(os.path.abspath(path), cwd) or path.resolve().is_relative_to(cwd):
            return Path(os.path.relpath(path)).as_posix()
    except (OSError, ValueError):  # another drive (Windows), a loop of links
        pass
    return path.as_posix()


def discover(project: Path) -> list[Path]:
    """The environment files of a project, in the order of the environments' names (``a``
    before ``a-b``), so that two files of one environment come together."""
    folder = project / "environments"
    try:
        with os.scandir(folder) as entries:
            names = [e.name for e in entries if e.name.endswith(SUFFIXES) and e.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [folder / name for name in sorted(names, key=lambda name: (stem(name), name))]


def stem(name: str) -> str:
    """An environment file's name without its suffix: the environment's name."""
    return name.rpartition(".")[0] or name


def same_name(paths: Iterable[Path]) -> list[Diagnostic]:
    """An error for each file whose environment name another file in its folder has too
    (contoso.yml and contoso.yaml would write the same pages)."""
    groups: dict[tuple[Path, str], list[Path]] = {}
    for path in paths:
        groups.setdefault((path.parent, stem(path.name)), []).append(path)
    found = []
    for (_, name), group in groups.items():
        for path in group if len(group) > 1 else ():
            others = " and ".join(o.name for o in group if o != path)
            message = (
                f"{others} is environment {name!r} too: keep one file per environment "
                "(delete or rename the other)"
            )
            found.append(Diagnostic(display_path(path), 1, 1, message))
    return found


def named(folder: Path, name: str) -> list[Path]:
    """The files in ``folder`` of the environment ``name``, one per suffix that exists."""
    return [folder / f"{name}{s}" for s in SUFFIXES if (folder / f"{name}{s}").is_file()]


def unknown_name(root: Path, name: str) -> Diagnostic:
    """The error for an environment name the project doesn't have, listing the known ones."""
    known = sorted({stem(p.name) for p in discover(root)})
    hint = f" (known: {', '.join(known)})" if known else ""
    return Diagnostic(
        display_path(root / "environments"), 1, 1, f"no environment named {name!r}{hint}"
    )


def read_inside(path: Path, root: Path, limit: int = MAX_BYTES) -> bytes | None:
    """The bytes of ``path`` (at most ``limit``), or None when it is a link that leads out of
    the folder ``root``, cannot be read, or is larger: the loader then says what is wrong."""
    try:
        if os.path.islink(path) and not _inside(os.path.realpath(path), os.path.realpath(root)):
            return None
        with open(path, "rb") as file:
            data = file.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def private_key_error(path: Path, data: bytes) -> Diagnostic | None:
    """The error for a file under environments/ whose bytes hold a private key."""
    if not certificates.holds_private_key(data[:SCAN_BYTES]):
        return None
    marker = data.find(b"-----BEGIN")
    line = data.count(b"\n", 0, marker) + 1 if marker >= 0 else 1
    message = (
        f"this file holds a private key; {certificates.PRIVATE_KEY_REASON}. Delete it (and from "
        "the repository's history, if it was committed)"
    )
    return Diagnostic(display_path(path), line, 1, message, code="private-key")


def private_key_files(
    project: Path, already: Iterable[Diagnostic] = (), skip: Collection[Path] = ()
) -> list[Diagnostic]:
    """An error for every file under environments/ that holds a private key, but those
    ``already`` reports one for and those in ``skip`` (checked by the caller). Links that lead
    out of the project are not followed."""
    reported = {d.path for d in already if d.code == "private-key"}
    found = []
    for path in _files(project / "environments"):
        if path in skip or not path.is_file():  # a FIFO would block a read
            continue
        data = read_inside(path, project, SCAN_BYTES)
        error = None if data is None else private_key_error(path, data)
        if error is not None and error.path not in reported:
            found.append(error)
    return sorted(found)


def _files(folder: Path) -> Iterator[Path]:
    """Every entry below ``folder`` that is not a folder; links to folders are not entered."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _files(Path(entry.path))
        else:
            yield Path(entry.path)


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(os.path.join(root, ""))
