"""The project's cache: one SQLite file, ``.cache/runbook/cache.sqlite3`` (gitignored).

Entries are keyed by a hash of everything that decides them, never by modification times,
and hold pickles (the cache is as trusted as the project folder, like ``__pycache__``). A
damaged file is started again and any database error is a miss: a cache never fails a build.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2

FOLDER = Path(".cache") / "runbook"
FORMAT = "runbook-cache-2"  # bump when an entry changes shape


def hash_parts(*parts: bytes | str) -> str:
    """SHA-256 over ``parts`` with length prefixes (so ``("ab", "c")`` ≠ ``("a", "bc")``)."""
    found = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        found.update(len(data).to_bytes(8, "big") + data)
    return found.hexdigest()


class Store:
    """Entries by (kind, key): ``get_many``, ``put``, and ``prune`` what a run did not use."""

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.path = root / FOLDER / "cache.sqlite3"
        self.used: set[tuple[str, str]] = set()
        self._db = self._open() if enabled else None

    def _open(self) -> sqlite3.Connection | None:
        for _attempt in range(2):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Autocommit: a write holds the file's lock only for itself, so that the
                # processes that make change requests never wait for a build.
                db = sqlite3.connect(
                    self.path, timeout=60, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=OFF")  # a cache may lose its last writes
                db.execute(
                    "CREATE TABLE IF NOT EXISTS entries"
                    " (kind TEXT, key TEXT, value BLOB, PRIMARY KEY (kind, key)) WITHOUT ROWID"
                )
                return db
            except sqlite3.DatabaseError:  # not a database: start again
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            except (OSError, sqlite3.Error):
                break
        return None

    def get(self, kind: str, key: str) -> Any | None:
        """The value stored under (``kind``, ``key``), or None."""
        return self.get_many(kind, [key]).get(key)

    def get_many(self, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        """{key: value} of those ``keys`` that are stored and readable."""
        keys = list(keys)
        self.used.update((kind, key) for key in keys)
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, data in self._query(
                f"SELECT key, value FROM entries WHERE kind = ? AND key IN ({marks})",
                [kind, *chunk],
            ):
                with contextlib.suppress(Exception):  # a damaged entry is a miss
                    found[key] = pickle.loads(data)
        return found

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store ``value`` under (``kind``, ``key``)."""
        self.used.add((kind, key))
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._query("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", [kind, key, data])

    def prune(self, kinds: Iterable[str]) -> None:
        """Delete the entries of ``kinds`` this store neither read nor wrote."""
        for kind in kinds:
            stale = [
                (kind, key)
                for (key,) in self._query("SELECT key FROM entries WHERE kind = ?", [kind])
                if (kind, key) not in self.used
            ]
            if stale and self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.executemany("DELETE FROM entries WHERE kind = ? AND key = ?", stale)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _query(self, sql: str, args: list[Any]) -> list[Any]:
        if self._db is None:
            return []
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error:
            return []


class Bytecode(jinja2.BytecodeCache):
    """Compiled Jinja templates in the store (kind ``bytecode``), by template and source:
    compiling the project's or the theme's templates was a fifth of a small build."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.store.get("bytecode", hash_parts(bucket.key, bucket.checksum))
        if isinstance(data, bytes):
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        key = hash_parts(bucket.key, bucket.checksum)
        self.store.put("bytecode", key, bucket.bytecode_to_string())
