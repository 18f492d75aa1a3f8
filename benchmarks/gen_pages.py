"""The common alternative, for comparison: an mkdocs-gen-files script that generates the same
pages through the runbook pipeline (no cache, no scoped navigation).

Used by ``bench_regeneration.py`` as ``plugins: [search, gen-files: {scripts: [gen_pages.py]}]``.
"""

from __future__ import annotations

from pathlib import Path

import mkdocs_gen_files

from generator.pipeline import Project, site_files

files, _outcomes = site_files(Project(Path.cwd()))
for rel, text in sorted(files.items()):
    with mkdocs_gen_files.open(rel, "w") as handle:
        handle.write(text)
