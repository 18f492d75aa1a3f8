"""The built site in a real browser: Debian's Chromium driven by Playwright, on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pwsh
import pytest
import yaml
from conftest import CHROMIUM_ARGS, served_site
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

pytestmark = pytest.mark.browser


@pytest.fixture
def site(project: Path) -> Iterator[tuple[str, Path]]:
    """`mkdocs build --strict` of the example project, served on 127.0.0.1:<free port>."""
    with served_site(project) as origin:
        yield origin, project


def test_site_catalogue_copy_button_search(site: tuple[str, Path], artifacts: Path) -> None:
    origin, project = site
    envs = {
        p.stem: yaml.safe_load(p.read_text("utf-8"))
        for p in sorted((project / "environments").glob("*.yml"))
    }
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(f"{msg.text} ({msg.location.get('url')})")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
            page = context.new_page()
            page.set_default_timeout(10_000)
            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

            # The catalogue lists every environment, with a working link to its overview.
            page.goto(f"{origin}/environments/")
            table = page.locator("article table").first
            for name, data in envs.items():
                link = table.get_by_role("link", name=name, exact=True)
                assert link.count() == 1, name
                assert data["lync"]["pool"] in table.inner_text()
            assert table.locator("tbody tr").count() == len(envs)
            # The days left are counted in the browser, on the day the page is read.
            days = (dt.date(2029, 1, 1) - dt.date.today()).days
            contoso = table.locator("tbody tr", has_text="contoso").inner_text()
            shown = [f"OAuthTokenIssuer: 2029-01-01 ({n} days left)" for n in (days, days - 1)]
            assert any(text in contoso for text in shown)  # days - 1: midnight passed since

            # The copy button of the Set-CsOAuthConfiguration block copies exactly that command.
            page.goto(f"{origin}/environments/litwareinc/runbook/")
            page.screenshot(path=str(artifacts / "runbook-page.png"), full_page=False)
            _check_rendered_markdown(page)
            block = page.locator(
                "div.highlight",
                has_text="Set-CsOAuthConfiguration -Identity global -ExchangeAutodiscoverUrl 'https://",
            )
            assert block.count() == 1
            block.hover()
            block.locator("button[data-md-type=copy]").click()
            copied = page.evaluate("navigator.clipboard.readText()")
            # The block is the step's change inside its decision, exactly as the script has it.
            script = (project / "site/environments/litwareinc/litwareinc-lync.ps1").read_text(
                "utf-8-sig"
            )
            assert copied.startswith("Save-RunbookState -Step '6'") and not pwsh.has_error(copied)
            assert (
                "Set-CsOAuthConfiguration -Identity global -ExchangeAutodiscoverUrl "
                "'https://autodiscover.litwareinc.com/autodiscover/autodiscover.svc'"
            ) in copied
            assert "\n".join("    " + line for line in copied.splitlines()) in script

            # The overview shows its topology diagram (the SVG really loaded), for a person to see.
            page.goto(f"{origin}/environments/contoso/")
            diagram = page.locator("article img[src$='contoso-topology.svg']")
            assert diagram.count() == 1
            diagram.scroll_into_view_if_needed()
            assert page.evaluate(
                "img => img.complete && img.naturalWidth > 0", diagram.element_handle()
            )
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(artifacts / "overview-page.png"), full_page=True)

            # Every environment's pages show no raw markup (entities in code spans, fences, Jinja).
            for name, data in envs.items():
                for url in (
                    f"{origin}/environments/{name}/",
                    f"{origin}/environments/{name}/runbook/",
                ):
                    page.goto(url)
                    _check_no_leftovers(page)
                    assert data["lync"]["pool"] in page.locator("article").inner_text()

            # Search finds an environment by its pool FQDN (Material's search reacts to key events).
            pool = envs["contoso"]["lync"]["pool"]
            page.goto(f"{origin}/")
            page.locator("label.md-search__icon, .md-search__input").first.click()
            search = page.locator("input.md-search__input")
            search.press_sequentially(pool, delay=20)
            results = page.locator(".md-search-result__item")
            results.first.wait_for()
            hrefs = [
                results.nth(i).locator("a").first.get_attribute("href") or ""
                for i in range(results.count())
            ]
            assert any("environments/contoso/" in h for h in hrefs), hrefs

            assert not errors, errors
        finally:
            browser.close()


def _check_no_leftovers(page: Page) -> None:
    """What a reader sees: no raw Markdown or Jinja or character references left as text."""
    text = page.locator("article").inner_text()
    for leftover in ("```", "{{", "{%", "!!!", "===", "&#", "&amp;", "&lt;"):
        assert leftover not in text, (page.url, leftover)


def _check_rendered_markdown(page: Page) -> None:
    """The litwareinc runbook: title, admonitions, tabs and task lists rendered as such."""
    _check_no_leftovers(page)
    assert (
        page.locator("article h1").inner_text().removesuffix("¶").strip() == "Runbook: Litware Inc."
    )
    assert page.locator("article .admonition").count() >= 5
    assert page.locator("article .tabbed-set").count() >= 1
    assert page.locator("article .task-list-item").count() >= 4
