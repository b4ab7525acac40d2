"""Full-page screenshots of the app's four tabs, for the README and reviews.

    .venv/bin/python scripts/screenshots.py [--out assets/screenshots]

Serves `app.py` on a free loopback port (its own session directory), drives it with Debian's headless Chromium
through Playwright (no `playwright install`: the system browser at /usr/bin/chromium is used) and writes
audit.png (after clicking a gallery image: verdict shown), explore.png (the chosen pair's plots, and the image at
each depth),
train.png (initial state) and about.png at a 1280×900 viewport. The app is always stopped at the end.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: its benchmarks/ package
from benchmarks.local_server import LocalApp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
IMAGES_LOADED = """sel => [...document.querySelectorAll(sel)].length > 0 &&
                          [...document.querySelectorAll(sel)].every(img => img.complete && img.naturalWidth > 0)"""


def take_screenshots(url: str, out: Path, timeout_ms: int = 60_000) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(timeout_ms)
            page.goto(url, wait_until="domcontentloaded")
            expect(page.locator("#example-gallery img").first).to_be_visible()

            def shoot(name: str) -> None:
                page.wait_for_function("() => [...document.images].every(img => img.complete)")
                page.wait_for_timeout(800)  # let transitions and plot resizes settle
                errors = page.locator(".toast-body.error")
                if errors.count():
                    print(f"warning: error toast on {name}: {errors.all_inner_texts()}", file=sys.stderr)
                path = out / f"{name}.png"
                page.screenshot(path=str(path), full_page=True)
                written.append(path)

            # Audit: click the first example; the image's change event runs the audit
            page.get_by_role("tab", name="Audit an image").click()
            page.locator("#example-gallery img").first.click()
            expect(page.locator("#verdict")).to_contain_text("%")
            page.wait_for_function(IMAGES_LOADED, arg="#activation-maps img")
            shoot("audit")

            # Layer depth: its plots are there on arrival; the button adds the audit image at each depth
            page.get_by_role("tab", name="Layer depth & methods").click()
            page.get_by_role("button", name="Show the audit tab's image at each depth").click()
            page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4")
            page.wait_for_function(IMAGES_LOADED, arg="#depth-maps img")
            shoot("explore")

            page.get_by_role("tab", name="Train your own").click()
            expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible()
            shoot("train")

            page.get_by_role("tab", name="About").click()
            expect(page.get_by_text("What is a Membership Inference Test?")).to_be_visible()
            shoot("about")
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshots", help="output folder")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for each step (default 60)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        print(f"error: {CHROMIUM} is missing (Debian package chromium)", file=sys.stderr)
        return 2
    # app.py on a free port with a throw-away session folder; always stopped, even if a step fails
    with tempfile.TemporaryDirectory(prefix="amint_screens_") as work, LocalApp(Path(work)) as app:
        for path in take_screenshots(app.url, args.out, int(args.timeout * 1000)):
            print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
