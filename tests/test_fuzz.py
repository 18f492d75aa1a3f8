"""Fuzzing the loader and the renderer with hostile documents (issue 6).

CI runs a few hundred examples; ``make fuzz`` runs 10,000 (``RUNBOOK_FUZZ_EXAMPLES``).
Properties: every input either gives clean, located errors, or renders pages in which every
PowerShell block parses and every command has the same shape as for a benign document.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pwsh
import pytest
import yaml
from conftest import REPO, TODAY
from hypothesis import HealthCheck, given, settings
from strategies import hostile_free_text_documents, mutated_documents

from generator.loading import load
from generator.rendering import make_jinja_env, render_environment

EXAMPLES = int(os.environ.get("RUNBOOK_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=EXAMPLES <= 500,  # CI: the same examples every run; long runs explore
)
_LOCATION = re.compile(r"^[^:]+:\d+:\d+: .+")
_JINJA = make_jinja_env(REPO / "templates")


def _write(tmp: Path, text: str) -> Path:
    path = tmp / "environments" / "fuzz.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def _shapes(pages: dict[Any, str]) -> list[tuple[str, tuple[str, ...], int]]:
    """(name, parameter names, argument count) of every command on every page and script;
    every PowerShell text must parse cleanly."""
    shapes = []
    for path, text in sorted(pages.items(), key=lambda item: str(item[0])):
        sources = (
            pwsh.powershell_blocks(text)
            if str(path).endswith(".md")
            else [text]
            if str(path).endswith(".ps1")
            else []
        )
        for source in sources:
            assert not pwsh.has_error(source), (path, pwsh.error_nodes(source))
            shapes += [command.shape for command in pwsh.commands(source)]
    return shapes


@FUZZ
@given(text=mutated_documents())
def test_every_document_loads_or_fails_cleanly(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    path = _write(tmp, text)
    env, diagnostics = load(path, tmp, TODAY)
    if env is None:
        errors = [d for d in diagnostics if d.severity == "error"]
        assert errors, "an invalid document must say why"
        for d in errors:
            assert d.line >= 1 and d.column >= 1
            assert _LOCATION.match(d.format())
        return
    _shapes(render_environment(_JINJA, env))


@FUZZ
@given(docs=hostile_free_text_documents())
def test_free_text_never_changes_a_command(
    tmp_path_factory: pytest.TempPathFactory, docs: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    benign, hostile = docs
    rendered = []
    for doc in (benign, hostile):
        tmp = tmp_path_factory.mktemp("shape")
        env, diagnostics = load(_write(tmp, yaml.safe_dump(doc, allow_unicode=True)), tmp, TODAY)
        if env is None:
            # Free text may be refused (e.g. a private key block), but only with a located error.
            assert all(_LOCATION.match(d.format()) for d in diagnostics)
            return
        rendered.append(render_environment(_JINJA, env))
    assert _shapes(rendered[0]) == _shapes(rendered[1])
