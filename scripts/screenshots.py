"""Full-page screenshots of the app's four tabs, for the README and reviews.

    .venv/bin/python scripts/screenshots.py [--out assets/screenshots]

Serves `app.py` on a free loopback port (its own session directory), drives it with Debian's headless Chromium
through Playwright (no `playwright install`: the system browser at /usr/bin/chromium is used) and writes
audit.png (after clicking a gallery image: verdict shown), explore.png (after "Show" with the default family),
train.png (initial state) and about.png at a 1280×900 viewport. The app is always stopped at the end.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
IMAGES_LOADED = """sel => [...document.querySelectorAll(sel)].length > 0 &&
                          [...document.querySelectorAll(sel)].every(img => img.complete && img.naturalWidth > 0)"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_app(start_timeout: float = 120.0):
    """Runs `python app.py` on a free port; yields its URL; terminates it on exit."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="amint_screens_") as work:
        env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", GRADIO_SERVER_PORT=str(port),
                   GRADIO_SERVER_NAME="127.0.0.1", AMINT_SESSION_DIR=str(Path(work) / "sessions"))
        log = Path(work) / "app.log"
        with log.open("w") as sink:
            process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=sink,
                                       stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"app.py exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"app.py did not answer within {start_timeout:.0f} s:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


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

            # Layer depth: "Show" with the default family (the audit image also fills the per-depth row)
            page.get_by_role("tab", name="Layer depth & methods").click()
            page.get_by_role("button", name="Show", exact=True).click()
            page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2")
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
    with serve_app() as url:
        for path in take_screenshots(url, args.out, int(args.timeout * 1000)):
            print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
