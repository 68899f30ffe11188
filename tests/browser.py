"""A real headless Chromium, driven by Playwright for Python (a maintained driver).

Chromium is Debian's (``make setup`` installs it), launched through ``executable_path``,
so no browser is downloaded: this works offline. The tests fail, never skip, without it.
Key presses and clicks go through Playwright's keyboard and mouse, which send the input
events a user's keyboard and mouse make (DevTools ``Input.dispatch*``), not synthetic
DOM events.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    return next((p for p in map(shutil.which, NAMES) if p), None)


class Browser:
    def __init__(self, width: int = 1000, height: int = 800):
        exe = chromium_path()
        assert exe, "chromium not found: run `make setup` (installs Debian's chromium)"
        self._driver = sync_playwright().start()
        try:
            self._browser = self._driver.chromium.launch(
                executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
            self.page = self._browser.new_page(viewport={"width": width, "height": height},
                                               device_scale_factor=1)
        except BaseException:
            self._driver.stop()
            raise
        self._errors: list[str] = []
        self.page.on("pageerror", lambda e: self._errors.append(f"{e.name}: {e.message}"))
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        url = (message.location or {}).get("url", "")
        if message.type == "error" and not url.endswith("/favicon.ico"):  # a page has none
            self._errors.append(f"{message.text} ({url})" if url else message.text)

    def open(self, url: str) -> None:
        self._errors.clear()
        self.page.goto(url, wait_until="load", timeout=30_000)

    def errors(self) -> list[str]:
        """Uncaught exceptions and console errors since the page was opened."""
        return list(self._errors)

    def js(self, expression: str):
        """The value of a JavaScript expression (a promise is awaited)."""
        return self.page.evaluate(f"async () => ({expression})")

    def key(self, key: str, code: int | None = None) -> None:
        """Press and release ``key`` (a DOM key name: ``ArrowRight``, ``End``)."""
        self.page.keyboard.press(key)

    def click(self, selector: str, frame: str = "document") -> None:
        """Click the middle of an element (of ``frame``, a JS expression for a document)."""
        x, y = self.js(f"(() => {{ const r = {frame}.querySelector({json.dumps(selector)})"
                       f".getBoundingClientRect(); const o = {frame} === document ? "
                       f"{{x: 0, y: 0}} : {frame}.defaultView.frameElement"
                       f".getBoundingClientRect(); return [o.x + r.x + r.width / 2, "
                       f"o.y + r.y + r.height / 2]; }})()")
        self.page.mouse.click(x, y)

    def screenshot(self, path: Path) -> bytes:
        return self.page.screenshot(path=str(path))

    def close(self) -> None:
        try:
            self._browser.close()
        finally:
            self._driver.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` over HTTP on localhost, as a docs site would; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
