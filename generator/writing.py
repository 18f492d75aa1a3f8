"""Generated files on disk: only changed ones, atomically, never a file we did not make.

A manifest (``docs/environments/.runbook-manifest.json``) lists every file the generator
wrote with its SHA-256. A file that exists but is not in the manifest is someone else's:
we refuse to overwrite it (unless its bytes are exactly what we would write) and never
delete it.

A build goes through a :class:`Writer`, so that a build killed at any moment (even with
SIGKILL) leaves every file either entirely old or entirely new, and the next build repairs
the rest:

1. while environments are rendered, each file whose bytes change is written to a staging
   folder (``.cache/runbook/staging/``); nothing under ``docs/`` changes yet, so a build
   that finds an invalid file later leaves the docs as they were;
2. the manifest is rewritten to name every file this build may create, with both the old
   and the new digest ("pending"), so a kill never leaves a file we made unrecorded;
3. the staged files are synced (a few one by one; many with one sync of the file system,
   as one sync per file dominated cold builds) and each staged file is renamed into place
   (a rename replaces a file whole);
4. the final manifest replaces the pending one.

A killed build's staging folder is removed by the next one.

The manifest is committed with the docs, so it is read as input that may have been changed:
a line naming a path outside the output folder, or a symbolic link among the folders below
it, stops the build before any file is touched. A manifest in which git left a merge conflict
(two branches each added or edited environments, so both changed the catalogue's line) is read
as every file either side lists, and written again; a check counts the manifest stale whenever
a build would write it again.

Whether a file on disk still holds what the manifest says is decided by its bytes, except
that a file whose size, modification and change times (nanoseconds) and inode are exactly
those recorded when a build last read it is taken to hold the bytes it held then (the test
git makes for its index): a warm build reads no file back. The change time cannot be set
by hand and every write moves it. A state is recorded only when the file was read (its
state taken before the read) and had not changed for two ticks of its file system's clock
(:func:`_settled`), so an edit in the same tick as the recorded state cannot pass unseen;
files a build writes are read back, and recorded, by the next build.

What a build knows of each file (the manifest's digests, the recorded state, its new digest
when that differs) is kept in an SQLite file in the cache folder, the index
(``.cache/runbook/output.sqlite3``), not in Python objects: a build's memory does not grow
with the number of files (70,000 at N = 10,000). The index mirrors the manifest; it records
the SHA-256 of the manifest it mirrors and is read again from the manifest whenever the bytes
differ (a pull, a merge, a checkout, a killed build). The manifest stays the record that is
committed; the index can be deleted at any time.
"""

from __future__ import annotations

import array
import contextlib
import errno
import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import sqlite3
import stat
import struct
import tempfile
import time
import typing
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from generator.cache import open_database
from generator.errors import OutputError

MANIFEST = ".runbook-manifest.json"
# Up to this many changed files are synced one by one; more, with one sync of the file system
# (which also waits for every other program's writes to it).
FSYNC_EACH = 64
# A file untouched for this long has a timestamp no later edit can repeat: at least twice
# the file system's timestamp tick (a kernel's clock tick is at most 10 ms; a file system
# with coarser times, such as FAT's 2 s, shows it in the times themselves: see _settled).
SETTLED_NS = 50_000_000
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp\Z")


def digest(data: bytes) -> str:
    """SHA-256 of ``data`` as hex."""
    return hashlib.sha256(data).hexdigest()


class Paths(Sequence[PurePosixPath]):
    """Paths kept as the strings they came as, each made a path when read. Past ``SPILL`` of
    them they go to an anonymous temporary file, 8 bytes each staying in memory: a cold
    build of 10,000 environments writes 70,000 files (as strings, 5 MB; as PurePosixPath
    objects, 20 MB)."""

    SPILL = 4096

    def __init__(self, rels: Iterable[str] = ()) -> None:
        self._held: list[str] = []
        self._file: typing.BinaryIO | None = None
        self._ends = array.array("q", [0])  # of the spilled: path i is _ends[i] to _ends[i + 1]
        for rel in rels:
            self.append(rel)

    def append(self, rel: str) -> None:
        if self._file is None and len(self._held) < self.SPILL:
            self._held.append(rel)
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile()
            weakref.finalize(self, self._file.close)
            held, self._held = self._held, []
            for one in held:
                self._write(one)
        self._write(rel)

    def _write(self, rel: str) -> None:
        assert self._file is not None
        data = rel.encode("utf-8")
        self._file.write(data)
        self._ends.append(self._ends[-1] + len(data))

    @property
    def rels(self) -> list[str]:
        """The paths as strings (a new list)."""
        return list(self.strings())

    def strings(self) -> Iterator[str]:
        """The paths as strings, in order (read back a block at a time once spilled)."""
        if self._file is None:
            yield from self._held
            return
        self._file.flush()
        fd, ends = self._file.fileno(), self._ends
        for start in range(0, len(ends) - 1, self.SPILL):  # read a block of paths at a time
            stop = min(start + self.SPILL, len(ends) - 1)
            block = os.pread(fd, ends[stop] - ends[start], ends[start])
            for i in range(start, stop):
                yield block[ends[i] - ends[start] : ends[i + 1] - ends[start]].decode("utf-8")

    def _string(self, index: int) -> str:
        if self._file is None:
            return self._held[index]
        index = range(len(self))[index]  # IndexError, and negative indexes
        self._file.flush()
        start, end = self._ends[index], self._ends[index + 1]
        return os.pread(self._file.fileno(), end - start, start).decode("utf-8")

    def __len__(self) -> int:
        return len(self._held) if self._file is None else len(self._ends) - 1

    def __iter__(self) -> Iterator[PurePosixPath]:
        return map(PurePosixPath, self.strings())

    @typing.overload
    def __getitem__(self, index: int) -> PurePosixPath: ...
    @typing.overload
    def __getitem__(self, index: slice) -> Paths: ...
    def __getitem__(self, index: int | slice) -> PurePosixPath | Paths:
        if isinstance(index, slice):
            return Paths(self._string(i) for i in range(len(self))[index])
        return PurePosixPath(self._string(index))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Paths({self.rels!r})"


