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
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import struct
import tempfile
import time
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

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
    """Paths kept as the strings they came as (a cold build of 10,000 environments writes
    70,000 files: as PurePosixPath objects they were 20 MB); each made a path when read."""

    def __init__(self, rels: Iterable[str] = ()) -> None:
        self.rels = list(rels)

    def __len__(self) -> int:
        return len(self.rels)

    @typing.overload
    def __getitem__(self, index: int) -> PurePosixPath: ...
    @typing.overload
    def __getitem__(self, index: slice) -> Paths: ...
    def __getitem__(self, index: int | slice) -> PurePosixPath | Paths:
        if isinstance(index, slice):
            return Paths(self.rels[index])
        return PurePosixPath(self.rels[index])

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
    """The manifest as the last build left it; a manifest whose lines two git branches both
    changed (the catalogue's digest changes whenever an environment is added or edited) as
    every file that either side (or their base) lists."""
    try:
        raw = (out_dir / MANIFEST).read_bytes()
    except OSError:
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
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# {relative path: SHA-256 (32 bytes) + size, mtime_ns, ctime_ns, inode (8 bytes each)}: one
# small bytes object per file, as 70,000 tuples of six objects were the largest thing a warm
# build of 10,000 environments held.
Stats = dict[str, bytes]
_STATE = struct.Struct("<32s4q")
_STATE_ONLY = struct.Struct("<4q")


