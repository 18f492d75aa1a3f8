"""Environment files → validated :class:`EnvironmentSpec`, every problem located.

The stages: read bytes → decode → parse (positions kept) → scan for secrets → validate the
shape (pydantic) → cross-field rules → certificate. All problems of a file are collected;
a file with any error yields no environment.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from generator import certificates, names, rules, yamlsource
from generator.errors import Diagnostic, InputError
from generator.model import EnvironmentSpec
from generator.sources import (
    MAX_BYTES,
    display_path,
    named,
    private_key_files,
    same_name,
    unknown_name,
)
from generator.yamlsource import Document, KeyPath, Position

_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?$|^pwd$|secret|token|api[_-]?key|credential|private[_-]?key|"
    r"^(pfx|pin|psk)$|_pass$|^auth(entication)?$|^key$",
    re.I,
)
_PRIVATE_KEY_TEXT = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
# A line git writes around the two sides of a conflicting change (and, with diff3, the base):
# at the start of a line, where in YAML it could only be an error.
_CONFLICT_MARKER = re.compile(r"^(?:<{7}|\|{7}|={7}|>{7})(?: [^\r\n]*)?\r?$", re.M)


# The certificates an environment file names, read, by key; and their files.
Read = tuple[dict[str, certificates.CertificateInfo], dict[str, Path]]


@dataclass(frozen=True)
class LoadedEnvironment:
    """A valid environment: its name, where it came from, its data and certificates."""

    name: str
    path: Path
    spec: EnvironmentSpec
    warnings: tuple[Diagnostic, ...] = field(default=())
    # Every certificate read from a file, by key ("exchange.auth_certificate"), and the files.
    all_certificates: dict[str, certificates.CertificateInfo] = field(default_factory=dict)
    certificate_paths: dict[str, Path] = field(default_factory=dict)


def load_named(root: Path, name: str, today: dt.date) -> LoadedEnvironment:
    """The environment ``name`` of the project at ``root``; :class:`InputError` if there is no
    such (valid) environment."""
    folder = root / "environments"
    try:
        names.environment_name(name)
    except ValueError as exc:
        raise InputError([Diagnostic(display_path(folder), 1, 1, str(exc))]) from None
    paths = named(folder, name)
    if not paths:
        raise InputError([unknown_name(root, name)])
    if len(paths) > 1:
        raise InputError(same_name(paths))
    path = paths[0]
    env, diagnostics = load(path, root, today)
    if env is None:
        raise InputError(diagnostics)
    return env


def load_all(
    paths: Iterable[Path], project: Path, today: dt.date
) -> tuple[list[LoadedEnvironment], list[Diagnostic]]:
    """Load every file; return the valid environments and every diagnostic of every file."""
    loaded, diagnostics = [], []
    for path in paths:
        env, found = load(path, project, today)
        diagnostics.extend(found)
        if env is not None:
            loaded.append(env)
    return loaded, diagnostics + private_key_files(project, diagnostics)


def load(
    path: Path, project: Path, today: dt.date
) -> tuple[LoadedEnvironment | None, list[Diagnostic]]:
    """Load one environment file: (the environment or None, its errors and warnings)."""
    at = _Located(display_path(path))
    try:
        names.environment_name(path.stem)
    except ValueError as exc:
        at.error(Position(1, 1), str(exc))
    parsed = _parse(path, project, at)
    if parsed is None:
        return None, at.found
    doc, spec, (read, paths) = parsed
    for key_path, message, severity in rules.check(spec, read, today):
        code = "certificate" if ".".join(map(str, key_path[:2])) in rules.CERTIFICATES else ""
        at.found.append(
            at(doc.position(key_path), f"{_dotted(key_path)}: {message}", severity, code)
        )
    if any(d.severity == "error" for d in at.found):
        return None, at.found
    env = LoadedEnvironment(path.stem, path, spec, tuple(at.found), read, paths)
    return env, at.found


def expiries(path: Path, project: Path) -> list[tuple[str, dt.date, str]]:
    """The known certificate expiries of one environment file, even when the file has
    errors (an expired certificate is one): ``runbook due`` must list it."""
    parsed = _parse(path, project, _Located(display_path(path)))
    if parsed is None:
        return []
    _, spec, (read, _) = parsed
    return rules.expiries(spec, read)


def _parse(
    path: Path, project: Path, at: _Located
) -> tuple[Document, EnvironmentSpec, Read] | None:
    """The file's document, its model, and the certificates it names, read (with their
    paths); None when the file or its model is unusable (``at`` holds why)."""
    doc = _document(path, project, at)
    spec = _spec(doc, at) if doc is not None else None
    if doc is None or spec is None:
        return None
    return doc, spec, _certificates(spec, path, project, doc, at)


class _Located:
    """The diagnostics of one file, each located in it."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.found: list[Diagnostic] = []

    def __call__(
        self, position: Position, message: str, severity: str = "error", code: str = ""
    ) -> Diagnostic:
        return Diagnostic(self.shown, position.line, position.column, message, severity, code)  # type: ignore[arg-type]

    def error(self, position: Position, message: str, code: str = "") -> None:
        self.found.append(self(position, message, code=code))


