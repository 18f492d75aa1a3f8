"""Generated files on disk: only changed ones, atomically, never a file runbook did not make.

The manifest (``docs/environments/.runbook-manifest.json``, committed with the docs) lists
each file runbook wrote with its SHA-256. A build stages every changed file, and only once
every environment is valid writes a pending manifest (old and new digests), moves the staged
files into place with ``os.replace`` and writes the final manifest: killed at any moment,
each file is old or new, and the next build repairs the rest.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import filelock

from generator.errors import OutputError

MANIFEST = ".runbook-manifest.json"
CONFLICTS = "has merge conflicts"
# A line git writes around the sides of a conflict (<<<<<<<, ||||||| with diff3, =======, >>>>>>>).
_CONFLICT_MARKER = re.compile(rb"^(?:<{7}|\|{7}|={7}|>{7})(?: |\r?$)", re.M)
_ENTRY = re.compile(rb'^ *("(?:[^"\\\r\n]|\\.)*"): "([0-9a-f]{64})",?\r?$', re.M)


def digest(data: bytes) -> str:
    """SHA-256 of ``data`` as hex."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class Manifest:
    """The files the last build made, {path below the output folder: SHA-256}; ``pending``:
    the other digest some may have (a killed build's, or the other side of a git merge)."""

    files: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # why it was not read as written (None: it was, or is absent)

    def listed(self, rel: str) -> bool:
        return rel in self.files or rel in self.pending

    def holds(self, rel: str, found: str | None) -> bool:
        """Whether ``found`` (a file's digest) is one the manifest gives ``rel``."""
        return found is not None and found in (self.files.get(rel), self.pending.get(rel))


def read_manifest(out_dir: Path) -> Manifest:
    """The manifest of ``out_dir``; one with git's conflict markers is read as every file
    either side lists. A path that leads out of ``out_dir`` is refused before anything is read."""
    path = out_dir / MANIFEST
    raw = _read(path)
    manifest = Manifest() if raw is None else _parse(raw)
    outside = sorted(rel for rel in (*manifest.files, *manifest.pending) if not _plain(rel))
    if outside:
        raise OutputError(
            f"{_shown(path)}: lists {outside[0]!r}, which is not a path inside "
            f"{_shown(out_dir)}; runbook never writes such a line: restore the manifest (e.g. "
            f"`git checkout -- {_shown(path)}`), or delete it"
        )
    return manifest


def _parse(raw: bytes) -> Manifest:
    try:
        data = json.loads(raw)
        return Manifest(_strings(data["files"]), _strings(data.get("pending", {})))
    except json.JSONDecodeError as exc:
        problem = f"cannot be read: line {exc.lineno}: {exc.msg}"
    except UnicodeDecodeError:
        problem = "cannot be read: it is not UTF-8 text"
    except (ValueError, KeyError, TypeError, AttributeError):
        problem = "cannot be read: it does not list the generated files"
    if not _CONFLICT_MARKER.search(raw):
        return Manifest(problem=problem)
    # Every side's lines are between the markers; a file changed on both sides may hold either.
    manifest = Manifest(problem=CONFLICTS)
    for match in _ENTRY.finditer(raw):
        with contextlib.suppress(ValueError):
            rel, found = json.loads(match[1]), match[2].decode()
            if manifest.files.setdefault(rel, found) != found:
                manifest.pending.setdefault(rel, found)
    return manifest


def _strings(mapping: dict[object, object]) -> dict[str, str]:
    return {str(key): str(value) for key, value in mapping.items()}


def write_manifest(out_dir: Path, files: Mapping[str, str], pending: Mapping[str, str]) -> None:
    """Write the manifest as ``json.dumps(document, indent=1)`` would (its encoder, without the
    slow pure-Python indenting), line by line: it lists every generated file."""

    def lines() -> Iterator[bytes]:
        yield b'{\n "generator": "runbook"'
        for title, entries in (("files", files), ("pending", pending)):
            if entries or title == "files":
                yield f',\n "{title}": {{'.encode() if entries else f',\n "{title}": {{}}'.encode()
                for i, rel in enumerate(sorted(entries)):
                    comma = "," if i else ""
                    yield f"{comma}\n  {_json(rel)}: {_json(entries[rel])}".encode()
                if entries:
                    yield b"\n }"
        yield b"\n}\n"

    write_atomic(out_dir / MANIFEST, lines())


