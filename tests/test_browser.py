"""End-to-end browser test: the real app served by `python app.py`, driven by headless Chromium (Playwright).

Offline and CPU only: Debian's Chromium (/usr/bin/chromium) is used as is (no `playwright install`); the test
is skipped where it is missing. The app runs as a subprocess on a free loopback port and is always stopped.
"""
from __future__ import annotations

import re
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from amint_demo.runtime import PairRegistry
from amint_demo.settings import Settings
from benchmarks.local_server import LocalApp

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is missing: the browser test needs Debian's Chromium", allow_module_level=True)
pytestmark = pytest.mark.slow  # an app process and a headless Chromium
playwright_sync = pytest.importorskip("playwright.sync_api", reason="the browser test needs the playwright package")
expect = playwright_sync.expect

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 90  # the app imports torch/timm/gradio and loads the pair list: 10-20 s on an idle machine
FIRST_VERDICT_MS = 30_000  # the first audit also loads the pair's weights
UI_MS = 15_000
ERROR_TOAST = ".toast-body.error"  # gr.Error / unhandled exceptions show up as Gradio error toasts


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    """Serves app.py on a free port (own session dir); yields its URL; stops it afterwards, whatever happens."""
    with ExitStack() as stack:
        try:
            app = stack.enter_context(LocalApp(tmp_path_factory.mktemp("browser_app"), timeout=START_TIMEOUT_S))
        except RuntimeError as err:
            pytest.fail(str(err))
        yield app.url


@pytest.fixture(scope="module")
def browser():
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh page on the app, loaded; collects uncaught JavaScript errors in `page.js_errors`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_MS)
    new_page = context.new_page()
    new_page.js_errors = []
    new_page.on("pageerror", lambda err: new_page.js_errors.append(str(err)))
    new_page.goto(app_url, wait_until="domcontentloaded")
    expect(new_page.locator("#example-gallery img").first).to_be_visible(timeout=30_000)
    try:
        yield new_page
    finally:
        context.close()


def _audit_first_example(page) -> None:
    """Click the first gallery image and wait for its verdict (label with member text and a percentage)."""
    page.get_by_role("tab", name="Audit an image").click()
    page.locator("#example-gallery img").first.click()
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text(re.compile(r"\d+(\.\d+)?\s*%"), timeout=FIRST_VERDICT_MS)
    expect(verdict).to_contain_text("member")


def test_tabs_and_gallery_audit_in_the_browser(page, tmp_path: Path):
    started = time.monotonic()
    assert "aMINT" in page.title()

    tabs = {  # tab name -> a text only that tab shows
        "Layer depth & methods": "What to look for.",
        "Train your own": "Your images to add to the members",
        "About": "What is a Membership Inference Test?",
        "Audit an image": "Members and non-members: click one, then guess",
    }
    for name, text in tabs.items():
        tab = page.get_by_role("tab", name=name)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        expect(page.get_by_text(text, exact=False).first).to_be_visible()
    # the other tabs' content is hidden again
    expect(page.get_by_text("What is a Membership Inference Test?").first).to_be_hidden()

    _audit_first_example(page)
    verdict_text = page.locator("#verdict").inner_text()
    assert re.search(r"\bmember\b", verdict_text, re.IGNORECASE), verdict_text
    expect(page.locator("#verdict-text")).to_contain_text("probability that this image was in the model's training set")
    maps = page.locator("#activation-maps img")
    expect(maps.first).to_be_visible()
    assert maps.count() >= 1
    page.wait_for_function("""() => [...document.querySelectorAll('#activation-maps img')]
                                   .some(img => img.complete && img.naturalWidth > 0)""", timeout=UI_MS)

    assert page.locator(ERROR_TOAST).count() == 0, page.locator(ERROR_TOAST).all_inner_texts()
    assert not page.js_errors, page.js_errors

    shot = tmp_path / "audit.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000, shot.stat().st_size
    assert time.monotonic() - started < 60


def test_gallery_example_shows_its_ground_truth(page):
    _audit_first_example(page)
    expect(page.locator("#verdict-text")).to_contain_text("Ground truth", timeout=2_000)


def test_example_gallery_fits_its_column(page):
    sizes = page.evaluate("""() => { const wrap = document.querySelector('#example-gallery .grid-wrap');
                                     return [wrap.clientWidth, wrap.scrollWidth]; }""")
    assert sizes[1] <= sizes[0] + 1, f"gallery content {sizes[1]} px wide in a {sizes[0]} px box"


def test_eight_pages_click_the_same_gallery_image_at_once_and_everything_loads(browser, app_url):
    """A conference booth: every page gets its verdict and every map image loads completely."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(8)]
    try:
        pages = [context.new_page() for context in contexts]
        for page in pages:
            page.goto(app_url, wait_until="domcontentloaded")
        for page in pages:
            expect(page.locator("#example-gallery img").first).to_be_visible(timeout=60_000)
        for page in pages:  # as close together as one driver can click
            page.locator("#example-gallery img").first.click()
        for page in pages:
            expect(page.locator("#verdict")).to_contain_text("member", timeout=60_000)
            page.wait_for_function("""() => {
                const maps = [...document.querySelectorAll('#activation-maps img, #membership-maps img')];
                return maps.length >= 2 && maps.every(img => img.complete && img.naturalWidth > 0);
            }""", timeout=UI_MS)
            assert page.locator(ERROR_TOAST).count() == 0, page.locator(ERROR_TOAST).all_inner_texts()
    finally:
        for context in contexts:
            context.close()


def test_the_depth_tab_shows_its_plots_on_arrival(page):
    page.get_by_role("tab", name="Layer depth & methods").click()
    plots = page.locator(".js-plotly-plot")
    expect(plots.first).to_be_visible(timeout=UI_MS)
    assert plots.count() >= 4  # depth, ROC, reliability, histograms: no button needed
    settings = Settings.from_env(app_root=ROOT)  # what app.py reads, so AMINT_PAIRS is honoured here too
    registry = PairRegistry(settings.resolved_pairs_dir(), settings.resolved_session_dir())
    family = registry.family_of_pair(registry.default_pair())  # the tab opens on the default pair's family
    expect(page.get_by_text(f"{family}: metrics by tap depth").first).to_be_visible()