class Writer:
    """One build's (or, with ``dry_run``, one check's) view of ``out_dir``.

    :meth:`add` each generated file's digest; when it returns True, the file changes and
    :meth:`stage` must be given its bytes (at once, or later). :meth:`commit` then moves the
    staged files into place and removes the files of deleted environments; files in the old
    manifest that were neither added nor listed in ``keep`` are removed. ``stats`` are the
    recorded file states (see the module docstring); :attr:`stats` holds the new ones after
    the commit. Memory: a digest per file, never a file's text beyond the one being staged.
    """

    def __init__(
        self, out_dir: Path, staging: Path, stats: Stats | None = None, *, dry_run: bool = False
    ) -> None:
        self.out_dir = out_dir
        self.staging = staging
        self.dry_run = dry_run
        self.report = WriteReport()
        # What the last build left: its files' digests and, if it was killed while replacing
        # files, the digests some of them may have already.
        manifest = _read_manifest(out_dir)
        self.known, self.pending = manifest.files, manifest.pending
        self.report.manifest_problem = manifest.problem
        self.stats: Stats = stats if stats is not None else {}
        self._prefix = os.path.join(out_dir, "")
        self.digests: dict[str, str] = {}
        self._unchanged = 0
        self._changed: list[str] = []
        if not dry_run:
            shutil.rmtree(staging, ignore_errors=True)  # a killed build's leftovers
            staging.mkdir(parents=True, exist_ok=True)

    def add(self, rel: str, new_digest: str) -> bool:
        """Record that ``rel`` (relative to ``out_dir``) should hold bytes with ``new_digest``;
        True when the file on disk differs (then :meth:`stage` its bytes)."""
        if self.known.get(rel) == new_digest:  # keep the manifest's equal string, not a second
            new_digest = self.known[rel]  # copy (70,000 of them, 8 MB, at N = 10,000)
        self.digests[rel] = new_digest
        current = self._current_digest(rel)
        if current == new_digest:
            self._unchanged += 1
            return False
        if current is not None and rel not in self.known and rel not in self.pending:
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
        self._changed.append(rel)
        return True

    def stage(self, rel: str, data: bytes) -> None:
        """Write the new bytes of ``rel`` (which :meth:`add` said changes) to the staging folder."""
        if self.dry_run:
            return
        _write_new(staged_name(self.staging, rel), data)

    def commit(self, keep: frozenset[str] = frozenset()) -> WriteReport:
        """Move every staged file into place, remove deleted environments' files, and write the
        manifest (see the module docstring for the order). With ``dry_run``, only report."""
        report, known, pending = self.report, self.known, self.pending
        self._changed.sort()
        report.written = Paths(self._changed)
        report.unchanged = self._unchanged
        removed = report.removed.rels
        gone = {rel for rel in known if rel not in self.digests and rel not in keep}
        gone.update(rel for rel in pending if rel not in self.digests and rel not in keep)
        # Before any file is read, written or removed: paths from the manifest (the files
        # this build did not make) and every folder a file goes into or leaves.
        self._check_paths(sorted(gone | keep), self._changed)
        for rel in sorted(gone):
            current = self._current_digest(rel)
            if current is None:
                continue
            if current not in (known.get(rel), pending.get(rel)):
                # Edited by hand since we wrote it: leave it, and drop it from the manifest.
                continue
            removed.append(rel)

        final = self.digests
        for rel in keep:
            if rel in pending and rel in known and pending[rel] != known[rel]:
                # Either digest may be on disk (a killed build's, or a merge's two sides):
                # keep the one that is, so that deleting the environment later removes it.
                current = self._current_digest(rel)
                final[rel] = current if current == known[rel] else pending[rel]
            elif rel in pending or rel in known:
                final[rel] = pending.get(rel) or known[rel]
        # The manifest is written again when it would say something else: it is committed
        # with the docs, so a check counts it stale then (one side of a merge's manifest kept,
        # say: the other side's files would be unknown to every later build).
        report.manifest_changes = bool(
            pending
            or final != known
            or report.manifest_problem is not None
            or not (self.out_dir / MANIFEST).exists()
        )
        if self.dry_run:
            return report
        changed = self._changed  # sorted above
        if changed or removed:
            # Record the intent, so a kill from here on leaves nothing unaccounted for: every
            # file with its old digest, and the new digest of each file about to change.
            _write_manifest(
                self.out_dir,
                _Before(known, pending, final),
                _Only(final, changed),
            )
            if len(changed) <= FSYNC_EACH:
                for rel in changed:
                    _fsync(staged_name(self.staging, rel))
            else:
                _sync_file_system(self.out_dir)
            made: set[Path] = set()
            for rel in changed:
                target = self.out_dir / rel
                if target.parent not in made:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    made.add(target.parent)
                _move_into_place(Path(staged_name(self.staging, rel)), target)
            for rel in removed:
                (self.out_dir / rel).unlink(missing_ok=True)
                self.stats.pop(rel, None)
                _remove_empty_parents((self.out_dir / rel).parent, self.out_dir)
        shutil.rmtree(self.staging, ignore_errors=True)
        _remove_manifest_temporaries(self.out_dir)
        # The manifest of what is on disk now (unless it says so already).
        if changed or removed or report.manifest_changes:
            _write_manifest(self.out_dir, final, {})
        for rel in [*changed, *(rel for rel in self.stats if rel not in final)]:
            self.stats.pop(rel, None)  # read back, and recorded, by the next build
        return report

    def _check_paths(self, listed: Sequence[str], made: Sequence[str]) -> None:
        """Refuse a path ``listed`` in the manifest that leads out of the output folder (a
        manifest runbook wrote never has one; a changed one could make a build remove any file
        whose bytes are known, such as ``../../mkdocs.yml``), and a symbolic link among the
        folders below the output folder that a file ``listed`` or ``made`` (by this build) is
        in (a file written or removed there could be anywhere)."""
        manifest = self.out_dir / MANIFEST
        for rel in listed:
            if _not_inside(rel):
                raise OutputError(
                    f"{manifest}: lists {rel!r}, which is not a path inside {self.out_dir}; "
                    f"runbook never writes such a line: restore the manifest (e.g. `git "
                    f"checkout -- {manifest}`), or delete it"
                )
        seen: set[str] = set()
        for rel in (*listed, *made):
            folder = rel.rpartition("/")[0]
            if not folder or folder in seen:
                continue
            parts = folder.split("/")
            for depth in range(1, len(parts) + 1):
                below = "/".join(parts[:depth])
                if below not in seen:
                    seen.add(below)
                    if os.path.islink(self._prefix + below):
                        raise OutputError(
                            f"{self.out_dir / below}: is a symbolic link; runbook writes and "
                            f"removes files only in real folders below {self.out_dir} "
                            "(replace the link with a folder)"
                        )

    def abandon(self) -> None:
        """Drop what was staged (an invalid file turned up): the docs stay as they were."""
        if not self.dry_run:
            shutil.rmtree(self.staging, ignore_errors=True)

    def _current_digest(self, rel: str) -> str | None:
        """The SHA-256 of the file on disk (None: there is none), from the recorded state when
        the file's size, times and inode still match it."""
        path = self._prefix + rel
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise OutputError(f"{path}: cannot read: {exc.strerror}") from None
        state = _STATE_ONLY.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        recorded = self.stats.get(rel)
        if recorded is not None and len(recorded) == _STATE.size and recorded[32:] == state:
            return recorded[:32].hex()
        data = _read(Path(path))
        if data is None:
            return None
        found = hashlib.sha256(data)
        if _settled(st):
            self.stats[rel] = found.digest() + state
        else:
            self.stats.pop(rel, None)
        return found.hexdigest()


