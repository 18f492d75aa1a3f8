"""The hostile corpus's generated worst cases (too big to commit), shared by the hostile
test and the budget benchmark (benchmarks/bench_hostile.py)."""

from __future__ import annotations

from pathlib import Path

HOSTILE = Path(__file__).resolve().parent / "hostile"
BASE = (HOSTILE.parent / "fixtures" / "valid" / "base.yml").read_text(encoding="utf-8")


def _billion_laughs(levels: int, width: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def _nested_block(depth: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}x\n"


GENERATED: dict[str, object] = {
    # 10 MB: a valid start, then padding; the loader reads no more than its limit
    "huge-10mb.yml": lambda: BASE + ("# padding " + "x" * 89 + "\n") * 104_858,
    "deep-nesting-flow.yml": lambda: "title: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep-nesting-block.yml": lambda: _nested_block(400),
    "alias-bomb-billion-laughs.yml": lambda: _billion_laughs(10, 10),
    "alias-bomb-wide.yml": lambda: (
        "a: &a [" + ", ".join(["x"] * 9_000) + "]\n" + "".join(f"b{i}: *a\n" for i in range(2_000))
    ),
    "alias-bomb-nested-mapping.yml": lambda: (
        "a: &a {"
        + ", ".join(f"k{i}: v" for i in range(50))
        + "}\n"
        + "".join(
            f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}, *{'a' if i == 0 else f'b{i - 1}'}]\n"
            for i in range(40)
        )
    ),
    "long-line-title.yml": lambda: BASE.replace("Litware Inc.", "A" * 900_000),
    "long-host-name.yml": lambda: BASE.replace(
        "atl-cs-001.litwareinc.com\n", "a" * 900_000 + ".com\n", 1
    ),
    "many-keys.yml": lambda: "".join(f"key{i}: {i}\n" for i in range(60_000)),
    "long-key.yml": lambda: BASE + "k" * 500_000 + ": 1\n",
}
