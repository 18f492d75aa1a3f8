"""The mkdocs plugin ``runbook``: renders the environments during ``mkdocs build`` and
``mkdocs serve`` through the same library code as ``runbook build``. It holds no logic."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from generator import pdf
from generator.errors import InputError, RunbookError
from generator.project import OUTPUT, Project, load_project, render

log = logging.getLogger("mkdocs.plugins.runbook")


class RunbookPlugin(BasePlugin):  # type: ignore[type-arg]
    """Adds every environment's generated pages and downloads to the site as virtual files."""

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        project = Project(Path(config.config_file_path).parent)
        try:
            envs, diagnostics = load_project(project)
            if any(d.severity == "error" for d in diagnostics):
                raise InputError(diagnostics)
            generated = render(project, envs)
        except InputError as exc:
            raise PluginError(f"runbook: invalid environment files:\n{exc}") from None
        except RunbookError as exc:
            raise PluginError(f"runbook: {exc}") from None
        generated_files: dict[str, str | bytes] = {str(OUTPUT / rel): text for rel, text in generated.items()}
        generated_files.update(self._change_requests(project, envs))
        for src_uri, content in sorted(generated_files.items()):
            existing = files.get_file_from_path(src_uri)
            if existing is not None:
                files.remove(existing)
            files.append(File.generated(config, src_uri, content=content))
        return files

    def _change_requests(self, project: Project, envs: list[Any]) -> dict[str, bytes]:
        """Each environment's change-request PDF (cached by content hash in .cache/runbook/)."""
        try:
            pdfs = pdf.site_pdfs(project.root, envs)
        except RunbookError as exc:
            raise PluginError(f"runbook: change request: {exc}") from None
        built = sum(1 for _, cached in pdfs.values() if not cached)
        log.info("runbook: %d change-request PDF(s), %d built, %d from cache", len(pdfs), built, len(pdfs) - built)
        return {str(OUTPUT / rel): data for rel, (data, _) in pdfs.items()}

    def on_serve(self, server: Any, *, config: MkDocsConfig, builder: Any) -> Any:
        root = Path(config.config_file_path).parent
        for folder in ("environments", "templates"):
            if (root / folder).is_dir():
                server.watch(str(root / folder))
        return server
