"""A content-addressed cache in the project's ``.cache/runbook/`` folder (gitignored).

Entries are keyed by a SHA-256 of everything that decides them (file bytes, template bytes,
the generator's own code and version), never by modification times: an entry is either
exactly right for its inputs or not found. Both adapters (``runbook build`` and the mkdocs
plugin) share it. Entries live in one SQLite file per namespace, so concurrent builds and a
build killed half-way leave only whole entries; a damaged entry is a miss, not an error.

Entries are pickles: the cache is as trusted as the project folder that holds it (like
``__pycache__``). Delete the folder at any time; the next build refills it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import re
import sqlite3
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import generator

FOLDER = Path(".cache") / "runbook"
# Bump when the shape of an entry changes.
FORMAT = "runbook-cache-1"
_DISTRIBUTIONS = (
    "jinja2",
    "markupsafe",
    "pydantic",
    "pydantic-core",
    "pyyaml",
    "cryptography",
    "idna",
)


def hash_parts(*parts: bytes | str) -> str:
    """SHA-256 over ``parts`` with length prefixes (so ``("ab", "c")`` ≠ ``("a", "bc")``)."""
    return PartsHash(*parts).hexdigest()


class PartsHash:
    """:func:`hash_parts` a part at a time: ``PartsHash(a).update(b)`` hashes as ``(a, b)``."""

    def __init__(self, *parts: bytes | str) -> None:
        self._hash = hashlib.sha256()
        for part in parts:
            self.update(part)

    def update(self, part: bytes | str) -> None:
        data = part.encode("utf-8") if isinstance(part, str) else part
        self._hash.update(len(data).to_bytes(8, "big"))
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@functools.cache
def generator_fingerprint() -> str:
    """A hash of the generator itself: its version, its source and data files, the Python
    version and the versions of the libraries whose behaviour shapes the output."""
    package = Path(generator.__file__).parent
    parts: list[bytes | str] = [FORMAT, generator.__version__, sys.version]
    for dist in _DISTRIBUTIONS:
        version = installed_version(dist)
        if version is not None:
            parts += [dist, version]
    # The code and its data files only: skeleton/ and templates/ link to the project's own
    # files (runbook init copies them), and the project's templates are hashed on their own.
    for path in sorted([*package.glob("*.py"), *package.glob("data/*")]):
        if path.is_file():
            parts += [path.relative_to(package).as_posix(), path.read_bytes()]
    return hash_parts(*parts)


def installed_version(dist: str) -> str | None:
    """The installed version of the distribution ``dist`` (None: not installed), as
    ``importlib.metadata.version`` gives it. Read from the ``NAME-VERSION.dist-info`` folders'
    names on ``sys.path`` (importing ``importlib.metadata`` and asking it cost every build
    about 30 ms); any other layout is asked of ``importlib.metadata``."""
    found = _dist_info_versions().get(_normalized(dist))
    if found is not None:
        return found
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _dist_info_versions() -> dict[str, str]:
    """{normalized name: version} of every ``*.dist-info`` folder on ``sys.path``, the first
    one found winning (as for imports)."""
    versions: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem = name.removesuffix(".dist-info")
            if stem != name and stem.count("-") == 1:
                project, version = stem.split("-")
                versions.setdefault(_normalized(project), version)
    return versions


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def folder_fingerprint(folder: Path) -> str:
    """A hash of every file below ``folder`` (relative names and bytes), e.g. the templates."""
    parts: list[bytes | str] = []
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            parts += [path.relative_to(folder).as_posix(), path.read_bytes()]
    return hash_parts(*parts)


# SQLite's page cache of each database a build opens (and of its temporary tables), in KB:
# entries are read once, by key, so a small cache holds what is read again (the B-tree's
# inner pages). SQLite's default, 2,000 KB, filled up as the number of environments grew (a
# warm build of 10,000 held 3.5 MB more than with this, and took as long).
PAGE_CACHE_KB = 512


def open_database(
    path: Path, prepare: Callable[[sqlite3.Connection], None], **connect: Any
) -> sqlite3.Connection | None:
    """The SQLite file ``path`` (made if missing) in WAL mode, with page caches of
    ``PAGE_CACHE_KB``, ``prepare``d (its tables made): one that is not a database (damaged,
    or foreign) is deleted and made again, as a cache can always start again; None when it
    cannot be used (a folder that cannot be written)."""
    for attempt in range(2):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db: sqlite3.Connection = sqlite3.connect(path, **connect)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                for schema in ("main", "temp"):
                    db.execute(f"PRAGMA {schema}.cache_size = -{PAGE_CACHE_KB}")
                prepare(db)
            except BaseException:
                db.close()
                raise
            return db
        except sqlite3.DatabaseError:
            if attempt == 0:
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        Path(f"{path}{suffix}").unlink()
        except (OSError, sqlite3.Error):
            break
    return None


class Cache:
    """One namespace of the project cache, an SQLite file (``.cache/runbook/<namespace>.sqlite3``):
    ``get``/``put`` by key, ``flush`` to commit, ``prune`` the unused.

    One file rather than a file per entry: creating thousands of small files was the largest
    cost of a cold build on the measured machine. SQLite makes every commit atomic (a killed
    build loses at most its uncommitted entries) and lets concurrent builds share the file.
    Any database error turns into a miss or a skipped write: a cache never fails a build.
    """

    BATCH = 256  # commit every so many writes, so a long build holds the write lock briefly

    def __init__(self, root: Path, namespace: str) -> None:
        self.path = root / FOLDER / f"{namespace}.sqlite3"
        # The keys read or written, for prune: an entry's own key only (``KEY:part`` is kept
        # with ``KEY``), a few at a time in memory and the rest in a temporary table (``used``),
        # so that a build of 10,000 environments does not hold 10,000 keys.
        self._used: list[tuple[str]] = []
        self._used_lost = False  # a key could not be recorded: prune removes nothing
        self.hits = 0
        self.misses = 0
        self._pending = 0
        self._db = open_database(self.path, self._prepare, timeout=10, isolation_level="DEFERRED")

    @staticmethod
    def _prepare(db: sqlite3.Connection) -> None:
        # No fsync: after a power loss the worst case is a damaged cache, which is detected
        # when it is opened and started again; the docs themselves are written durably.
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        db.execute("SELECT count(*) FROM entries WHERE key = ''").fetchone()
        db.execute("CREATE TEMP TABLE used (key TEXT PRIMARY KEY) WITHOUT ROWID")
        db.commit()

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None (missing or unreadable)."""
        self._use([key])
        row = None
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        try:
            stored_key, value = pickle.loads(row[0])
        except Exception:  # a damaged or foreign entry is only a miss
            self.misses += 1
            return None
        if stored_key != key:
            self.misses += 1
            return None
        self.hits += 1
        return value

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """{key: value} of the ``keys`` that are stored and readable (one query per 500)."""
        found: dict[str, Any] = {}
        self._use(keys)
        for key, data in self._select(keys, "key, value"):
            try:
                stored_key, value = pickle.loads(data)
            except Exception:  # a damaged or foreign entry is only a miss
                continue
            if stored_key == key:
                found[key] = value
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def present(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` are stored (read or not: see :meth:`get_many`), one query per 500;
        nothing is unpickled."""
        return {key for (key,) in self._select(keys, "key")}

    def _select(self, keys: list[str], columns: str) -> list[tuple[Any, ...]]:
        """``columns`` of the entries whose key is in ``keys``, one query per 500 (SQLite's
        limit on parameters is 999 in older builds); a database error reads as no rows."""
        rows: list[tuple[Any, ...]] = []
        if self._db is not None:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                with contextlib.suppress(sqlite3.Error):
                    rows += self._db.execute(
                        f"SELECT {columns} FROM entries WHERE key IN ({marks})", chunk
                    ).fetchall()
        return rows

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (committed by :meth:`flush` or every ``BATCH``)."""
        self._use([key])
        if self._db is None:
            return
        data = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", (key, data)
            )
        except sqlite3.Error:
            self._rollback()
            return
        self._pending += 1
        if self._pending >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        """Commit the writes so far."""
        if self._db is None:
            return
        try:
            self._db.commit()
        except sqlite3.Error:
            self._rollback()
        self._pending = 0

    def _use(self, keys: Iterable[str]) -> None:
        """Record ``keys`` (their entries' own keys) as used, for :meth:`prune`."""
        self._used += [(key.partition(":")[0],) for key in keys]
        if len(self._used) >= 500:
            self._record_used()

    def _record_used(self) -> None:
        """Move the used keys held in memory to the table (committed at once: an open
        transaction would hold a snapshot of the file that a concurrent build's writes make
        stale)."""
        if self._db is not None and self._used:
            try:
                self._db.executemany("INSERT OR IGNORE INTO used (key) VALUES (?)", self._used)
            except sqlite3.Error:
                self._rollback()
            self.flush()
        self._used = []

    def prune(self) -> int:
        """Remove the entries not used since this object was made, commit, and return how
        many were removed. A record keyed ``KEY:part`` belongs to the
        entry ``KEY`` and is kept with it (the mkdocs plugin keeps an environment's texts so;
        ``runbook build``, which does not read them, must not drop them). Nothing is removed
        when a used key could not be recorded (a database error)."""
        self._record_used()
        self.flush()
        if self._db is None or self._used_lost:
            return 0
        try:
            removed = self._db.execute(
                "DELETE FROM entries WHERE key NOT IN (SELECT key FROM used) AND"
                " (instr(key, ':') = 0 OR substr(key, 1, instr(key, ':') - 1)"
                " NOT IN (SELECT key FROM used))"
            ).rowcount
            self._db.commit()
            return int(removed)
        except sqlite3.Error:
            self._rollback()
            return 0

    def close(self) -> None:
        """Commit and close the database."""
        self.flush()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def _rollback(self) -> None:
        self._used_lost = True  # keys recorded since the last commit may be gone with it
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.rollback()
        self._pending = 0
