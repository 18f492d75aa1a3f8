"""The mkdocs plugin ``runbook``: wires mkdocs' events to the library (the pipeline, the change
requests, and :mod:`generator.sitespeed` for what it does to mkdocs' internals)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

from mkdocs.config import base, config_options
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files

from generator import changerequests, pdf, pipeline, rendering
from generator.errors import InputError, RunbookError
from generator.sitespeed import PageCache, ScopedNav
from generator.sources import CATALOGUE_FILE, display_path
from generator.store import Store
from generator.writing import write_atomic

log = logging.getLogger("mkdocs.plugins.runbook")
PENDING = "The change request of {name} is being laid out. Reload this page in a moment."
FAILED = "The change request of {name} could not be made: see the log of the site's build."
OFF = (
    "This site was built without change requests (change_requests: false). Make this one with: "
    "runbook change-request {name} --procedure {slug} -o FILE.pdf"
)


class RunbookConfig(base.Config):  # type: ignore[no-untyped-call]
    """``change_requests: false`` leaves the PDFs out."""

    change_requests = config_options.Type(bool, default=True)


class RunbookPlugin(BasePlugin[RunbookConfig]):  # type: ignore[no-untyped-call]
    """Adds every environment's pages, downloads and change requests to the site."""

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.serving = command == "serve"  # then the PDFs follow the pages
        self.maker: changerequests.Maker | None = None
        self.lock = threading.Lock()
        self.told = False  # that this machine cannot make change requests
        self.targets: dict[str, list[Path]] = {}  # a change request's key: where it goes

    @event_priority(100)  # first: other plugins see the generated files
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        self.project = pipeline.Project(Path(config.config_file_path).parent)
        try:
            generated, outcomes = pipeline.site_files(self.project)
        except InputError as exc:
            raise PluginError(f"runbook: invalid environment files:\n{exc}") from None
        except RunbookError as exc:
            raise PluginError(f"runbook: {exc}") from None
        for src_uri, text in sorted(generated.items()):
            _replace(files, File.generated(config, src_uri, content=text))
        self.store = Store(self.project.root)
        self.waiting: list[changerequests.Job] = []
        if self.config.change_requests:
            self._change_requests(outcomes, files, config)
        else:  # the overview's links still lead somewhere: to how to make them
            slugs = rendering.procedures(pipeline.jinja_env_for(self.project.templates))
            for outcome in outcomes:
                for rel, slug in pdf.site_documents(outcome.name, slugs).items():
                    data = changerequests.placeholder(OFF.format(name=outcome.name, slug=slug))
                    _replace(
                        files, File.generated(config, f"{pipeline.OUTPUT}/{rel}", content=data)
                    )
        self.pages = PageCache(config, files, self.store)
        return files

    def _change_requests(
        self, outcomes: list[pipeline.Outcome], files: Files, config: MkDocsConfig
    ) -> None:
        """Each change request goes straight into site/: from the cache now, else a page that
        says it is coming, replaced when the workers have made it."""
        slugs = rendering.procedures(pipeline.jinja_env_for(self.project.templates))
        jobs = changerequests.jobs(outcomes, slugs, created=pdf.source_date())
        with self.lock:
            self.targets = {}
            for job in jobs:
                src_uri = f"{pipeline.OUTPUT}/{job.rel}"
                target = Path(config.site_dir, src_uri).resolve()
                _replace(files, File.generated(config, src_uri, abs_src_path=str(target)))
                self.targets.setdefault(job.key, []).append(target)
                made = changerequests.cached(self.store, job)
                if made is None:
                    write_atomic(
                        target,
                        changerequests.placeholder(PENDING.format(name=job.name)),
                        sync=False,
                    )
                    self.waiting.append(job)
                else:
                    self._put(made)
        log.info(
            "runbook: %d change request(s), %d from the cache",
            len(jobs),
            len(jobs) - len(self.waiting),
        )
        if not self.serving:
            self._submit()  # now: the workers lay out while mkdocs renders the pages

    def _submit(self) -> None:
        if not self.waiting:
            return
        if self.maker is None:
            self.maker = changerequests.Maker(
                self.project, dt.date.today(), pdf.source_date(), self._finish
            )
        for job in self.waiting:
            self.maker.submit(job)
        self.waiting = []

    def _finish(self, made: changerequests.Made) -> None:
        """A change request made (in a thread of the pool): into the site, where still wanted."""
        with self.lock:
            self._put(made)

    def _put(self, made: changerequests.Made) -> None:
        if made.job.key not in self.targets:  # the environment changed since (mkdocs serve)
            return
        shown = display_path(made.job.path)
        for warning in made.warnings:  # about the environment's text: never fails a build
            log.info("runbook: change request: %s", warning.format())
        data = made.data
        if data is None and made.machine:  # never fails a build: the site is still whole
            if not self.told:
                log.info("runbook: no change requests on this machine: %s", made.error)
                self.told = True
            data = changerequests.placeholder(f"No change request was made: {made.error}")
        elif data is None:
            log.error("runbook: change request of %s: %s", shown, made.error)
            data = changerequests.placeholder(FAILED.format(name=made.job.name))
        for target in self.targets.get(made.job.key, []):
            write_atomic(target, data, sync=False)

    def on_nav(self, nav: Any, *, config: MkDocsConfig, files: Files) -> Any:
        self.nav = ScopedNav(nav, pipeline.OUTPUT / CATALOGUE_FILE)
        return nav

    @event_priority(-100)  # last: the Markdown as every plugin left it
    def on_page_markdown(
        self, markdown: str, *, page: Any, config: MkDocsConfig, files: Files
    ) -> str:
        return self.pages.before_render(markdown, page)

    @event_priority(100)  # first: other plugins see the restored HTML
    def on_page_content(self, html: str, *, page: Any, config: MkDocsConfig, files: Files) -> str:
        return self.pages.after_render(html, page)

    @event_priority(-100)  # last: every page's title is known
    def on_env(self, env: Any, *, config: MkDocsConfig, files: Files) -> Any:
        self.pages.prepare(env, files, self.nav, config.plugins.get("material/search"))
        return env

    @event_priority(100)
    def on_page_context(self, context: Any, *, page: Any, config: MkDocsConfig, nav: Any) -> Any:
        self.nav.show(page)
        return context

    def on_template_context(self, context: Any, *, template_name: str, config: MkDocsConfig) -> Any:
        self.nav.show(None)  # 404.html: the environments section shows the catalogue
        return context

    def on_post_template(
        self, output_content: str, *, template_name: str, config: MkDocsConfig
    ) -> str:
        self.nav.restore()
        return output_content

    def on_post_page(self, output: str, *, page: Any, config: MkDocsConfig) -> str:
        self.nav.restore()
        return self.pages.finish(output, page)

    @event_priority(-100)  # last: after the other plugins
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self.serving:
            self._submit()  # the pages are served; the change requests follow
        elif self.maker is not None:
            self.maker.wait()
            self.maker.shutdown()
            self.maker = None
        self.store.prune(("markdown", "page"))
        self.store.close()

    def on_build_error(self, *, error: Exception) -> None:
        store: Store | None = getattr(self, "store", None)
        if store is not None:
            store.close()

    def on_serve(self, server: Any, *, config: MkDocsConfig, builder: Any) -> Any:
        for folder in ("environments", "templates"):
            if (self.project.root / folder).is_dir():
                server.watch(str(self.project.root / folder))
        return server

    def on_shutdown(self) -> None:
        if self.maker is not None:
            self.maker.shutdown()


def _replace(files: Files, file: File) -> None:
    existing = files.get_file_from_path(file.src_uri)
    if existing is not None:
        files.remove(existing)
    files.append(file)