@dataclass
class WriteReport:
    """What a write did (or, for a check, would do): paths relative to the output folder."""

    written: Paths = field(default_factory=Paths)
    removed: Paths = field(default_factory=Paths)
    unchanged: int = 0  # how many files already held their bytes
    # Why the old manifest was not read as written (merge conflicts, damage); None: it was.
    manifest_problem: str | None = None
    # Whether the manifest says something else than what the files now are (a build writes
    # it again; a check counts it stale).
    manifest_changes: bool = False

    @property
    def stale(self) -> Paths:
        """Files whose bytes differ from what the generator makes, missing or left over (the
        manifest among them when it would change)."""
        rels = self.written.rels + self.removed.rels
        if self.manifest_changes:
            rels = [*rels, MANIFEST]
        return Paths(sorted(rels, key=lambda r: r.split("/")))


def read_manifest(out_dir: Path) -> dict[str, str]:
    """The manifest's {relative path: sha256}; empty when there is none."""
    manifest = _read_manifest(out_dir)
    return {**manifest.files, **manifest.pending}


@dataclass
class _Manifest:
    """What the last build left: its files' digests and, if it was killed while replacing
    files (or two branches' manifests were merged), the other digests some may have.
    ``problem``: why the manifest was not read as written (None: it was, or there is none)."""

    files: dict[str, str]
    pending: dict[str, str]
    problem: str | None = None


# A line git writes around the versions of a part of a file that two branches both changed
# (<<<<<<< ours, ||||||| base with merge.conflictStyle=diff3, =======, >>>>>>> theirs).
_CONFLICT_MARKER = re.compile(rb"^(?:<{7}|\|{7}|={7}|>{7})(?: |\r?$)", re.M)
# A manifest line as _write_manifest writes it: "path": "sha256",
_ENTRY = re.compile(rb'^ *("(?:[^"\\\r\n]|\\.)*"): "([0-9a-f]{64})",?\r?$', re.M)
CONFLICTS = "has merge conflicts"


def _read_manifest(out_dir: Path) -> _Manifest:
    """The manifest as the last build left it (see :func:`_parse_manifest`)."""
    return _parse_manifest(_read(out_dir / MANIFEST))


def _parse_manifest(raw: bytes | None) -> _Manifest:
    """The manifest's bytes (None: there is none) as the last build left them; a manifest
    whose lines two git branches both changed (the catalogue's digest changes whenever an
    environment is added or edited) as every file that either side (or their base) lists."""
    if raw is None:
        return _Manifest({}, {})
    try:
        data = json.loads(raw)
        return _Manifest(_strings(data["files"]), _strings(data.get("pending", {})))
    except json.JSONDecodeError as exc:
        problem = f"cannot be read: line {exc.lineno}: {exc.msg}"
    except UnicodeDecodeError:
        problem = "cannot be read: it is not UTF-8 text"
    except (ValueError, KeyError, TypeError, AttributeError):
        problem = "cannot be read: it does not list the generated files"
    if not _CONFLICT_MARKER.search(raw):
        return _Manifest({}, {}, problem)
    # Every side's lines are there, between the markers: each side's files were made by
    # runbook. A file with two digests (changed on both sides) may hold either.
    files: dict[str, str] = {}
    pending: dict[str, str] = {}
    for match in _ENTRY.finditer(raw):
        try:
            rel, found = json.loads(match[1]), match[2].decode()
        except ValueError:  # not a JSON string: not a line runbook wrote
            continue
        if files.setdefault(rel, found) != found:
            pending.setdefault(rel, found)
    return _Manifest(files, pending, CONFLICTS)


