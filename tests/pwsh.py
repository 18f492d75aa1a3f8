"""A small helper over tree-sitter-pwsh: parse PowerShell, list its commands and their values.

Only what the tests need: is the text parse-clean, and what does each command call with
which parameters. A parameter's value is the unquoted text of a verbatim ``'...'`` literal,
a bare token, or a marker (:class:`Expr`) for anything that is evaluated at run time
(variables, expandable strings, sub-expressions, script blocks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_pwsh

LANGUAGE = tree_sitter.Language(tree_sitter_pwsh.language())

# PowerShell's tokenizer treats these as single quotes too (U+2018..U+201B).
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
# Unicode dashes and curly quotes that PowerShell silently reads as '-', "'" or '"'.
LOOKALIKES = re.compile("[\u2013-\u2015\u2018-\u201f]")
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```powershell[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)


@dataclass(frozen=True)
class Expr:
    """A value computed at run time; ``kind`` is the tree-sitter node type, ``text`` its source."""

    kind: str
    text: str


SWITCH = Expr("switch", "")  # a parameter given without a value


@dataclass
class Command:
    """One command invocation: its name, named parameters and positional arguments."""

    name: str
    params: dict[str, str | Expr] = field(default_factory=dict)
    args: list[str | Expr] = field(default_factory=list)
    text: str = ""

    @property
    def shape(self) -> tuple[str, tuple[str, ...], int]:
        """What the command does, regardless of the values: name, parameter names, arg count."""
        return (self.name, tuple(self.params), len(self.args))


def parse(text: str) -> tree_sitter.Tree:
    """Parse PowerShell source text."""
    return tree_sitter.Parser(LANGUAGE).parse(text.encode("utf-8"))


def has_error(text: str) -> bool:
    """Whether the parse tree holds an ERROR or MISSING node."""
    return bool(parse(text).root_node.has_error)


def error_nodes(text: str) -> list[str]:
    """The ERROR/MISSING nodes of ``text``, as ``line:column: source`` for assertion messages."""
    found: list[str] = []

    def walk(node: tree_sitter.Node) -> None:
        if node.is_error or node.is_missing:
            row, col = node.start_point
            found.append(f"{row + 1}:{col + 1}: {node.type} {_text(node)[:60]!r}")
        for child in node.children:
            walk(child)

    walk(parse(text).root_node)
    return found


def unquote_verbatim(literal: str) -> str:
    """The value of a single-quoted PowerShell literal: a doubled quote stands for one."""
    if len(literal) < 2 or literal[0] not in SINGLE_QUOTES or literal[-1] not in SINGLE_QUOTES:
        raise ValueError(f"not a verbatim string literal: {literal!r}")
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch in SINGLE_QUOTES:
            if i + 1 >= len(body) or body[i + 1] not in SINGLE_QUOTES:
                raise ValueError(f"undoubled quote at {i + 1} in {literal!r}")
            out.append(body[i + 1])  # PowerShell keeps the second character of the pair
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def string_literal_value(node: tree_sitter.Node) -> str | None:
    """The value of a verbatim string literal node (possibly under unary_expression), else None."""
    while node.type == "unary_expression" and node.named_child_count == 1:
        node = node.named_children[0]
    if node.type != "string_literal" or node.named_child_count != 1:
        return None
    inner = node.named_children[0]
    if inner.type != "verbatim_string_characters":
        return None
    return unquote_verbatim(_text(inner))


def value_of(node: tree_sitter.Node) -> str | Expr:
    """A command argument: literal text, a bare token, or an :class:`Expr` marker."""
    literal = string_literal_value(node)
    if literal is not None:
        return literal
    if node.type == "generic_token":
        return _text(node)
    inner = node
    while inner.type == "unary_expression" and inner.named_child_count == 1:
        inner = inner.named_children[0]
    return Expr(inner.type, _text(inner))


def commands(text: str) -> list[Command]:
    """Every command of ``text`` in source order, including those nested in script blocks."""
    tree = parse(text)
    found: list[Command] = []

    def walk(node: tree_sitter.Node) -> None:
        if node.type == "command":
            found.append(_command(node))
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found


def powershell_blocks(markdown: str) -> list[str]:
    """The bodies of the fenced ```powershell blocks of a Markdown page (indentation removed)."""
    blocks = []
    for match in FENCE.finditer(markdown):
        indent = match.group("indent")
        lines = match.group("body").splitlines()
        blocks.append("\n".join(line.removeprefix(indent) for line in lines))
    return blocks


def _command(node: tree_sitter.Node) -> Command:
    name_node = node.child_by_field_name("command_name")
    if name_node is None:
        name_node = next(
            c for c in node.named_children if c.type in ("command_name", "command_name_expr")
        )
    cmd = Command(name=_text(name_node), text=_text(node))
    elements = next((c for c in node.named_children if c.type == "command_elements"), None)
    if elements is None:
        return cmd
    items = [c for c in elements.named_children if c.type != "command_argument_sep"]
    i = 0
    while i < len(items):
        item = items[i]
        if item.type == "command_parameter":
            pname = _text(item).lstrip("-").rstrip(":")
            if pname in cmd.params:
                raise ValueError(f"parameter -{pname} given twice in {cmd.text!r}")
            nxt = items[i + 1] if i + 1 < len(items) else None
            if nxt is not None and nxt.type != "command_parameter":
                cmd.params[pname] = value_of(nxt)
                i += 2
                continue
            cmd.params[pname] = SWITCH
        else:
            cmd.args.append(value_of(item))
        i += 1
    return cmd


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8")
