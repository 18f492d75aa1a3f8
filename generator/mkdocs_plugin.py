"""The mkdocs plugin ``runbook``: renders the environments during ``mkdocs build`` and
``mkdocs serve`` through the same library code as ``runbook build``. It holds no logic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from generator.errors import InputError, RunbookError
from generator.project import OUTPUT, Project, load_project, render


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
        for rel, text in sorted(generated.items()):
            src_uri = str(OUTPUT / rel)
            existing = files.get_file_from_path(src_uri)
            if existing is not None:
                files.remove(existing)
            files.append(File.generated(config, src_uri, content=text))
        return files

    def on_serve(self, server: Any, *, config: MkDocsConfig, builder: Any) -> Any:
        root = Path(config.config_file_path).parent
        for folder in ("environments", "templates"):
            if (root / folder).is_dir():
                server.watch(str(root / folder))
        return server
