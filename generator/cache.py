"""A content-addressed cache in the project's ``.cache/runbook/`` folder (gitignored).

Entries are keyed by a SHA-256 of everything that decides them (file bytes, template bytes,
the generator's own code and version), never by modification times: an entry is either
exactly right for its inputs or not found. Both adapters (``runbook build`` and the mkdocs
plugin) share it. Each entry is one file, written atomically, so concurrent builds and a
build killed half-way leave only whole entries; a damaged entry is a miss, not an error.

Entries are pickles: the cache is as trusted as the project folder that holds it (like
``__pycache__``). Delete the folder at any time; the next build refills it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import generator

FOLDER = Path(".cache") / "runbook"
# Bump when the shape of an entry changes.
FORMAT = "runbook-cache-1"
_DISTRIBUTIONS = ("jinja2", "markupsafe", "pydantic", "pydantic-core", "pyyaml", "cryptography", "idna")


def hash_parts(*parts: bytes | str) -> str:
    """SHA-256 over ``parts`` with length prefixes (so ``("ab", "c")`` ≠ ``("a", "bc")``)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@functools.cache
def generator_fingerprint() -> str:
    """A hash of the generator itself: its version, its source and data files, the Python
    version and the versions of the libraries whose behaviour shapes the output."""
    package = Path(generator.__file__).parent
    parts: list[bytes | str] = [FORMAT, generator.__version__, sys.version]
    for dist in _DISTRIBUTIONS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            parts += [dist, importlib.metadata.version(dist)]
    for path in sorted(p for p in package.rglob("*") if p.is_file() and p.suffix in (".py", ".yml", ".yaml", ".json")):
        parts += [path.relative_to(package).as_posix(), path.read_bytes()]
    return hash_parts(*parts)


def folder_fingerprint(folder: Path) -> str:
    """A hash of every file below ``folder`` (relative names and bytes), e.g. the templates."""
    parts: list[bytes | str] = []
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            parts += [path.relative_to(folder).as_posix(), path.read_bytes()]
    return hash_parts(*parts)


class Cache:
    """One namespace of the project cache: ``get``/``put`` by key, ``prune`` the unused."""

    def __init__(self, root: Path, namespace: str) -> None:
        self.folder = root / FOLDER / namespace
        self.used: set[str] = set()
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None (missing or unreadable)."""
        self.used.add(key)
        try:
            with self._path(key).open("rb") as handle:
                stored_key, value = pickle.load(handle)
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception:  # a damaged or foreign entry is only a miss
            self.misses += 1
            return None
        if stored_key != key:
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` atomically; a failure to write is not an error."""
        self.used.add(key)
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump((key, value), handle, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return

    def prune(self, keep: Iterable[str] | None = None) -> int:
        """Remove entries not in ``keep`` (default: the keys used since this object was made).

        Returns how many were removed. Temporary files of killed writers go too."""
        wanted = set(self.used if keep is None else keep)
        removed = 0
        if not self.folder.is_dir():
            return 0
        for sub in self.folder.iterdir():
            if not sub.is_dir():
                continue
            for entry in sub.iterdir():
                if entry.name not in wanted:
                    with contextlib.suppress(OSError):
                        entry.unlink()
                        removed += 1
        return removed