class _Before(Mapping[str, str]):
    """Every file of a pending write with its digest before the write (the new digest for a
    new file): ``collections.ChainMap(known, pending, final)`` without the dict of all keys
    that ChainMap builds to iterate."""

    def __init__(self, known: dict[str, str], pending: dict[str, str], final: dict[str, str]):
        self._maps = (known, pending, final)

    def __getitem__(self, rel: str) -> str:
        for digests in self._maps:
            if rel in digests:
                return digests[rel]
        raise KeyError(rel)

    def __iter__(self) -> Iterator[str]:
        known, pending, final = self._maps
        yield from final
        yield from (rel for rel in known if rel not in final)
        yield from (rel for rel in pending if rel not in final and rel not in known)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Only(Mapping[str, str]):
    """``{rel: digests[rel] for rel in rels}`` (``rels`` sorted) without building that dict:
    in a cold build it names every file (5 MB more at the commit, at N = 10,000)."""

    def __init__(self, digests: Mapping[str, str], rels: list[str]) -> None:
        self._digests = digests
        self._rels = rels

    def __getitem__(self, rel: str) -> str:
        at = bisect.bisect_left(self._rels, rel)
        if at == len(self._rels) or self._rels[at] != rel:
            raise KeyError(rel)
        return self._digests[rel]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rels)

    def __len__(self) -> int:
        return len(self._rels)


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


def _write_new(name: str, data: bytes) -> None:
    """Write a staged file (raises :class:`OutputError`, e.g. on a full disk)."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
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


def _move_into_place(staged: Path, target: Path) -> None:
    try:
        os.replace(staged, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # EXDEV: the cache is on another file system than docs/
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
        write_atomic(target, staged.read_bytes())


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


def _sync_file_system(folder: Path) -> None:
    """Flush the file system that holds ``folder`` (syncfs), so renames never expose empty
    files after a power loss; falls back to sync() where syncfs is unavailable."""
    libc_name = ctypes.util.find_library("c")
    syncfs = getattr(ctypes.CDLL(libc_name, use_errno=True), "syncfs", None) if libc_name else None
    if syncfs is None:
        os.sync()
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _write_manifest(out_dir: Path, files: Mapping[str, str], pending: Mapping[str, str]) -> None:
    """Write the manifest, a line at a time (it has 70,000 lines for 10,000 environments): what
    json.dumps(document, indent=1) would write, without the slow pure-Python indenter."""

    def chunks() -> Iterator[bytes]:
        yield b'{\n "generator": "runbook"'
        for title, entries in (("files", files), *([("pending", pending)] if pending else [])):
            if not entries:
                yield f',\n "{title}": {{}}'.encode()
                continue
            yield f',\n "{title}": {{\n'.encode()
            # Joined and encoded a block of lines at a time: a line at a time was most of
            # the cost. (The paths alone are sorted: (path, digest) pairs were 4 MB more.)
            ordered, digest_of = sorted(entries), entries.__getitem__
            for start in range(0, len(ordered), _BLOCK):
                lines = ",\n".join(
                    [
                        f"  {_json_string(rel)}: {_json_string(digest_of(rel))}"
                        for rel in ordered[start : start + _BLOCK]
                    ]
                )
                yield (",\n" + lines if start else lines).encode()
            del ordered
            yield b"\n }"
        yield b"\n}\n"

    write_atomic(out_dir / MANIFEST, chunks())


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