def _strings(mapping: dict[object, object]) -> dict[str, str]:
    """``mapping`` when every key and value is a string (as JSON keys are), without copying it
    (70,000 entries at N = 10,000); else a copy with each made one."""
    if all(type(v) is str for v in mapping.values()):
        return typing.cast(dict[str, str], mapping)
    return {str(k): str(v) for k, v in mapping.items()}


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold a build lock (the file ``lock_file``): two builds at once wait for each other."""
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_file.open("a")
    except OSError as exc:
        raise OutputError(_cache_unusable(lock_file, exc)) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cache_unusable(path: Path, exc: OSError) -> str:
    """Why a build cannot make ``path`` in the cache folder, and what to do."""
    return (
        f"{path}: cannot be made ({exc.strerror or exc}); a build keeps its lock and the files "
        f"it stages under {path.parent}, which must be a folder it can write"
    )


# A recorded file state: SHA-256 (32 bytes) + size, mtime_ns, ctime_ns, inode (8 bytes each).
_STATE = struct.Struct("<32s4q")
_STATE_ONLY = struct.Struct("<4q")
# Bump when the index's tables change meaning: an index of another format is read again.
INDEX_FORMAT = "runbook-output-index-1"
_BUFFER = 4096  # rows held before they go to the index
_LISTED = "digest IS NOT NULL OR pending IS NOT NULL"  # a row the manifest names
# An index row: (path, the manifest's digest, its pending digest, the recorded state).
_Row = tuple[str, str | None, str | None, bytes | None]


class Writer:
    """One build's (or, with ``dry_run``, one check's) view of ``out_dir``.

    :meth:`add_environment` each environment's files with their digests (or :meth:`add` a
    file alone); the files that change must then be given to :meth:`stage` (at once, or
    later). :meth:`commit` moves the staged files into place and removes the files of deleted
    environments: files in the old manifest that were not added, and are neither listed in
    ``keep`` nor in a folder given to :meth:`keep_folder`.

    Memory stays flat in the number of files: what is known of each file (the manifest's
    digests, the recorded state of the file on disk, this build's new digest when it differs)
    is in an SQLite file, ``index`` (in the cache folder; None: in memory), not in Python
    objects. The index mirrors the manifest: it is read again (:meth:`_mirror`) whenever the
    manifest's bytes are not those the index was made from (a pull, a merge, a killed build),
    and a build writes both, the index's rows and digest of the manifest in one transaction.
    Nothing is held per environment either: the folders added or kept go to the index too.
    """

    def __init__(
        self,
        out_dir: Path,
        staging: Path,
        index: Path | None = None,
        *,
        dry_run: bool = False,
    ) -> None:
        self.out_dir = out_dir
        self.staging = staging
        self.dry_run = dry_run
        self.report = WriteReport()
        self._prefix = os.path.join(out_dir, "")
        self._db = _open_index(index)
        # The manifest's SHA-256 (None: there is none), after the index was made to mirror it.
        self._manifest_digest = self._mirror()
        self._complete: list[tuple[str]] = []  # folders whose every file was added, to the index
        self._kept: list[tuple[str]] = []  # folders whose files stay as they are, to the index
        # Files the manifest lists in a complete folder that no longer has them:
        # (path, digest, pending digest, recorded state).
        self._gone: list[_Row] = []
        self._changes: list[tuple[str, str, bool, bool]] = []  # not yet in the index
        self._states: list[tuple[str, bytes | None]] = []  # not yet in the index
        self._block = bytearray(1 << 16)  # files read back are read into this
        self._unchanged = 0
        # Rows read ahead, by folder (see _rows).
        self._ahead: dict[str, list[_Row]] = {}
        if not dry_run:
            shutil.rmtree(staging, ignore_errors=True)  # a killed build's leftovers
            try:
                staging.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(_cache_unusable(staging, exc)) from None

    def add_environment(self, folder: str, digests: Mapping[str, str]) -> list[str]:
        """Record every file of ``folder`` (an environment's, below ``out_dir``) with the digest
        it should have (``digests``: {path relative to ``out_dir``: SHA-256}); the files the
        manifest lists in the folder and ``digests`` does not are removed at the commit. The
        files whose bytes on disk differ, to :meth:`stage`."""
        prefix = folder + "/"
        old = {rel: (known, pending, state) for rel, known, pending, state in self._rows(folder)}
        self._complete.append((folder,))
        if len(self._complete) >= _BUFFER:
            self._flush()
        changed = []
        for rel, new in digests.items():
            if not rel.startswith(prefix):
                raise ValueError(f"{rel!r} is not in {folder!r}")
            if self._add(rel, new, *old.pop(rel, (None, None, None))):
                changed.append(rel)
        self._gone += [(rel, *row) for rel, row in old.items() if row[0] or row[1]]
        return changed

    def _rows(self, folder: str) -> list[_Row]:
        """The index's rows of the files in ``folder``, read ahead: one query reads the rows
        that follow too, for the folders that come next (environments come in name order),
        so that a build of 1,000 environments makes a few queries, not 1,000."""
        rows = self._ahead.pop(folder, None)
        if rows is not None:
            return rows
        fetched = self._db.execute(
            "SELECT rel, digest, pending, state FROM files WHERE rel >= ? ORDER BY rel LIMIT ?",
            (folder + "/", _BUFFER),
        ).fetchall()
        self._ahead = {}
        for row in fetched:
            self._ahead.setdefault(row[0].partition("/")[0], []).append(row)
        if len(fetched) == _BUFFER:  # the last folder's rows may go on past the limit
            self._ahead.pop(fetched[-1][0].partition("/")[0])
        rows = self._ahead.pop(folder, None)
        if rows is None:  # cut off by the limit: this folder's rows alone
            rows = self._db.execute(
                "SELECT rel, digest, pending, state FROM files WHERE rel >= ? AND rel < ?",
                (folder + "/", folder + chr(ord("/") + 1)),
            ).fetchall()
        return rows

    def keep_folder(self, folder: str) -> None:
        """Leave the files of ``folder`` (an environment's) as they are: ``runbook build NAME``
        renders only NAME."""
        self._kept.append((folder,))
        if len(self._kept) >= _BUFFER:
            self._flush()

    def add(self, rel: str, new_digest: str) -> bool:
        """Record that ``rel`` (relative to ``out_dir``) should hold bytes with ``new_digest``;
        True when the file on disk differs (then :meth:`stage` its bytes)."""
        row = self._db.execute(
            "SELECT digest, pending, state FROM files WHERE rel = ?", (rel,)
        ).fetchone()
        self._changes.append((rel, new_digest, False, False))  # added (so not gone)
        return self._add(rel, new_digest, *(row or (None, None, None)))

    def _add(
        self, rel: str, new: str, known: str | None, pending: str | None, state: bytes | None
    ) -> bool:
        current = self._current_digest(rel, state)
        if current == new:
            self._unchanged += 1
            if new != known:  # on disk already (a killed build's, a merge's): listed now
                self._change(rel, new, moved=False, relisted=True)
            return False
        if current is not None and known is None and pending is None:
            problem = self.report.manifest_problem
            if problem is not None:  # the file may well be ours: say why we cannot tell
                manifest = self.out_dir / MANIFEST
                raise OutputError(
                    f"{self.out_dir / rel}: exists, and the manifest {manifest} (the list of "
                    f"the files runbook generated) {problem}; refusing to overwrite it: "
                    f"restore the manifest (e.g. `git checkout -- {manifest}`), or move the "
                    "file away"
                )
            raise OutputError(
                f"{self.out_dir / rel}: exists but was not generated by runbook; refusing to "
                "overwrite it (move it away, or rename the environment)"
            )
        self._change(rel, new, moved=True, relisted=new != known)
        return True

    def _change(self, rel: str, new: str, *, moved: bool, relisted: bool) -> None:
        self._changes.append((rel, new, moved, relisted))
        if len(self._changes) >= _BUFFER:
            self._flush()

    def stage(self, rel: str, data: bytes | Iterable[bytes]) -> None:
        """Write the new bytes of ``rel`` (which :meth:`add` said changes; or blocks of them) to
        the staging folder."""
        if self.dry_run:
            return
        _write_new(staged_name(self.staging, rel), data)

    def commit(self, keep: frozenset[str] = frozenset()) -> WriteReport:
        """Move every staged file into place, remove deleted environments' files, and write the
        manifest (see the module docstring for the order). With ``dry_run``, only report.
        Files the manifest lists that are in ``keep``, or in a folder given to
        :meth:`keep_folder`, stay as they are."""
        self._flush()
        db, report = self._db, self.report
        report.written = Paths(
            rel for (rel,) in db.execute("SELECT rel FROM changes WHERE moved ORDER BY rel")
        )
        changed = report.written
        relisted = db.execute("SELECT 1 FROM changes WHERE relisted LIMIT 1").fetchone() is not None
        has_pending = (
            db.execute("SELECT 1 FROM files WHERE pending IS NOT NULL LIMIT 1").fetchone()
            is not None
        )
        report.unchanged = self._unchanged
        gone = self._gone
        kept: list[tuple[str, str, str, bytes | None]] = []  # kept, with two digests
        # The files listed that this build did not add (an environment's files are added
        # together: the ones its folder no longer has are in self._gone already).
        for rel, known, pending, state, folder_kept in db.execute(
            "SELECT rel, digest, pending, state, instr(rel, '/') > 0 AND substr(rel, 1, "
            "instr(rel, '/') - 1) IN (SELECT folder FROM kept) FROM files WHERE "
            f"({_LISTED}) AND rel NOT IN (SELECT rel FROM changes) AND (instr(rel, '/') = 0 OR "
            "substr(rel, 1, instr(rel, '/') - 1) NOT IN (SELECT folder FROM complete)) ORDER BY rel"
        ):
            if rel in keep or folder_kept:
                if known is not None and pending is not None and known != pending:
                    kept.append((rel, known, pending, state))
                continue
            gone.append((rel, known, pending, state))
        gone.sort()
        # Before any file is written or removed: the folders a file goes into or leaves.
        self._check_folders(
            [rel for rel, *_ in gone] + [rel for rel, *_ in kept], changed.strings()
        )
        removed = report.removed
        for rel, known, pending, state in gone:
            current = self._current_digest(rel, state)
            if current is None:
                continue
            if current not in (known, pending):
                # Edited by hand since we wrote it: leave it, and drop it from the manifest.
                continue
            removed.append(rel)
        # Either digest of a kept file may be on disk (a killed build's, or a merge's two
        # sides): keep the one that is, so that deleting the environment later removes it.
        resolved = [
            (known if self._current_digest(rel, state) == known else pending, rel)
            for rel, known, pending, state in kept
        ]
        # The manifest is written again when it would say something else: it is committed
        # with the docs, so a check counts it stale then (one side of a merge's manifest kept,
        # say: the other side's files would be unknown to every later build).
        report.manifest_changes = bool(
            gone
            or relisted
            or has_pending
            or report.manifest_problem is not None
            or self._manifest_digest is None
        )
        if self.dry_run:
            self._flush()  # the states read, for the next build
            return report
        if changed or removed:
            # Record the intent, so a kill from here on leaves nothing unaccounted for: every
            # file with its old digest, and the new digest of each file about to change.
            _write_manifest(
                self.out_dir,
                db.execute(
                    f"SELECT rel, coalesce(digest, pending) FROM files WHERE {_LISTED} "
                    "UNION ALL SELECT c.rel, c.digest FROM changes c LEFT JOIN files f "
                    "ON f.rel = c.rel WHERE f.digest IS NULL AND f.pending IS NULL ORDER BY 1"
                ),
                db.execute("SELECT rel, digest FROM changes WHERE moved ORDER BY rel"),
            )
            if len(changed) <= FSYNC_EACH:
                for rel in changed.strings():
                    _fsync(staged_name(self.staging, rel))
            else:
                _sync_file_system(self.out_dir)
            # Strings, not paths: a cold build at N = 10,000 moves 70,000 files, and making two
            # Path objects for each cost about as much as the renames themselves.
            out_dir, staging = os.fspath(self.out_dir), os.fspath(self.staging)
            made = None  # the folder made last (the paths come in order)
            for rel in changed.strings():
                target = os.path.join(out_dir, rel)
                folder = os.path.dirname(target)
                if folder != made:
                    os.makedirs(folder, exist_ok=True)
                    made = folder
                _move_into_place(staged_name(staging, rel), target)
            for rel in removed.strings():
                (self.out_dir / rel).unlink(missing_ok=True)
                _remove_empty_parents((self.out_dir / rel).parent, self.out_dir)
        shutil.rmtree(self.staging, ignore_errors=True)
        _remove_manifest_temporaries(self.out_dir)
        if not (changed or removed or report.manifest_changes):
            self._flush()  # the states read: nothing else changes
            return report
        # The index becomes what is on disk now, and the manifest is written from it, in one
        # transaction: a kill leaves the old index, which no longer mirrors the manifest, and
        # is read again.
        db.execute("BEGIN IMMEDIATE")
        try:
            self._flush()
            db.executemany("DELETE FROM files WHERE rel = ?", ((rel,) for rel, *_ in gone))
            db.executemany("UPDATE files SET digest = ? WHERE rel = ?", resolved)
            if has_pending:
                db.execute("UPDATE files SET digest = pending WHERE digest IS NULL")
                db.execute("UPDATE files SET pending = NULL WHERE pending IS NOT NULL")
            db.execute(
                "INSERT INTO files (rel, digest) SELECT rel, digest FROM changes WHERE relisted "
                "ON CONFLICT (rel) DO UPDATE SET digest = excluded.digest"
            )
            # Files this build wrote are read back, and their state recorded, by the next.
            db.execute(
                "UPDATE files SET state = NULL WHERE rel IN (SELECT rel FROM changes WHERE moved)"
            )
            db.execute("DELETE FROM files WHERE digest IS NULL")
            self._manifest_digest = _write_manifest(
                self.out_dir, db.execute("SELECT rel, digest FROM files ORDER BY rel"), ()
            )
            _set_meta(db, "manifest", _mirrors(self._manifest_digest))
            _set_meta(db, "problem", "")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return report

    def _mirror(self) -> str | None:
        """Make the index mirror the manifest, reading the manifest only when its bytes are
        not those the index was made from; the manifest's SHA-256 (None: there is none)."""
        path = self.out_dir / MANIFEST
        found = _file_digest(path)
        recorded = _meta(self._db, "manifest")
        if recorded == _mirrors(found):
            self.report.manifest_problem = _meta(self._db, "problem") or None
            return found
        raw = _read(path)
        found = None if raw is None else digest(raw)
        manifest = _parse_manifest(raw)
        del raw
        self._check_listed(itertools.chain(manifest.files, manifest.pending))
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if recorded is None or not recorded.startswith(INDEX_FORMAT + " "):
                db.execute("DELETE FROM files")
            db.execute(f"UPDATE files SET digest = NULL, pending = NULL WHERE {_LISTED}")
            db.executemany(
                "INSERT INTO files (rel, digest) VALUES (?, ?) "
                "ON CONFLICT (rel) DO UPDATE SET digest = excluded.digest",
                manifest.files.items(),
            )
            db.executemany(
                "INSERT INTO files (rel, pending) VALUES (?, ?) "
                "ON CONFLICT (rel) DO UPDATE SET pending = excluded.pending",
                manifest.pending.items(),
            )
            db.execute(f"DELETE FROM files WHERE NOT ({_LISTED}) AND state IS NULL")
            _set_meta(db, "manifest", _mirrors(found))
            _set_meta(db, "problem", manifest.problem or "")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.report.manifest_problem = manifest.problem
        return found

    def _flush(self) -> None:
        """Move the rows held in memory into the index (in one transaction: the index is in
        autocommit mode, where each row of an ``executemany`` was a transaction of its own,
        appending its pages to the write-ahead log again)."""
        if self._db.in_transaction:
            self._flush_rows()
            return
        self._db.execute("BEGIN")
        try:
            self._flush_rows()
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _flush_rows(self) -> None:
        if self._changes:
            self._db.executemany(
                "INSERT OR REPLACE INTO changes VALUES (?, ?, ?, ?)", self._changes
            )
            self._changes = []
        if self._complete:
            self._db.executemany("INSERT OR IGNORE INTO complete VALUES (?)", self._complete)
            self._complete = []
        if self._kept:
            self._db.executemany("INSERT OR IGNORE INTO kept VALUES (?)", self._kept)
            self._kept = []
        if self._states:
            self._db.executemany(
                "INSERT INTO files (rel, state) VALUES (?, ?) "
                "ON CONFLICT (rel) DO UPDATE SET state = excluded.state",
                self._states,
            )
            self._states = []

    def _check_listed(self, listed: Iterable[str]) -> None:
        """Refuse a path the manifest lists that leads out of the output folder (a manifest
        runbook wrote never has one; a changed one could make a build remove any file whose
        bytes are known, such as ``../../mkdocs.yml``): before any file is read."""
        manifest = self.out_dir / MANIFEST
        outside = [rel for rel in listed if _not_inside(rel)]
        if outside:
            rel = min(outside)  # the first line that leads out
            raise OutputError(
                f"{manifest}: lists {rel!r}, which is not a path inside {self.out_dir}; "
                f"runbook never writes such a line: restore the manifest (e.g. `git "
                f"checkout -- {manifest}`), or delete it"
            )

    def _check_folders(self, listed: Iterable[str], made: Iterable[str]) -> None:
        """Refuse a symbolic link among the folders below the output folder that a file
        ``listed`` in the manifest (to be removed or kept) or ``made`` by this build is in (a
        file written or removed there could be anywhere), and a file where a folder of one
        ``made`` goes (found here, it stops the build before any file is written, not half-way
        through moving them). Each comes in path order: the folders seen are those below the
        current environment's."""
        for rels, making in ((listed, False), (made, True)):
            seen: set[str] = set()
            top = None
            for rel in rels:
                folder = rel.rpartition("/")[0]
                if folder.partition("/")[0] != top:
                    seen.clear()
                    top = folder.partition("/")[0]
                if not folder or folder in seen:
                    continue
                self._check_path(folder, seen, making, rel)

    def _check_path(self, folder: str, seen: set[str], making: bool, rel: str) -> None:
        """Check each folder from the output folder down to ``folder`` not in ``seen`` (see
        :meth:`_check_folders`); ``making``: ``rel`` is to be written there."""
        parts = folder.split("/")
        for depth in range(1, len(parts) + 1):
            below = "/".join(parts[:depth])
            if below in seen:
                continue
            seen.add(below)
            try:
                mode = os.lstat(self._prefix + below).st_mode
            except (FileNotFoundError, NotADirectoryError):
                break  # made by the build, as are the folders below it
            except OSError as exc:
                raise OutputError(f"{self.out_dir / below}: cannot read: {exc.strerror}") from None
            if stat.S_ISLNK(mode):
                raise OutputError(
                    f"{self.out_dir / below}: is a symbolic link; runbook writes and "
                    f"removes files only in real folders below {self.out_dir} "
                    "(replace the link with a folder)"
                )
            if making and not stat.S_ISDIR(mode):
                raise OutputError(
                    f"{self.out_dir / below}: is a file where runbook makes a folder (for "
                    f"{rel}); move the file away: runbook never overwrites a file it did "
                    "not make"
                )

    def abandon(self) -> None:
        """Drop what was staged (an invalid file turned up): the docs stay as they were."""
        if not self.dry_run:
            shutil.rmtree(self.staging, ignore_errors=True)

    def close(self) -> None:
        """Close the index (the states read so far are kept)."""
        with contextlib.suppress(sqlite3.Error):
            self._flush()
            self._db.close()

    def _current_digest(self, rel: str, recorded: bytes | None) -> str | None:
        """The SHA-256 of the file on disk (None: there is none), from its ``recorded`` state
        when the file's size, times and inode still match it."""
        path = self._prefix + rel
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise OutputError(f"{path}: cannot read: {exc.strerror}") from None
        state = _STATE_ONLY.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        if recorded is not None and len(recorded) == _STATE.size and recorded[32:] == state:
            return recorded[:32].hex()
        found = _hash_file(path, self._block)
        if found is None:
            return None
        if _settled(st):
            self._states.append((rel, found.digest() + state))
        elif recorded is not None:
            self._states.append((rel, None))
        if len(self._states) >= _BUFFER:
            self._flush()
        return found.hexdigest()


@contextlib.contextmanager
def index_errors(index: Path) -> Iterator[None]:
    """An error of the index's database (a full disk, a file another program holds locked) as
    an :class:`OutputError` naming the file: a message, not a traceback."""
    try:
        yield
    except sqlite3.Error as exc:
        raise OutputError(
            f"{index}: {exc} (the index of the generated files, kept in the cache: fix the "
            "cause, or delete the file, and build again)"
        ) from None


def _open_index(path: Path | None) -> sqlite3.Connection:
    """The index at ``path``, made or started again when it is not one (damaged: it is a
    cache); in memory when ``path`` is None or cannot be used (a read-only cache folder)."""
    db = None if path is None else open_database(path, _tables, timeout=60, isolation_level=None)
    if db is None:
        db = sqlite3.connect(":memory:", isolation_level=None)
        _tables(db)
    return db


def _tables(db: sqlite3.Connection) -> None:
    # After a power loss the index may lack its last transactions: it then mirrors an older
    # manifest than the one on disk, and is read again. (It is never ahead of the docs.)
    db.execute("PRAGMA synchronous=NORMAL")
    # files: the manifest's digest and pending digest of each file it lists (NULL: none),
    # and the state of the file on disk recorded when a build last read it (NULL: none).
    db.execute(
        "CREATE TABLE IF NOT EXISTS files (rel TEXT PRIMARY KEY, digest TEXT, pending TEXT,"
        " state BLOB) WITHOUT ROWID"
    )
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID")
    # This build's new digests that differ from the manifest's: moved (the file's bytes
    # change) and relisted (the manifest's digest changes).
    db.execute(
        "CREATE TEMP TABLE changes (rel TEXT PRIMARY KEY, digest TEXT NOT NULL,"
        " moved INTEGER NOT NULL, relisted INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE TEMP TABLE complete (folder TEXT PRIMARY KEY) WITHOUT ROWID")
    db.execute("CREATE TEMP TABLE kept (folder TEXT PRIMARY KEY) WITHOUT ROWID")


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _mirrors(manifest_digest: str | None) -> str:
    """What the index records of the manifest it mirrors: its format and the SHA-256."""
    return f"{INDEX_FORMAT} {manifest_digest or '-'}"


def _file_digest(path: Path) -> str | None:
    """The SHA-256 of the file at ``path``, read a block at a time (None: there is none)."""
    found = _hash_file(path, bytearray(1 << 20))
    return None if found is None else found.hexdigest()


def _hash_file(path: str | Path, buffer: bytearray) -> hashlib._Hash | None:
    """A SHA-256 object fed the bytes of the file at ``path``, read into ``buffer`` (None:
    there is none). Reading into one buffer, rather than a new bytes object per file, keeps
    a build that reads back 70,000 files from scattering the C heap."""
    found = hashlib.sha256()
    view = memoryview(buffer)
    try:
        with open(path, "rb", buffering=0) as handle:
            while size := handle.readinto(view):
                found.update(view[:size])
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as exc:
        raise OutputError(f"{path}: cannot read: {exc.strerror}") from None
    return found


def stage_changed(
    out_dir: Path, staging: Path, data: Mapping[str, bytes], digests: Mapping[str, str]
) -> list[str]:
    """Write to ``staging`` each file of ``data`` whose bytes differ from the file in
    ``out_dir`` (compared by reading it); the files staged. For worker processes: the build's
    :class:`Writer` then decides (:meth:`Writer.add`), and :meth:`Writer.commit` moves every
    changed file's staged copy into place, whoever staged it."""
    staged = []
    for rel, new in data.items():
        current = _read(out_dir / rel)
        if current is not None and digest(current) == digests[rel]:
            continue
        _write_new(staged_name(staging, rel), new)
        staged.append(rel)
    return staged


def staged_name(staging: Path | str, rel: str) -> str:
    """Where ``rel`` is staged: one flat folder (creating a folder per environment both there
    and in docs/ was a large part of a cold build); "%" is in no generated file's name."""
    return os.path.join(staging, rel.replace("/", "%"))


def _write_new(name: str, data: bytes | Iterable[bytes]) -> None:
    """Write a staged file, from its bytes or blocks of them (raises :class:`OutputError`, e.g.
    on a full disk)."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            for block in [data] if isinstance(data, bytes) else data:
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write {name}: {exc.strerror or exc}") from None


def _settled(st: os.stat_result) -> bool:
    """Whether a file has been left alone long enough for a later edit to get other times."""
    latest = max(st.st_mtime_ns, st.st_ctime_ns)
    tick = 1
    while tick < 1_000_000_000 and latest % (tick * 10) == 0:
        tick *= 10  # times that are whole milliseconds or seconds: a coarser file system
    if latest % 2_000_000_000 == 0:
        tick = 2_000_000_000
    return latest < time.time_ns() - max(SETTLED_NS, 2 * tick + tick // 4)


def _move_into_place(staged: str, target: str) -> None:
    try:
        os.replace(staged, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # EXDEV: the cache is on another file system than docs/
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
        write_atomic(Path(target), Path(staged).read_bytes())


def write_atomic(target: Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or chunks of them) to a temporary file beside ``target``, sync it
    and move it into place:
    a reader sees the old file or the new one, never half of one. Raises
    :class:`OutputError` (not a bare ``OSError``) when the file cannot be written."""
    try:
        tmp = _stage(target, data)
        try:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


def _stage(target: Path, data: bytes | Iterable[bytes]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                handle.writelines(data)
        os.chmod(tmp, 0o644)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def _fsync(name: str) -> None:
    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs() -> typing.Any:
    """The C library's ``syncfs`` (None where there is none). The C library is linked into the
    interpreter, so its symbols are found without searching for the library (which ran a
    program); ctypes is imported here, as most builds sync a few files one by one."""
    import ctypes

    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    except OSError:
        return None


def _sync_file_system(folder: Path) -> None:
    """Flush the file system that holds ``folder`` (syncfs), so renames never expose empty
    files after a power loss; falls back to sync() where syncfs is unavailable."""
    syncfs = _syncfs()
    if syncfs is None:
        os.sync()
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _write_manifest(
    out_dir: Path, files: Iterable[tuple[str, str]], pending: Iterable[tuple[str, str]]
) -> str:
    """Write the manifest from (path, digest) pairs in order, a block of lines at a time (it
    has 70,000 lines for 10,000 environments): what json.dumps(document, indent=1) would
    write, without the slow pure-Python indenter. The SHA-256 of what was written."""
    written = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        yield b'{\n "generator": "runbook"'
        for title, entries in (("files", files), ("pending", pending)):
            opening: str | None = f',\n "{title}": {{\n'
            lines: list[str] = []
            for rel, value in entries:
                lines.append(f"  {_json_string(rel)}: {_json_string(value)}")
                if len(lines) == _BLOCK:
                    # Joined and encoded a block of lines at a time: a line at a time was
                    # most of the cost.
                    yield ((opening or ",\n") + ",\n".join(lines)).encode()
                    opening, lines = None, []
            if lines:
                yield ((opening or ",\n") + ",\n".join(lines)).encode()
                opening = None
            if opening is None:
                yield b"\n }"
            elif title == "files":
                yield b',\n "files": {}'
        yield b"\n}\n"

    def hashed() -> Iterator[bytes]:
        for chunk in chunks():
            written.update(chunk)
            yield chunk

    write_atomic(out_dir / MANIFEST, hashed())
    return written.hexdigest()


# json.dumps(text) for a str, without its per-call overhead (the C encoder json.dumps uses).
_json_string = json.encoder.encode_basestring_ascii
_BLOCK = 4096  # manifest lines joined and encoded at once


def _remove_manifest_temporaries(out_dir: Path) -> None:
    """Remove the temporary files a killed build left beside the manifest (only those)."""
    try:
        names = os.listdir(out_dir)
    except OSError:
        return
    for name in names:
        match = _TEMPORARY.match(name)
        if match is not None and match["name"] == MANIFEST:
            with contextlib.suppress(OSError):
                (out_dir / name).unlink()


def _not_inside(rel: str) -> bool:
    """Whether ``rel`` is not a plain relative path: an empty part (a leading, doubled or
    trailing /), a . or .. part, or a NUL. (String tests first: a build may ask for 70,000.)"""
    if not rel or rel[0] == "/" or rel[-1] == "/" or "//" in rel or "\0" in rel:
        return True
    if rel[0] != "." and "/." not in rel:
        return False
    return any(part in (".", "..") for part in rel.split("/"))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as exc:
        raise OutputError(f"{path}: cannot read: {exc.strerror}") from None


def _remove_empty_parents(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_relative_to(stop):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
