"""Safe YAML → plain Python data, with a source position for every key and value.

Built on the event stream of PyYAML's C parser rather than on a constructor, so that we
decide everything ourselves: no tags that build objects, no duplicate keys, no merge keys,
bounded alias expansion and nesting depth, and the raw text of every plain scalar so that
YAML 1.1 surprises (``no``, ``010``, dates) can be reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # the C parser is ~20x faster; fall back for interpreters built without libyaml
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

KeyPath = tuple[str | int, ...]

MAX_NODES = 10_000
MAX_DEPTH = 32

_TOO_DEEP = (
    f"nesting deeper than {MAX_DEPTH} levels; an environment file is at most a few levels deep"
)
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TYPE_NAMES = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "null (nothing)",
    "tag:yaml.org,2002:timestamp": "a date",
}


@dataclass(frozen=True)
class Position:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass(frozen=True)
class PlainScalar:
    """An unquoted scalar that YAML resolved to something other than text."""

    text: str
    kind: str  # "a boolean", "a number", ...


@dataclass
class Document:
    """The data of one YAML document and where each part of it stands in the source."""

    data: Any
    values: dict[KeyPath, Position] = field(default_factory=dict)
    keys: dict[KeyPath, Position] = field(default_factory=dict)
    plain: dict[KeyPath, PlainScalar] = field(default_factory=dict)
    problems: list[tuple[Position, str]] = field(default_factory=list)
    """Problems that do not stop parsing (a duplicate key): reported with all the others."""

    def position(self, path: KeyPath, *, key: bool = False) -> Position:
        """Where ``path`` stands (its key when ``key``), or the nearest parent that exists."""
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in table:
                return table[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return Position(1, 1)


class YamlProblem(Exception):
    """The text is not acceptable YAML for an environment file; parsing stops here."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


_DUPLICATE = object()  # pending key of a duplicate: its value is read and then dropped


def _tag_name(tag: str) -> str:
    """A tag as the file spells it: ``!!python/name:x`` rather than its long form."""
    return (
        "!!" + tag.removeprefix("tag:yaml.org,2002:")
        if tag.startswith("tag:yaml.org,2002:")
        else tag
    )


