"""The mkdocs plugin ``runbook``: renders the environments during ``mkdocs build`` and
``mkdocs serve`` through the same library code as ``runbook build``. It holds no logic."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mkdocs.config import base, config_options
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, CombinedEvent, event_priority
from mkdocs.structure.files import File, Files

from generator.errors import InputError, RunbookError
from generator.project import OUTPUT, Project, generate
from generator.sitecache import BytecodeCache, PageCache, SiteOutput

log = logging.getLogger("mkdocs.plugins.runbook")


class RunbookConfig(base.Config):  # type: ignore[no-untyped-call]
    """Plugin options. ``change_requests: false`` leaves the PDFs out (the benchmarks use it to
    time the pages alone)."""

    change_requests = config_options.Type(bool, default=True)


class RunbookPlugin(BasePlugin[RunbookConfig]):  # type: ignore[no-untyped-call]
    """Adds every environment's generated pages and downloads to the site as virtual files."""

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        # Unchanged output files are left alone (generator/sitecache.py): keep the previous
        # site out of the way of mkdocs' clean, which follows this event.
        self.output = SiteOutput(config.site_dir)
        self.output.hold()

    @event_priority(100)  # first: before anything is written to site/
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        self.output.release()
        project = Project(Path(config.config_file_path).parent)
        try:
            result = generate(project)  # only environments whose inputs changed are redone
            if result.errors:
                raise InputError(result.diagnostics)
            envs, generated = result.envs, result.files
        except InputError as exc:
            raise PluginError(f"runbook: invalid environment files:\n{exc}") from None
        except RunbookError as exc:
            raise PluginError(f"runbook: {exc}") from None
        generated_files: dict[str, str | bytes] = {
            str(OUTPUT / rel): text for rel, text in generated.items()
        }
        if self.config.change_requests:
            generated_files.update(self._change_requests(project, envs))
        for src_uri, content in sorted(generated_files.items()):
            existing = files.get_file_from_path(src_uri)
            if existing is not None:
                files.remove(existing)
            files.append(File.generated(config, src_uri, content=content))
        self.pages = PageCache(config, OUTPUT / "index.md", files)
        return files

    # The page cache and the scoped navigation (generator/sitecache.py): see its docstring.
    def on_nav(self, nav: Any, *, config: MkDocsConfig, files: Files) -> Any:
        self.pages.set_nav(nav)
        return nav

    @event_priority(-100)  # last: cache the Markdown as every plugin left it
    def on_page_markdown(
        self, markdown: str, *, page: Any, config: MkDocsConfig, files: Files
    ) -> str:
        return self.pages.before_render(markdown, page)

    @event_priority(100)  # first: other plugins see the restored HTML
    def on_page_content(self, html: str, *, page: Any, config: MkDocsConfig, files: Files) -> str:
        return self.pages.after_render(html, page)

    @event_priority(-100)  # last: every static file is known
    def on_env(self, env: Any, *, config: MkDocsConfig, files: Files) -> Any:
        self.output.keep_static(files)
        self.bytecode = BytecodeCache(Path(config.config_file_path).parent)
        env.bytecode_cache = self.bytecode
        return self.pages.prepare(env, files, config.plugins.get("material/search"))

    @event_priority(100)  # first: see PageCache.set_aside_content
    def _page_context_first(
        self, context: Any, *, page: Any, config: MkDocsConfig, nav: Any
    ) -> Any:
        self.pages.set_aside_content(page)
        self.pages.scope_nav(page)
        return context

    @event_priority(-100)
    def _page_context_last(self, context: Any, *, page: Any, config: MkDocsConfig, nav: Any) -> Any:
        self.pages.put_back_content(page)
        return context

    on_page_context = CombinedEvent(_page_context_first, _page_context_last)

    def on_template_context(self, context: Any, *, template_name: str, config: MkDocsConfig) -> Any:
        self.pages.scope_nav(None)  # 404.html: the environments section shows the catalogue
        return context

    def on_post_template(
        self, output_content: str, *, template_name: str, config: MkDocsConfig
    ) -> str:
        self.pages.restore_nav()
        return output_content

    def _finish_page(self, output: str, *, page: Any, config: MkDocsConfig) -> str:
        return self.pages.finish(output, page)

    @event_priority(-100)  # last: the page as it will be written
    def _write_page_if_changed(self, output: str, *, page: Any, config: MkDocsConfig) -> str:
        return "" if self.output.page_unchanged(page, output) else output

    on_post_page = CombinedEvent(_finish_page, _write_page_if_changed)

    @event_priority(-100)  # last: after the other plugins wrote their files
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        self.pages.prune()
        self.bytecode.close()
        self.output.sweep()

    def on_build_error(self, *, error: Exception) -> None:
        output: SiteOutput | None = getattr(self, "output", None)
        if output is not None:
            output.abandon()
        bytecode: BytecodeCache | None = getattr(self, "bytecode", None)
        if bytecode is not None:
            bytecode.close()

    def _change_requests(self, project: Project, envs: list[Any]) -> dict[str, bytes]:
        """Each environment's change-request PDF (cached by content hash in .cache/runbook/)."""
        from generator import pdf  # only with change requests on: an import of its own

        try:
            pdfs = pdf.site_pdfs(project.root, envs)
        except RunbookError as exc:
            raise PluginError(f"runbook: change request: {exc}") from None
        built = sum(1 for _, cached in pdfs.values() if not cached)
        log.info(
            "runbook: %d change-request PDF(s), %d built, %d from cache",
            len(pdfs),
            built,
            len(pdfs) - built,
        )
        return {str(OUTPUT / rel): data for rel, (data, _) in pdfs.items()}

    def on_serve(self, server: Any, *, config: MkDocsConfig, builder: Any) -> Any:
        root = Path(config.config_file_path).parent
        for folder in ("environments", "templates"):
            if (root / folder).is_dir():
                server.watch(str(root / folder))
        return server
