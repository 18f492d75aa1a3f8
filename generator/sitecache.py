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

A third thing, :class:`SiteOutput`: **unchanged output files are left alone.** mkdocs empties
``site/`` before every build and writes every page, download and theme asset again; on the
measured machine creating a file costs about 0.7 ms, so a rebuild of 7,000 unchanged files
spent most of its time in the file system. The plugin keeps the previous ``site/`` out of the
way of that clean (moved into a hidden folder, which mkdocs' clean skips, and back before
anything is written), skips every page and static file whose bytes on disk are already the
ones mkdocs would write, and afterwards deletes what a clean build would not have made: the
files of the previous build that this build neither wrote nor confirmed. Content decides, not
modification times; the result is the same tree as a clean build's (the determinism test
compares them).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
from collections.abc import Collection, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure import StructureItem
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page

from generator import cache

EMPTY_TEMPLATE = "runbook-cached-page.html"
_SEARCH_ATTRIBUTE = "data-search-"  # what mkdocs-material's search removes from every page
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
        self._set_aside: dict[str, str] = {}
        parts: list[bytes | str] = [
            cache.generator_fingerprint(),
            Path(config.config_file_path).read_bytes(),
        ]
        for dist in _VERSIONS:
            parts += [dist, cache.installed_version(dist) or ""]
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

    def set_aside_content(self, page: Page) -> None:
        """Before the other plugins' ``on_page_context`` of a page whose finished HTML is
        cached: its content is set aside (an empty string meanwhile). The search plugin's
        entries for it come from the cache (:meth:`_hook_search`), and its other work there, a
        regular-expression pass over the content that removes ``data-search-*`` attributes,
        would change nothing in content without that text; it was a second of a rebuild at
        N = 1,000 (every page's HTML scanned). Put back by :meth:`put_back_content`."""
        content = page.content
        if page.file.src_uri in self.hits and content and _SEARCH_ATTRIBUTE not in content:
            self._set_aside[page.file.src_uri] = content
            page.content = ""

    def put_back_content(self, page: Page) -> None:
        content = self._set_aside.pop(page.file.src_uri, None)
        if content is not None:
            page.content = content

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

    def _scoped_children(self, page: Page | None) -> list[StructureItem]:
        """The environments section's children as ``page`` shows them: its pages (the
        catalogue) and, of its sections, only the one ``page`` lies in. O(depth), not O(N).
        Without a page (the theme's 404 page), the catalogue alone."""
        section = self._section
        assert section is not None
        own = [a for a in page.ancestors if a.parent is section] if page is not None else []
        return sorted(self._section_pages + own, key=lambda item: self._positions[id(item)])

    def scope_nav(self, page: Page | None) -> None:
        """While ``page`` renders, its environments section lists only the catalogue and the
        page's own environment (undone by :meth:`restore_nav`); while a theme template such as
        404.html renders (no page), only the catalogue."""
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


class BytecodeCache(jinja2.BytecodeCache):
    """The theme's compiled templates, in a cache namespace of their own (``theme``; compiling
    mkdocs-material's templates cost about half a second of every build that renders a page).
    Jinja keys a template by its name, file and source checksum; the bytecode records the
    Python version. Not pruned: a build where every page is cached loads few templates, and
    the next one that renders a page needs the others (the namespace grows only with new
    versions of the theme)."""

    def __init__(self, root: Path) -> None:
        self.store = cache.Cache(root, "theme")

    def close(self) -> None:
        self.store.close()

    def _key(self, bucket: jinja2.bccache.Bucket) -> str:
        return cache.hash_parts("jinja-bytecode", bucket.key, bucket.checksum)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.store.get(self._key(bucket))
        if isinstance(data, bytes):
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store.put(self._key(bucket), bucket.bytecode_to_string())


HOLD = ".runbook-previous"  # hidden: mkdocs' clean leaves it alone
_Stat = tuple[int, int, int, int]


