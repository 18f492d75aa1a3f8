"""What the mkdocs plugin does so that a site build pays only for pages that changed, and so
that a page's cost does not grow with the number of environments.

Two things, both measured (``benchmarks/README.md``):

* **Scoped navigation.** mkdocs-material renders the navigation into every page. With the
  environments as one section, every page carried a link to every environment: O(N) per
  page, O(N²) per site. While a page is rendered, the ``environments/`` section shows only
  the catalogue and the page's own environment; the catalogue links to all the others.

* **A page cache** in ``.cache/runbook/site/`` (see :mod:`generator.cache`), two levels:

  1. Markdown → HTML (content, table of contents, title, anchors), keyed by the page's
     final Markdown, front matter, URL, the set of documentation files (links resolve
     against it) and everything that configures the conversion (``mkdocs.yml``, theme
     overrides, versions of mkdocs, the theme and the Markdown extensions, the generator).
  2. The finished page (theme template output) and its search-index entries, keyed by
     level 1's key, the page's title and its navigation as rendered (titles, URLs, which
     item is active) and its previous/next pages.

  On a level-2 hit the page is rendered through an empty template and the stored HTML
  replaces the output; its search entries are added as stored. Everything else mkdocs does
  (copying static files, the sitemap, the search index file) runs as usual, so the site is
  complete and identical to an uncached build (the determinism test compares them).

Not cached, by design: anchor-link validation of a cached page (it passed when the page was
cached, against the same set of files).
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

from generator import cache

EMPTY_TEMPLATE = "runbook-cached-page.html"
_VERSIONS = ("mkdocs", "mkdocs-material", "pymdown-extensions", "markdown", "pygments", "jinja2")


class PageCache:
    """The per-build state of the page cache and the navigation scoping."""

    def __init__(self, config: MkDocsConfig, catalogue: PurePosixPath, files: Files) -> None:
        root = Path(config.config_file_path).parent
        self.store = cache.Cache(root, "site")
        self.catalogue = str(catalogue)
        self.nav: Navigation | None = None
        self.content: dict[str, tuple[str, dict[str, Any]]] = {}  # src_uri -> (key, entry)
        self.md_keys: dict[str, str] = {}
        self.out_keys: dict[str, str] = {}
        self.hits: dict[str, dict[str, Any]] = {}
        self.search_entries: dict[str, list[Any]] = {}
        self._saved_children: list[StructureItem] | None = None
        self._section: Section | None = None
        self._section_pages: list[StructureItem] = []
        self._positions: dict[int, int] = {}
        parts: list[bytes | str] = [
            cache.generator_fingerprint(),
            Path(config.config_file_path).read_bytes(),
        ]
        for dist in _VERSIONS:
            try:
                parts += [dist, importlib.metadata.version(dist)]
            except importlib.metadata.PackageNotFoundError:
                parts += [dist, ""]
        custom_dir = config.theme.custom_dir
        if custom_dir:
            parts.append(cache.folder_fingerprint(Path(custom_dir)))
        parts += [str(config.site_url), str(config.use_directory_urls)]
        parts += sorted(f.src_uri for f in files.documentation_pages())
        self.fingerprint = cache.hash_parts(*parts)

    # Level 1: Markdown -> HTML -------------------------------------------------------------

    def before_render(self, markdown: str, page: Page) -> str:
        """Look the page up by its Markdown; on a hit, hand mkdocs nothing to convert."""
        meta = json.dumps(page.meta, sort_keys=True, default=str)
        key = cache.hash_parts(
            self.fingerprint, "markdown", page.file.src_uri, page.url, meta, markdown
        )
        self.md_keys[page.file.src_uri] = key
        entry = self.store.get(key)
        if isinstance(entry, dict):
            self.content[page.file.src_uri] = (key, entry)
            # mkdocs calls page.render() next; this page's result is known, so the instance
            # gets a render that restores it (building a Markdown converter per page was the
            # largest remaining cost of a rebuild).
            page.render = functools.partial(_restore, page, entry)  # type: ignore[method-assign]
            return ""
        return markdown

    def after_render(self, html: str, page: Page) -> str:
        """Return a cached page's HTML (restored by :func:`_restore`); store a new one's."""
        hit = self.content.get(page.file.src_uri)
        if hit is not None:
            return str(hit[1]["html"])
        self.store.put(
            self.md_keys[page.file.src_uri],
            {
                "html": html,
                "toc": page.toc,
                "title": page._title_from_render,
                "anchors": sorted(page.present_anchor_ids or ()),
            },
        )
        return html

    # Level 2: the finished page ------------------------------------------------------------

    def prepare(self, env: jinja2.Environment, files: Files, search: Any) -> jinja2.Environment:
        """After every page is converted (titles known): find the pages whose finished HTML is
        cached, route them through an empty template, and hook the search index."""
        env.loader = jinja2.ChoiceLoader(
            [jinja2.DictLoader({EMPTY_TEMPLATE: ""}), env.loader or jinja2.DictLoader({})]
        )
        for file in files.documentation_pages():
            page = file.page
            if page is None or file.src_uri not in self.md_keys:
                continue
            key = cache.hash_parts(
                self.md_keys[file.src_uri], "page", str(page.title), *self._nav_signature(page)
            )
            self.out_keys[file.src_uri] = key
            entry = self.store.get(key)
            if isinstance(entry, dict):
                self.hits[file.src_uri] = entry
                page.meta["template"] = EMPTY_TEMPLATE
        if search is not None and hasattr(search, "search_index"):
            self._hook_search(search.search_index)
        return env

    def _hook_search(self, index: Any) -> None:
        add = index.add_entry_from_context

        def add_entry_from_context(page: Page) -> None:
            hit = self.hits.get(page.file.src_uri)
            if hit is not None:
                index.entries.extend(hit["search"])
                return
            before = len(index.entries)
            add(page)
            self.search_entries[page.file.src_uri] = index.entries[before:]

        index.add_entry_from_context = add_entry_from_context

    def finish(self, output: str, page: Page) -> str:
        """The page's finished HTML: the cached one on a hit, else store what was made."""
        self.restore_nav()
        hit = self.hits.get(page.file.src_uri)
        if hit is not None:
            return str(hit["html"])
        key = self.out_keys.get(page.file.src_uri)
        if key is not None:
            self.store.put(
                key, {"html": output, "search": self.search_entries.pop(page.file.src_uri, [])}
            )
        return output

    # Scoped navigation ---------------------------------------------------------------------

    def set_nav(self, nav: Navigation) -> None:
        """Remember the site's navigation and its environments section: the section whose
        index is the catalogue (``environments/index.md``)."""
        self.nav = nav
        self._section = None
        for page in nav.pages:
            if page.file.src_uri == self.catalogue and isinstance(page.parent, Section):
                self._section = page.parent
        children = self._section.children if self._section is not None else []
        self._section_pages = [c for c in children if not c.is_section]
        self._positions = {id(c): i for i, c in enumerate(children)}

    def environments_section(self) -> Section | None:
        """The environments section of the navigation, if there is one."""
        return self._section

    def _scoped_children(self, page: Page) -> list[StructureItem]:
        """The environments section's children as ``page`` shows them: its pages (the
        catalogue) and, of its sections, only the one ``page`` lies in. O(depth), not O(N)."""
        section = self._section
        assert section is not None
        own = [a for a in page.ancestors if a.parent is section]
        return sorted(self._section_pages + own, key=lambda item: self._positions[id(item)])

    def scope_nav(self, page: Page) -> None:
        """While ``page`` renders, its environments section lists only the catalogue and the
        page's own environment (undone by :meth:`restore_nav`)."""
        section = self.environments_section()
        if section is None:
            return
        self._saved_children = section.children
        section.children = self._scoped_children(page)

    def restore_nav(self) -> None:
        section = self.environments_section()
        if section is not None and self._saved_children is not None:
            section.children = self._saved_children
        self._saved_children = None

    def _nav_signature(self, page: Page) -> Iterator[str]:
        """What the page's navigation shows, as text: every visible item, in order."""
        section = self.environments_section()
        ancestors = {id(a) for a in page.ancestors}
        for neighbour in (page.previous_page, page.next_page):
            yield f"{neighbour.title}|{neighbour.url}" if neighbour is not None else "-"
        stack: list[tuple[int, StructureItem]] = [
            (0, item) for item in reversed(self.nav.items if self.nav else [])
        ]
        while stack:
            depth, item = stack.pop()
            active = id(item) in ancestors or item is page
            url = getattr(item, "url", "")
            yield f"{depth}|{type(item).__name__}|{item.title}|{url}|{active}"
            children = getattr(item, "children", None) or []
            if item is section:
                children = self._scoped_children(page)
            stack.extend((depth + 1, child) for child in reversed(children))

    def prune(self) -> None:
        """Drop cache entries this build did not use (after a complete build)."""
        self.store.prune()


def _restore(page: Page, entry: dict[str, Any], config: MkDocsConfig, files: Files) -> None:
    """Stands in for ``page.render`` on a level-1 hit: the page as it was rendered before."""
    page.content = str(entry["html"])
    page.toc = entry["toc"]
    page._title_from_render = entry["title"]
    page.present_anchor_ids = set(entry["anchors"])
    page.links_to_anchors = {}
