"""The common alternative, for comparison: an mkdocs-gen-files script that generates the same
pages with the runbook library (load, render; no cache, no scoped navigation).

Used by ``bench_regeneration.py`` as ``plugins: [search, gen-files: {scripts: [gen_pages.py]}]``.
"""

from __future__ import annotations

from pathlib import Path

import mkdocs_gen_files

from generator.errors import InputError
from generator.project import Project, load_project, render

project = Project(Path.cwd())
envs, diagnostics = load_project(project)
if any(d.severity == "error" for d in diagnostics):
    raise InputError(diagnostics)
for rel, text in sorted(render(project, envs).items()):
    with mkdocs_gen_files.open(f"environments/{rel}", "w") as handle:
        handle.write(text)