class SiteOutput:
    """Leaves unchanged files of ``site/`` alone (see the module's docstring).

    The build's steps, in order: :meth:`hold` (before mkdocs' clean), :meth:`release` (before
    anything is written), :meth:`page_unchanged` and :meth:`keep_static` (while writing),
    :meth:`sweep` (after everything is written)."""

    def __init__(self, site_dir: str) -> None:
        self.site = os.path.abspath(site_dir)
        self.held = False
        self.before: dict[str, _Stat] = {}  # the previous build's files, as released
        self.claimed: set[str] = set()  # written or confirmed by this build
        self.skipped_messages: set[str] = set()
        self._filter = _SkippedPages(self.skipped_messages)

    def hold(self) -> None:
        """Move the previous build's files into a hidden folder of ``site/``."""
        hold = os.path.join(self.site, HOLD)
        shutil.rmtree(hold, ignore_errors=True)  # left by a build that stopped half-way
        logging.getLogger("mkdocs.commands.build").addFilter(self._filter)
        try:
            entries = [e for e in sorted(os.listdir(self.site)) if not e.startswith(".")]
        except OSError:
            return
        if not entries:
            return
        try:
            os.mkdir(hold)
            for entry in entries:
                os.rename(os.path.join(self.site, entry), os.path.join(hold, entry))
        except OSError:
            shutil.rmtree(hold, ignore_errors=True)  # a clean build, as without the plugin
            return
        self.held = True

    def release(self) -> None:
        """Put the held files back (mkdocs' clean is done) and note what they were."""
        if not self.held:
            return
        self.held = False
        hold = os.path.join(self.site, HOLD)
        try:
            for entry in sorted(os.listdir(hold)):
                target = os.path.join(self.site, entry)
                if os.path.lexists(target):  # written meanwhile by someone else: theirs wins
                    _remove(os.path.join(hold, entry))
                else:
                    os.rename(os.path.join(hold, entry), target)
            os.rmdir(hold)
        except OSError:
            shutil.rmtree(hold, ignore_errors=True)
        self.before = dict(_walk(self.site))

    def _clear_way(self, path: str) -> None:
        """Before a changed file is written to ``path``: remove the previous build's file there,
        so that the new one is a new file as after mkdocs' clean (a hard link or a symbolic
        link to the old one elsewhere keeps the old bytes), or its folder there (or a file
        where this one needs a folder)."""
        if not self.before:
            return
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)
        parent = os.path.dirname(path)
        while len(parent) > len(self.site):
            if os.path.lexists(parent) and not os.path.isdir(parent):
                os.unlink(parent)
            parent = os.path.dirname(parent)

    def page_unchanged(self, page: Page, output: str) -> bool:
        """True when ``page``'s file already holds ``output`` as mkdocs would write it: then
        mkdocs is handed an empty page (it skips the write) and its notice is filtered out."""
        path = os.path.abspath(page.file.abs_dest_path)
        self.claimed.add(path)
        if not output.strip():
            return False
        if _holds(path, output.encode("utf-8", errors="xmlcharrefreplace")):
            self.skipped_messages.add(
                f"Page skipped: '{page.file.src_uri}'. Generated empty output."
            )
            return True
        self._clear_way(path)
        return False

    def keep_static(self, files: Files) -> None:
        """Route every static file's copy through :meth:`_copy` (skip it when unchanged)."""
        for file in files:
            if not file.is_documentation_page():
                file.copy_file = functools.partial(self._copy, file)  # type: ignore[method-assign]

    def _copy(self, file: File, dirty: bool = False) -> None:
        path = os.path.abspath(file.abs_dest_path)
        self.claimed.add(path)
        if _same_static(file, path):
            return
        self._clear_way(path)
        File.copy_file(file, dirty)

    def abandon(self) -> None:
        """After a failed build: the previous files back in place (as far as they are still
        held), and mkdocs' notices as usual."""
        self.release()
        self.held = False
        logging.getLogger("mkdocs.commands.build").removeFilter(self._filter)

    def sweep(self) -> None:
        """Delete the previous build's files that this build did not write or confirm (a clean
        build would not have them), and the folders that leaves empty."""
        logging.getLogger("mkdocs.commands.build").removeFilter(self._filter)
        if not self.before:
            return
        emptied: set[str] = set()
        for path, stat in _walk(self.site, skip=self.claimed):
            if self.before.get(path) != stat:
                continue  # this build's (also when another plugin wrote it)
            try:
                os.unlink(path)
            except OSError:
                continue
            emptied.add(os.path.dirname(path))
        for folder in sorted(emptied, key=len, reverse=True):
            while len(folder) > len(self.site):
                try:
                    os.rmdir(folder)
                except OSError:
                    break
                folder = os.path.dirname(folder)


class _SkippedPages(logging.Filter):
    """Drops mkdocs' "Page skipped ... empty output" notice for the pages left as they were."""

    def __init__(self, messages: set[str]) -> None:
        super().__init__()
        self.messages = messages

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.messages and record.getMessage() in self.messages)


def _walk(top: str, skip: Collection[str] = ()) -> Iterator[tuple[str, _Stat]]:
    """Every file (or link) below ``top`` except top-level hidden entries (mkdocs' clean
    leaves those) and the paths in ``skip``, with what identifies its current version."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if folder == top and entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                if entry.path in skip:
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield entry.path, (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _holds(path: str, data: bytes) -> bool:
    """True when the regular file at ``path`` holds exactly ``data``."""
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size != len(data):
                return False
            return f.read() == data
    except OSError:
        return False


def _same_static(file: File, path: str) -> bool:
    """True when ``path`` holds what ``file.copy_file`` would write there."""
    content = file._content
    if isinstance(content, str):
        if os.linesep != "\n":  # mkdocs writes text mode: leave that to mkdocs
            return False
        return _holds(path, content.encode("utf-8"))
    if isinstance(content, bytes):
        return _holds(path, content)
    if file.abs_src_path is None:
        return False
    try:
        src, dest = os.stat(file.abs_src_path), os.stat(path)
        if src.st_size != dest.st_size or os.path.samefile(file.abs_src_path, path):
            return False
        with open(file.abs_src_path, "rb") as f:
            return _holds(path, f.read())
    except OSError:
        return False


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        os.unlink(path)
