"""The plugin leaves unchanged files of site/ alone (generator/sitecache.py, SiteOutput), and
the tree it leaves is the one a clean build makes: stale files deleted, changed ones
rewritten, hidden top-level entries kept (as mkdocs' clean keeps them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, snapshot

sys.path.insert(0, str(REPO / "benchmarks"))
import envgen

ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
ALWAYS_WRITTEN = {"404.html", "sitemap.xml", "sitemap.xml.gz", "search/search_index.json"}


def _mkdocs(root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *args],
        cwd=root,
        env=ENV,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


def _versions(site: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(site).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in site.rglob("*")
        if p.is_file()
    }


def _clean_build(project: Path, where: Path) -> dict[str, bytes]:
    """The site of a copy of ``project`` built from nothing (no site/, no cache)."""
    shutil.copytree(project, where, ignore=shutil.ignore_patterns("site", ".cache"))
    _mkdocs(where, "-q")
    return snapshot(where / "site")


@pytest.mark.slow
def test_unchanged_files_are_left_alone_and_the_tree_equals_a_clean_build(
    tmp_path: Path,
) -> None:
    root = envgen.make_project(tmp_path / "p", 4)
    site = root / "site"
    _mkdocs(root, "-q")
    first = _versions(site)
    assert len(first) > 40

    # Nothing changed: not one page, download or asset is written again.
    log = _mkdocs(root)
    assert "Page skipped" not in log
    again = _versions(site)
    assert again.keys() == first.keys()
    rewritten = sorted(rel for rel in first if again[rel] != first[rel])
    assert set(rewritten) <= ALWAYS_WRITTEN, rewritten

    # An edit, a deleted environment, stray files, a folder where a page goes, a file where
    # a folder goes, a hidden top-level file: the result is a clean build's tree (plus the
    # hidden file, which mkdocs' clean keeps too).
    one = root / "environments" / f"{envgen.environment_name(1)}.yml"
    one.write_text(envgen.environment_yaml(1, title_suffix=" edited"), "utf-8")
    gone = envgen.environment_name(4)
    (root / "environments" / f"{gone}.yml").unlink()
    (site / "stray.html").write_text("stray", "utf-8")
    (site / "assets" / "stray").mkdir()
    (site / "assets" / "stray" / "deep.txt").write_text("stray", "utf-8")
    (site / "assets" / ".hidden-below").write_text("stray", "utf-8")
    page = site / "environments" / envgen.environment_name(2) / "index.html"
    page.unlink()
    (page / "sub").mkdir(parents=True)
    folder = site / "environments" / envgen.environment_name(3) / "runbook"
    shutil.rmtree(folder)
    folder.write_text("a file where a folder goes", "utf-8")
    (site / ".kept").write_text("hidden", "utf-8")
    catalogue = site / "environments" / "index.html"
    elsewhere = tmp_path / "hard-link-of-the-old-catalogue.html"
    os.link(catalogue, elsewhere)
    old_catalogue = catalogue.read_bytes()
    _mkdocs(root, "-q")

    built = snapshot(site)
    assert built.pop(".kept") == b"hidden"
    clean = _clean_build(root, tmp_path / "clean")
    assert sorted(built) == sorted(clean)
    assert [rel for rel in clean if built[rel] != clean[rel]] == []
    assert not any(gone in rel for rel in built)
    assert not (site / "assets" / "stray").exists()
    assert not (site / ".runbook-previous").exists()
    # The catalogue changed (a title): written as a new file, the hard link keeps the old one.
    assert catalogue.read_bytes() != old_catalogue
    assert elsewhere.read_bytes() == old_catalogue
