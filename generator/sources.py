"""Where a project's environment files are, and how paths are shown: what a build needs
before it loads anything (this module imports neither the model nor YAML nor Jinja, so a
build whose environments all come from the cache starts fast)."""

from __future__ import annotations

import errno
import os
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from generator import certificates
from generator.errors import Diagnostic

SUFFIXES = (".yml", ".yaml")
# The catalogue of a project's environments, below docs/environments/ (rendering.CATALOGUE).
CATALOGUE_FILE = "index.md"


def display_path(path: Path) -> str:
    """``path`` relative to the working directory where it lies below it, else as given."""
    cwd = os.getcwd()
    if os.path.abspath(path).startswith(cwd.rstrip(os.sep) + os.sep):
        return os.path.relpath(path)
    try:  # through links
        return os.path.relpath(path) if path.resolve().is_relative_to(cwd) else str(path)
    except ValueError:
        return str(path)


def discover(project: Path) -> list[Path]:
    """The environment files of a project, in name order (see :func:`file_names`)."""
    folder = project / "environments"
    return [folder / name for name in file_names(project)]


def file_names(project: Path) -> list[str]:
    """The names of a project's environment files, in the order of the environments' names
    (the file name without its suffix: ``a`` before ``a-b``, where ``a-b.yml`` sorts before
    ``a.yml``), so that two files of one environment come together (:func:`same_name`)."""
    try:
        with os.scandir(project / "environments") as entries:
            names = [
                entry.name
                for entry in entries
                if os.path.splitext(entry.name)[1] in SUFFIXES and entry.is_file()
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []
    names.sort(key=lambda name: (stem(name), name))
    return names


def stem(name: str) -> str:
    """An environment file's name without its suffix: the environment's name."""
    return name.rpartition(".")[0] or name


def same_name(paths: Iterable[Path]) -> list[Diagnostic]:
    """An error for each of ``paths`` whose environment name (the file name without its
    suffix) another of them in the same folder has too: contoso.yml and contoso.yaml would be
    one environment, its pages written twice, one file's over the other's."""
    first: dict[str, Path] = {}
    same: dict[str, list[Path]] = {}
    for path in paths:  # names alone first: this runs in every build (10,000 files)
        name = stem(path.name)
        seen = first.setdefault(name, path)
        if seen is not path:
            same.setdefault(name, [seen]).append(path)
    found = []
    for name, group in same.items():
        for path in group:
            others = [o.name for o in group if o is not path and o.parent == path.parent]
            if others:
                message = (
                    f"{' and '.join(others)} is environment {name!r} too: keep one file per "
                    "environment (delete or rename the other)"
                )
                found.append(Diagnostic(display_path(path), 1, 1, message))
    return found


def named(folder: Path, name: str) -> list[Path]:
    """The files in ``folder`` of the environment ``name``, one per suffix that exists (more
    than one is an error: :func:`same_name`)."""
    return [
        folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").is_file()
    ]


def unknown_name(root: Path, name: str) -> Diagnostic:
    """The error for an environment name the project doesn't have, listing the known ones."""
    known = sorted(p.stem for p in discover(root))
    hint = f" (known: {', '.join(known)})" if known else ""
    return Diagnostic(
        display_path(root / "environments"), 1, 1, f"no environment named {name!r}{hint}"
    )


# An environment file's size, at most: a larger one is refused, not read whole.
MAX_BYTES = 1_000_000
SCAN_BYTES = 10_000_000


def private_key_files(
    project: Path, already: Iterable[Diagnostic] = (), flagged: Collection[str] | None = None
) -> list[Diagnostic]:
    """An error for every file under ``environments/`` that holds a private key, except
    files that ``already`` reports a private key for (a key pasted into a YAML value).

    With ``flagged``, the caller has scanned the environment files (a build reads each one
    whole to hash it): of those, only the ones named in ``flagged`` (as found by
    :func:`holds_private_key`) are read again here, for the message.

    Links that lead out of the project are not followed (nothing outside is read). The
    folders are walked as they are listed: 10,000 environment files are never a list here.
    """
    reported = {d.path for d in already if d.code == "private-key"}
    folder = project / "environments"
    root = os.path.realpath(project)
    if not folder.is_dir() or not _inside(os.path.realpath(folder), root):
        return []
    found = []
    for full, top in _files(str(folder)):
        if flagged is not None and top and os.path.splitext(full)[1] in SUFFIXES:
            if full not in flagged:
                continue
        if not os.path.isfile(full):  # a FIFO would block a read
            continue
        if os.path.islink(full) and not _inside(os.path.realpath(full), root):
            continue
        path = Path(full)
        try:
            with path.open("rb") as stream:
                data = stream.read(SCAN_BYTES)
        except OSError:
            continue
        if certificates.holds_private_key(data) and display_path(path) not in reported:
            marker = data.find(b"-----BEGIN")
            line = data.count(b"\n", 0, marker) + 1 if marker >= 0 else 1
            found.append(
                Diagnostic(
                    display_path(path),
                    line,
                    1,
                    (
                        f"this file holds a private key; {certificates.PRIVATE_KEY_REASON}. Delete it "
                        "(and from the repository's history, if it was committed)"
                    ),
                    code="private-key",
                )
            )
    return sorted(found)


def scanned_bytes(path: str, root: str) -> bytes | None:
    """The bytes of the environment file ``path`` for a build's scan (its hash, cache key and
    private-key check), or None when the scan leaves the file to the loader, which says what
    is wrong with it: a link that leads out of the project folder ``root`` (a real path;
    nothing outside is read), a file that cannot be read, or one over ``MAX_BYTES`` (read no
    further than that)."""
    try:
        try:  # a file, not a link (the common case): no system call to ask first
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno != errno.ELOOP or not _inside(os.path.realpath(path), root):
                return None
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # a link inside the project
        with open(fd, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_BYTES else None


def holds_private_key(data: bytes) -> bool:
    """Whether an environment file's bytes hold a private key (for ``flagged`` above)."""
    return certificates.holds_private_key(data[:SCAN_BYTES])


def _files(folder: str) -> Iterator[tuple[str, bool]]:
    """(path, whether it lies in ``folder`` itself) of every entry below ``folder`` that is not
    a folder, as ``os.scandir`` lists them; links to folders are not entered (as os.walk)."""
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    below = []
    with entries:
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                below.append(entry.path)
            else:
                yield entry.path, True
    for sub in sorted(below):
        yield from ((path, False) for path, _ in _files(sub))


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)
