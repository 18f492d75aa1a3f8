"""Shared fixtures: a copy of the example project in a temporary folder, test certificates."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "build" / "test-artifacts"
TODAY = dt.date(2026, 11, 27)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/ from the current output"
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def artifacts() -> Path:
    """Where tests put files for a person to look at (ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's docs project (mkdocs.yml, docs/, templates/, environments/)."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    for folder in ("docs", "templates", "environments", "schema"):
        shutil.copytree(
            REPO / folder, root / folder, ignore=shutil.ignore_patterns(".runbook.lock")
        )
    return root