def _document(path: Path, project: Path, at: _Located) -> Document | None:
    """The file's YAML with the position of every node, or None (the reason in ``at``)."""
    if path.is_symlink() and not path.resolve().is_relative_to(project.resolve()):
        at.error(
            Position(1, 1),
            f"is a symbolic link to {path.resolve()}, outside the project folder; copy the "
            "environment file into the project instead",
        )
        return None
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        at.error(Position(1, 1), f"cannot read the file: {exc.strerror}")
        return None
    if len(raw) > MAX_BYTES:
        at.error(
            Position(1, 1),
            f"the file is {path.stat().st_size:,} bytes; an environment file may be at most "
            f"{MAX_BYTES:,} bytes",
        )
        return None
    try:
        text = yamlsource.decode(raw)
        conflict = _CONFLICT_MARKER.search(text)
        if conflict is not None:  # git's markers: a YAML error anyway, named for what it is
            at.error(
                Position(text.count("\n", 0, conflict.start()) + 1, 1),
                f"an unresolved merge conflict ({conflict[0].strip()[:60]}): keep the lines you "
                "want, delete git's marker lines (<<<<<<<, =======, >>>>>>>)",
            )
            return None
        doc = yamlsource.parse(text)
    except yamlsource.YamlProblem as exc:
        at.error(exc.position, exc.message)
        return None
    if not isinstance(doc.data, dict):
        kind = "empty" if doc.data is None else _kind(doc.data)
        at.error(
            Position(1, 1),
            f"the file is {kind}; an environment file is a mapping of keys (title:, domain:, ...)",
        )
        return None
    at.found.extend(at(position, message) for position, message in doc.problems)
    return doc


def _spec(doc: Document, at: _Located) -> EnvironmentSpec | None:
    """The document as the model, or None; secrets and YAML 1.1 numbers reported."""
    secret_paths = set()
    for key_path, message, code in _secrets(doc.data, ()):
        secret_paths.add(key_path)
        at.error(doc.position(key_path, key=True), f"{_dotted(key_path)}: {message}", code)
    try:
        spec = EnvironmentSpec.model_validate(doc.data)
    except ValidationError as exc:
        errors = _relevant(exc.errors(), secret_paths)
        for error in errors:
            key_path = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                position = doc.position(key_path, key=True)
            elif error["type"] == "missing":
                position = (
                    doc.position(key_path[:-1], key=True) if len(key_path) > 1 else Position(1, 1)
                )
            else:
                position = doc.position(key_path)
            at.error(position, f"{_dotted(key_path)}: {_explain(error, doc)}")
        error_paths = {tuple(error["loc"]) for error in errors}
        for key_path, plain in doc.plain.items():
            if key_path not in error_paths and plain.kind == "a number":
                if not _DECIMAL.match(plain.text):
                    at.error(
                        doc.position(key_path),
                        f"{_dotted(key_path)}: YAML 1.1 reads the unquoted {plain.text} as a "
                        "number in another base (octal, hexadecimal or sexagesimal); write a "
                        "plain decimal number, or quote it if you mean text",
                    )
        return None
    for key_path, plain in doc.plain.items():
        if (
            plain.kind == "a number"
            and not _DECIMAL.match(plain.text)
            and isinstance(_get(doc.data, key_path), int)
        ):
            at.error(
                doc.position(key_path),
                f"{_dotted(key_path)}: YAML 1.1 reads the unquoted {plain.text} as an octal or "
                "hexadecimal number; write a plain decimal number",
            )
    return spec


def _certificates(
    spec: EnvironmentSpec, path: Path, project: Path, doc: Document, at: _Located
) -> Read:
    """The certificates the file names by their ``file``, read, by key; and their paths."""
    read: dict[str, certificates.CertificateInfo] = {}
    paths: dict[str, Path] = {}
    for key in rules.CERTIFICATES:
        stated = rules.stated(spec, key)
        if stated is None or stated.file is None:
            continue
        key_path = (*key.split("."), "file")
        try:
            paths[key] = resolve_inside(path.parent, stated.file, project)
            read[key] = certificates.read(paths[key].read_bytes())
        except (ValueError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            at.error(
                doc.position(key_path),
                f"{_dotted(key_path)}: {stated.file}: {reason}",
                "certificate",
            )
    return read, paths


def _relevant(errors: list[Any], secret_paths: set[KeyPath]) -> list[Any]:
    """Drop pydantic errors that only echo another one.

    A key already reported as a secret; a list "too short" only because its one entry was
    invalid; a required key "missing" only because it is misspelt next to it (the unknown
    key's "did you mean" says it all).
    """
    locs = [tuple(error["loc"]) for error in errors]
    misspelt = set()
    for error, loc in zip(errors, locs, strict=True):
        if error["type"] == "extra_forbidden":
            for close in _close_keys(loc):
                misspelt.add((*loc[:-1], close))
    kept = []
    for error, loc in zip(errors, locs, strict=True):
        if loc in secret_paths:
            continue
        if error["type"] == "too_short" and any(
            other[: len(loc)] == loc and len(other) > len(loc) for other in locs
        ):
            continue
        if error["type"] == "missing" and loc in misspelt:
            continue
        kept.append(error)
    return kept


def _close_keys(loc: KeyPath) -> list[str]:
    try:
        known = _known_keys(EnvironmentSpec, loc[:-1])
    except (KeyError, AttributeError):
        return []
    return difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)