def _pos(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def decode(raw: bytes) -> str:
    """Decode UTF-8 (a BOM is allowed), reporting the first bad byte's line and column."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # What Windows PowerShell 5.1 writes with > and Out-File, and Notepad as "Unicode".
        raise YamlProblem(
            "the file is UTF-16 (as Windows PowerShell's > and Out-File write it); save it as "
            "UTF-8 (Out-File -Encoding utf8, or Notepad's Save as: UTF-8)",
            Position(1, 1),
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise YamlProblem(
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
            Position(line, column),
        ) from None
    return text.removeprefix("\ufeff")


def _scalar(event: yaml.ScalarEvent) -> tuple[Any, PlainScalar | None]:
    if event.style not in (None, "") or not event.implicit[0]:
        return event.value, None  # quoted, or a block scalar: always text
    tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, (True, False))  # type: ignore[no-untyped-call]
    if tag == "tag:yaml.org,2002:str":
        return event.value, None
    if tag == "tag:yaml.org,2002:merge":
        raise YamlProblem(
            "merge keys (<<) are not supported; write the keys out", _pos(event.start_mark)
        )
    if tag == "tag:yaml.org,2002:value":
        return event.value, None
    node = yaml.ScalarNode(tag, event.value)
    try:
        value = _CONSTRUCTOR.construct_object(node)
    except (ValueError, yaml.YAMLError):
        return event.value, None
    return value, PlainScalar(event.value, _TYPE_NAMES.get(tag, "a value"))


class _Builder:
    """Turns a stream of parser events into a :class:`Document`."""

    def __init__(self) -> None:
        self.doc = Document(data=None)
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.nodes = 0

    def count(self, n: int, event: Any) -> None:
        self.nodes += n
        if self.nodes > MAX_NODES:
            how = "through aliases (*name)" if isinstance(event, yaml.AliasEvent) else "in all"
            raise YamlProblem(
                f"the document expands to more than {MAX_NODES} values {how}; an environment "
                "file is small, flat data",
                _pos(event.start_mark),
            )

    def build(self, events: Any) -> Document:
        # Each stack entry: [container, path, pending_key, anchor, node_count_at_start]
        stack: list[list[Any]] = []
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise YamlProblem(
                        "the file holds more than one YAML document (---); keep one environment "
                        "per file",
                        _pos(event.start_mark),
                    )
                continue
            if not isinstance(event, yaml.NodeEvent | yaml.CollectionEndEvent):
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                done, path, _key, anchor, start = stack.pop()
                if anchor is not None:
                    self.anchors[anchor] = (done, self.nodes - start)
                self._attach(stack, done, path, event, finished=True)
                continue
            tag = getattr(event, "tag", None)
            if tag not in (None, "!") and not (
                isinstance(event, yaml.ScalarEvent) and tag == "tag:yaml.org,2002:str"
            ):
                raise YamlProblem(
                    f"the tag {_tag_name(tag)} is not allowed: an environment file holds plain "
                    "data, "
                    "and tags can make a YAML loader build objects or run code",
                    _pos(event.start_mark),
                )
            path = self._child_path(stack)
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in self.anchors:
                    raise YamlProblem(
                        f"alias *{event.anchor} refers to no anchor", _pos(event.start_mark)
                    )
                value, size = self.anchors[event.anchor]
                self.count(size, event)
                self._attach(stack, value, path, event)
                continue
            self.count(1, event)
            if isinstance(event, yaml.ScalarEvent):
                value, plain = _scalar(event)
                if plain is not None and path is not None:
                    self.doc.plain[path] = plain
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1)
                self._attach(stack, value, path, event)
                continue
            if len(stack) >= MAX_DEPTH:
                raise YamlProblem(_TOO_DEEP, _pos(event.start_mark))
            container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
            if path is not None:
                self.doc.values.setdefault(path, _pos(event.start_mark))
            stack.append([container, path, None, event.anchor, self.nodes])
        return self.doc

    def _child_path(self, stack: list[list[Any]]) -> KeyPath | None:
        if not stack:
            return ()
        container, path, key = stack[-1][0], stack[-1][1], stack[-1][2]
        if path is None:
            return None
        if isinstance(container, list):
            return (*path, len(container))
        if key is None or key is _DUPLICATE:
            return None  # this node is a key, or the value of a duplicate key
        return (*path, key)

    def _attach(
        self,
        stack: list[list[Any]],
        value: Any,
        path: KeyPath | None,
        event: Any,
        finished: bool = False,
    ) -> None:
        position = _pos(event.start_mark)
        if not stack:
            self.doc.data = value
            return
        top = stack[-1]
        container = top[0]
        if isinstance(container, list):
            container.append(value)
            if path is not None and not finished:
                self.doc.values.setdefault(path, position)
            return
        if top[2] is None:  # value is a key
            if not isinstance(value, str) or finished or isinstance(event, yaml.AliasEvent):
                raise YamlProblem(
                    "a key must be plain text (write it in quotes if it looks like a number, "
                    "a boolean or a date)",
                    position,
                )
            if value in container:
                first = self.doc.keys.get((*top[1], value)) if top[1] is not None else None
                where = f"line {first.line}" if first is not None else "above"
                self.doc.problems.append(
                    (
                        position,
                        (
                            f"duplicate key {value!r}: it already appears at {where}; YAML would "
                            "silently "
                            "keep only the last one, so keep one and delete the other"
                        ),
                    )
                )
                top[2] = _DUPLICATE
                return
            top[2] = value
            if top[1] is not None:
                self.doc.keys[(*top[1], value)] = position
            container[value] = None
            return
        if top[2] is not _DUPLICATE:
            container[top[2]] = value
        if path is not None and not finished:
            self.doc.values.setdefault(path, position)
        top[2] = None


def parse(text: str) -> Document:
    """Parse one environment document; raise :class:`YamlProblem` at the first problem."""
    try:
        return _Builder().build(yaml.parse(text, Loader=_Loader))
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        where = Position(before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise YamlProblem(
            f"the file holds the control character U+{ord(char):04X}, which YAML does not "
            "allow; delete it (an editor that shows invisible characters helps)",
            where,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _pos(mark) if mark is not None else Position(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own bound, met while scanning ahead
            raise YamlProblem(_TOO_DEEP, where) from None
        raise YamlProblem(f"YAML syntax error: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"YAML error: {exc}", Position(1, 1)) from None
