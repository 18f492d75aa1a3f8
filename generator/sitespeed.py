"""What the plugin does to mkdocs' internals for speed (benchmarks/README.md has the figures).

- Scoped navigation: while a page renders, the environments section lists only the catalogue
  and the page's own environment (else every page links every environment: O(N²) a site).
- A page cache (kinds ``markdown`` and ``page`` of the project's store): a page whose Markdown
  is unchanged gets its HTML back instead of being converted (``page.render`` replaced on that
  instance), and one whose navigation is unchanged too skips the theme template (an empty
  template, then the stored HTML) and the search plugin's parsing (its index's
  ``add_entry_from_context`` replaced). The site is byte for byte an uncached build's.
- The theme's compiled templates (:class:`generator.store.Bytecode`): every build renders
  404.html, whose templates took a fifth of a warm build to compile.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure import StructureItem
from mkdocs.structure.files import Files
from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page

from generator import pipeline
from generator.store import Bytecode, Store, hash_parts

EMPTY_TEMPLATE = "runbook-cached-page.html"
_LIBRARIES = ("mkdocs", "mkdocs-material", "pymdown-extensions", "markdown", "pygments", "jinja2")


class ScopedNav:
    """The environments section (the one whose index is ``catalogue``) as each page shows it."""

    def __init__(self, nav: Navigation, catalogue: PurePosixPath) -> None:
        self.nav = nav
        self.section: Section | None = None
        for page in nav.pages:
            if page.file.src_uri == str(catalogue) and isinstance(page.parent, Section):
                self.section = page.parent
        self.children = list(self.section.children) if self.section else []

    def scoped(self, page: Page | None) -> list[StructureItem]:
        """The section's pages, and of its sections only the one ``page`` lies in."""
        own = {id(a) for a in page.ancestors} if page is not None else set()
        return [c for c in self.children if not c.is_section or id(c) in own]

    def show(self, page: Page | None) -> None:
        """Scope the section for ``page`` (None: a theme page such as 404.html)."""
        if self.section is not None:
            self.section.children = self.scoped(page)

    def restore(self) -> None:
        if self.section is not None:
            self.section.children = self.children

    def signature(self, page: Page) -> Iterator[str]:
        """What ``page``'s navigation shows, as text: every visible item, and its neighbours."""
        for neighbour in (page.previous_page, page.next_page):
            yield f"{neighbour.title}|{neighbour.url}" if neighbour is not None else "-"
        ancestors = {id(a) for a in page.ancestors}
        stack = [(0, item) for item in reversed(self.nav.items)]
        while stack:
            depth, item = stack.pop()
            active = id(item) in ancestors or item is page
            yield f"{depth}|{type(item).__name__}|{item.title}|{getattr(item, 'url', '')}|{active}"
            children = self.scoped(page) if item is self.section else item.children or []
            stack.extend((depth + 1, child) for child in reversed(children))


class PageCache:
    """Pages of earlier builds, in two levels: Markdown → HTML, and the finished page."""

    def __init__(self, config: MkDocsConfig, files: Files, store: Store) -> None:
        self.store = store
        parts: list[bytes | str] = [
            pipeline.generator_fingerprint(),
            Path(config.config_file_path).read_bytes(),
            str(config.site_url),
            str(config.use_directory_urls),
            *sorted(f.src_uri for f in files.documentation_pages()),
        ]
        for dist in _LIBRARIES:
            parts += [dist, _version(dist)]
        if config.theme.custom_dir:
            parts.append(pipeline.folder_fingerprint(Path(config.theme.custom_dir)))
        self.fingerprint = hash_parts(*parts)
        self.markdown_keys: dict[str, str] = {}
        self.page_keys: dict[str, str] = {}
        self.converted: dict[str, dict[str, Any]] = {}  # level-1 hits
        self.finished: dict[str, dict[str, Any]] = {}  # level-2 hits
        self.search_entries: dict[str, list[Any]] = {}

    def before_render(self, markdown: str, page: Page) -> str:
        """Level 1: a page whose Markdown was converted before is not converted again."""
        meta = json.dumps(page.meta, sort_keys=True, default=str)
        uri = page.file.src_uri
        key = hash_parts(self.fingerprint, uri, page.url, meta, markdown)
        self.markdown_keys[uri] = key
        entry = self.store.get("markdown", key)
        if not isinstance(entry, dict):
            return markdown
        self.converted[uri] = entry
        page.render = functools.partial(_restore, page, entry)  # type: ignore[method-assign]
        return ""

    def after_render(self, html: str, page: Page) -> str:
        uri = page.file.src_uri
        if uri in self.converted:
            return str(self.converted[uri]["html"])
        entry = {
            "html": html,
            "toc": page.toc,
            "title": page._title_from_render,
            "anchors": sorted(page.present_anchor_ids or ()),
        }
        self.store.put("markdown", self.markdown_keys[uri], entry)
        return html

    def prepare(self, env: jinja2.Environment, files: Files, nav: ScopedNav, search: Any) -> None:
        """Level 2, once every title is known: pages whose finished HTML is stored render
        through an empty template, and the search index takes their stored entries."""
        env.bytecode_cache = Bytecode(self.store)
        env.loader = jinja2.ChoiceLoader(
            [jinja2.DictLoader({EMPTY_TEMPLATE: ""}), env.loader or jinja2.DictLoader({})]
        )
        for file in files.documentation_pages():
            page, uri = file.page, file.src_uri
            if page is None or uri not in self.markdown_keys:
                continue
            key = hash_parts(self.markdown_keys[uri], str(page.title), *nav.signature(page))
            self.page_keys[uri] = key
            entry = self.store.get("page", key)
            if isinstance(entry, dict):
                self.finished[uri] = entry
                page.meta["template"] = EMPTY_TEMPLATE
        index = getattr(search, "search_index", None)
        if index is not None:
            index.add_entry_from_context = functools.partial(
                self._add_search_entry, index, index.add_entry_from_context
            )

    def _add_search_entry(self, index: Any, add: Any, page: Page) -> None:
        hit = self.finished.get(page.file.src_uri)
        if hit is not None:
            index.entries.extend(hit["search"])
            return
        before = len(index.entries)
        add(page)
        self.search_entries[page.file.src_uri] = index.entries[before:]

    def finish(self, output: str, page: Page) -> str:
        """The finished page: the stored one on a hit; else stored for the next build."""
        uri = page.file.src_uri
        if uri in self.finished:
            return str(self.finished[uri]["html"])
        if uri in self.page_keys:
            entry = {"html": output, "search": self.search_entries.pop(uri, [])}
            self.store.put("page", self.page_keys[uri], entry)
        return output


def _restore(page: Page, entry: dict[str, Any], config: MkDocsConfig, files: Files) -> None:
    """Stands in for ``page.render`` on a level-1 hit: the page as it was rendered before."""
    page.content = str(entry["html"])
    page.toc = entry["toc"]
    page._title_from_render = entry["title"]
    page.present_anchor_ids = set(entry["anchors"])
    page.links_to_anchors = {}


@functools.cache
def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""