def resolve_inside(base: Path, relative: str, project: Path) -> Path:
    """Resolve ``relative`` against ``base``; refuse absolute paths and escapes from ``project``."""
    candidate = Path(relative)
    if (
        candidate.is_absolute()
        or relative.startswith(("\\", "~"))
        or re.match(r"[A-Za-z]:", relative)
    ):
        raise ValueError("the path must be relative to the environment file, not absolute")
    resolved = (base / candidate).resolve()
    root = project.resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(
            f"the path leads outside the project folder ({root}); keep certificates inside it"
        )
    if not resolved.is_file():
        raise ValueError("no such file")
    return resolved


def _secrets(data: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str, str]]:
    """(key path, message, diagnostic code) of every credential-like key and private key."""
    if isinstance(data, dict):
        for key, value in data.items():
            child = (*path, key)
            if _SECRET_KEY.search(key) and key not in _ALLOWED_KEYS:
                yield (
                    child,
                    (
                        f"{key!r} looks like a credential; passwords and secrets never belong in "
                        "an environment file (it is committed and published with the docs). "
                        "Remove it; the runbook prompts for credentials where a command needs them"
                    ),
                    "",
                )
            else:
                yield from _secrets(value, child)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _secrets(value, (*path, i))
    elif isinstance(data, str) and _PRIVATE_KEY_TEXT.search(data):
        yield path, f"holds a private key; {certificates.PRIVATE_KEY_REASON}", "private-key"


_ALLOWED_KEYS = frozenset({"key_size"})


def _get(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,80}\Z")


def _dotted(path: KeyPath) -> str:
    """``lync.front_ends[1]``; a key that is not a plain word is quoted, so a message stays
    on one line whatever the file holds."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if _PLAIN_KEY.match(part) else names.shown(part, 40)
        text += f".{name}" if text else name
    return text or "(top level)"


def _kind(value: Any) -> str:
    """What ``value`` is, in words with an article: "a list", "text", ..."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "a boolean (true/false)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dt.date):
        return "a date"
    if value is None:
        return "nothing (null)"
    return "text" if isinstance(value, str) else "a value"


def _known_keys(model: type[BaseModel], path: KeyPath) -> list[str]:
    for part in path:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[str(part)].annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                model = candidate
                break
    return list(model.model_fields)


def _explain(error: Any, doc: Document) -> str:
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    plain = doc.plain.get(loc)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        try:
            known = _known_keys(EnvironmentSpec, loc[:-1])
        except (KeyError, AttributeError):
            known = []
        close = _close_keys(loc)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
        return f"unknown key {names.shown(key)}{hint}"
    if kind == "missing":
        return "is required but missing"
    if kind in ("string_type", "str_type") and plain is not None:
        return (
            f"expected text, but YAML 1.1 reads the unquoted {plain.text} as {plain.kind}; "
            f'put it in quotes ("{plain.text}") if you mean the text'
        )
    if kind in ("string_type", "str_type"):
        return f"expected text, got {_kind(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {_kind(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping of keys, got {_kind(value)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_kind(value)}"
    if kind == "too_short":
        return "needs at least one entry"
    if kind in ("string_too_short",):
        return "must not be empty"
    if kind in ("string_too_long",):
        return f"is too long (at most {error['ctx']['max_length']} characters)"
    if kind == "literal_error":
        expected = error["ctx"]["expected"]
        # Show the value as the file spells it (true, null, 2013), not as Python does.
        shown = plain.text if plain is not None else value
        return (
            f"{names.shown(shown)} is not one of {expected}"
            if isinstance(shown, str)
            else (f"expected one of {expected}, got {_kind(value)}")
        )
    if kind.startswith("datetime"):
        return "expected a date and time with a time zone, like 2026-12-05T22:00:00+00:00"
    if kind.startswith("date"):
        return "expected a date like 2027-06-30"
    if kind == "timezone_aware":
        return "needs a time zone offset, like 2026-12-05T22:00:00+00:00"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    return str(error["msg"])