_json = json.encoder.encode_basestring_ascii


@dataclass
class WriteReport:
    """What a build did (a check: would do), paths below the output folder, with ``/``."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    manifest_problem: str | None = None
    manifest_changes: bool = False  # a build writes the manifest again; a check counts it stale

    @property
    def stale(self) -> list[str]:
        found = [*self.written, *self.removed]
        found += [MANIFEST] if self.manifest_changes else []
        return sorted(found, key=lambda path: path.split("/"))


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold the build lock: two builds at once wait for each other."""
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(lock_file)
        lock.acquire()
    except (OSError, filelock.Timeout) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise OutputError(
            f"{_shown(lock_file)}: cannot be made ({reason}); a build keeps its lock and the "
            f"files it stages under {_shown(lock_file.parent)}, which must be a folder it can write"
        ) from None
    try:
        yield
    finally:
        lock.release()


class Writer:
    """One build's changes to ``out_dir`` (a check's, with ``check``: nothing is written).

    :meth:`add` each environment's files by digest, :meth:`keep` the folders of environments
    not rendered, then :meth:`commit`. Files the manifest lists that no environment made any
    more are removed, unless they were edited by hand since."""

    def __init__(self, out_dir: Path, staging: Path, *, check: bool = False) -> None:
        self.out_dir, self.staging, self.check = out_dir, staging, check
        self.manifest = read_manifest(out_dir)
        self.made: dict[str, str] = {}  # every file of this build: its digest
        self.kept: set[str] = set()
        self.report = WriteReport(manifest_problem=self.manifest.problem)
        if not check:
            shutil.rmtree(staging, ignore_errors=True)  # a killed build's
            try:
                staging.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"{_shown(staging)}: cannot be made ({exc.strerror})") from None

    def add(self, digests: Mapping[str, str], texts: Callable[[], Mapping[str, str]]) -> None:
        """Record files by digest; those whose bytes on disk differ are staged from ``texts()``."""
        changed = [rel for rel, new in digests.items() if self._differs(rel, new)]
        self.made.update(digests)
        if changed and not self.check:
            data = texts()
            for rel in changed:
                _write_file(Path(self.staging, rel.replace("/", "%")), data[rel].encode())
        self.report.written += changed

    def keep(self, folder: str) -> None:
        """Leave the files of ``folder`` as they are (``runbook build NAME`` renders NAME only)."""
        self.kept.add(folder)

    def _differs(self, rel: str, new: str) -> bool:
        current = _file_digest(os.path.join(self.out_dir, rel))
        if current == new:
            self.report.unchanged += 1
            return False
        if current is not None and not self.manifest.listed(rel):
            raise OutputError(self._not_ours(rel))
        return True

    def _not_ours(self, rel: str) -> str:
        target, manifest = _shown(self.out_dir / rel), _shown(self.out_dir / MANIFEST)
        if self.manifest.problem is None:
            return (
                f"{target}: exists but was not generated by runbook; refusing to overwrite it "
                "(move it away, or rename the environment)"
            )
        return (
            f"{target}: exists, and the manifest {manifest} (the list of the files runbook "
            f"generated) {self.manifest.problem}; refusing to overwrite it: restore the "
            f"manifest (e.g. `git checkout -- {manifest}`), or move the file away"
        )

    def commit(self) -> WriteReport:
        """Move the staged files into place, remove the files of deleted environments and write
        the manifest (a check only reports)."""
        report, manifest = self.report, self.manifest
        final = self.made  # and the kept files of environments not rendered
        removed: list[str] = []
        for rel in sorted({*manifest.files, *manifest.pending} - self.made.keys()):
            if rel.partition("/")[0] in self.kept and "/" in rel:
                final[rel] = self._kept_digest(rel)
            elif manifest.holds(rel, _file_digest(self.out_dir / rel)):
                removed.append(rel)  # else edited by hand since, or gone: left, and unlisted
        report.removed = removed
        written = report.written
        report.manifest_changes = bool(
            final != manifest.files or manifest.pending or manifest.problem
        )
        _check_folders(self.out_dir, written, removed)
        if self.check:
            return report
        if written or removed:  # a kill from here on leaves no file of ours unlisted
            pending = {rel: final[rel] for rel in written}
            write_manifest(self.out_dir, {**pending, **manifest.pending, **manifest.files}, pending)
        for rel in written:
            _move(Path(self.staging, rel.replace("/", "%")), self.out_dir / rel)
        for rel in removed:
            (self.out_dir / rel).unlink(missing_ok=True)
            _remove_empty_folders((self.out_dir / rel).parent, self.out_dir)
        if written or removed or report.manifest_changes:  # the pending one goes
            write_manifest(self.out_dir, final, {})
        self.abandon()
        _remove_temporaries(self.out_dir)
        return report

    def _kept_digest(self, rel: str) -> str:
        """A kept file's digest: of two (a merge's sides), the one on disk."""
        files, pending = self.manifest.files.get(rel), self.manifest.pending.get(rel)
        if files is None or (pending is not None and _file_digest(self.out_dir / rel) == pending):
            return pending or ""
        return files

    def abandon(self) -> None:
        """Drop what was staged: the docs stay as they were."""
        if not self.check:
            shutil.rmtree(self.staging, ignore_errors=True)


