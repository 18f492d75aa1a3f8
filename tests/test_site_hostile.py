"""Issue 6: a site built from hostile free text runs no one's script and shows the text
literally, in Debian's Chromium (catalogue, overview, runbook, search results)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import CHROMIUM_ARGS, served_site
from playwright.sync_api import Dialog, sync_playwright

pytestmark = pytest.mark.browser

HOSTILE = {
    "title": "Evil <script>window.__pwned='title'</script> Corp",
    "description": (
        "<img src=x onerror=\"window.__pwned='img'\"> [click me](javascript:window.__pwned='link') "
        "![pic](javascript:window.__pwned='image') <div onmouseover=\"window.__pwned='div'\">raw</div> "
        "{: onclick=\"window.__pwned='attr'\" } &lt;b&gt;entity&lt;/b&gt; {{ 7*7 }}"
    ),
    "change": {
        "id": "<svg/onload=window.__pwned='svg'>",
        "summary": '[x](javascript:alert(1)) <a href="javascript:alert(2)">a</a>',
        "requested_by": "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
        "implementer": "`code` **bold** <style>body{display:none}</style>",
        "risk": "high",
    },
}


def _hostile_project(project: Path) -> None:
    path = project / "environments" / "litwareinc.yml"
    data = yaml.safe_load(path.read_text("utf-8"))
    data.update({k: v for k, v in HOSTILE.items() if k != "change"})
    data["change"].update(HOSTILE["change"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


def test_hostile_free_text_runs_no_script_and_shows_literally(
    project: Path, artifacts: Path
) -> None:
    _hostile_project(project)
    dialogs: list[str] = []
    with served_site(project) as origin, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(10_000)

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        for url in (
            "/environments/",
            "/environments/litwareinc/",
            "/environments/litwareinc/runbook/",
        ):
            page.goto(origin + url)
            page.wait_for_load_state("networkidle")
            page.mouse.move(400, 400)  # would fire an injected onmouseover
            for link in page.locator("article a").all():  # no injected javascript: link
                assert not (link.get_attribute("href") or "").lower().startswith("javascript:")
            assert page.evaluate("() => window.__pwned === undefined"), url
            assert (
                page.locator(
                    "article img[onerror], article svg[onload], article iframe, article style"
                ).count()
                == 0
            ), url
            assert page.evaluate(
                "() => [...document.scripts].every(s => !s.textContent.includes('__pwned'))"
            )
        # Shown literally, as the author typed it (the overview shows every free-text field).
        page.goto(origin + "/environments/litwareinc/")
        text = page.locator("article").inner_text()
        for value in (
            HOSTILE["title"],
            HOSTILE["change"]["id"],
            HOSTILE["change"]["summary"],
            HOSTILE["change"]["implementer"],
        ):
            assert value in text, value
        assert "{{ 7*7 }}" in text and "[click me](javascript:window.__pwned='link')" in text
        assert page.locator("article").is_visible()  # the injected <style> hid nothing
        page.screenshot(path=str(artifacts / "hostile-overview.png"), full_page=True)
        # Search results render page text too: still nothing runs.
        page.locator("label.md-search__icon, .md-search__input").first.click()
        page.locator("input.md-search__input").press_sequentially("Evil", delay=30)
        results = page.locator(".md-search-result__item")
        results.first.wait_for(timeout=15_000)
        assert "Evil <script>" in page.locator(".md-search-result").inner_text()
        page.mouse.move(300, 300)
        assert page.evaluate("() => window.__pwned === undefined")
        browser.close()
    assert dialogs == []