def _check_folders(out_dir: Path, written: Iterable[str], removed: Iterable[str]) -> None:
    """Refuse, before anything is written, a link among the folders a file goes into or leaves
    (it could lead anywhere), and a file where a folder goes."""
    seen: set[tuple[str, bool]] = set()
    for rels, making in ((removed, False), (written, True)):
        for rel in rels:
            parts = rel.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if (folder, making) in seen:
                    continue
                seen.add((folder, making))
                path = out_dir / folder
                if path.is_symlink():
                    raise OutputError(
                        f"{_shown(path)}: is a symbolic link; runbook writes and removes files "
                        f"only in real folders below {_shown(out_dir)} (replace the link with a "
                        "folder)"
                    )
                if not path.exists():
                    break  # made by the build, with the folders below it
                if making and not path.is_dir():
                    raise OutputError(
                        f"{_shown(path)}: is a file where runbook makes a folder (for {rel}); "
                        "move the file away: runbook never overwrites a file it did not make"
                    )


def write_atomic(target: Path, data: bytes | Iterable[bytes], *, sync: bool = True) -> None:
    """Write ``data`` (bytes, or its pieces) beside ``target`` and move it into place: a reader
    sees the old file or the new one, never half of one. ``sync``: on disk before it is moved
    (not for site/)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.writelines([data] if isinstance(data, bytes) else data)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {_shown(target)}: {exc.strerror or exc}") from None


def _write_file(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise OutputError(f"cannot write {_shown(path)}: {exc.strerror or exc}") from None


def _move(staged: Path, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # the cache on another file system than docs/
            raise OutputError(f"cannot write {_shown(target)}: {exc.strerror or exc}") from None
        write_atomic(target, staged.read_bytes())


def _file_digest(path: str | Path) -> str | None:
    """The SHA-256 of the file at ``path``; None when there is none."""
    try:
        with open(path, "rb", buffering=0) as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as exc:
        raise OutputError(f"{_shown(Path(path))}: cannot read: {exc.strerror}") from None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as exc:
        raise OutputError(f"{_shown(path)}: cannot read: {exc.strerror}") from None


def _plain(rel: str) -> bool:
    """Whether ``rel`` is a plain relative path: no empty, ``.`` or ``..`` part, no NUL."""
    return (
        bool(rel)
        and "\0" not in rel
        and "\\" not in rel
        and all(part not in ("", ".", "..") for part in rel.split("/"))
    )


def _remove_empty_folders(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_relative_to(stop):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _remove_temporaries(out_dir: Path) -> None:
    """Remove the temporary manifests a killed build left (only those)."""
    for path in out_dir.glob(f".{MANIFEST}.*.tmp"):
        path.unlink(missing_ok=True)


def _shown(path: Path) -> str:
    return path.as_posix()
