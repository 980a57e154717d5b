"""Browser tests' common ground: Debian's chromium through Playwright, the app served on a free local port,
and screenshots kept as test artefacts (and refreshed in docs/img/ when asked)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from registry import config

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DOC_IMAGES = ROOT / "docs" / "img"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
BROWSER_REQUIRED = config.get("NSI_BROWSER_REQUIRED")
NO_CHROMIUM = ("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium); "
               "CI installs it and sets NSI_BROWSER_REQUIRED")
# A browser test module's pytestmark: skipped without chromium, unless CI requires it.
MARKS = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists() and not BROWSER_REQUIRED, reason=NO_CHROMIUM)]


@contextmanager
def serving(store, **settings) -> Iterator[str]:
    """The web app over `store` on a free local port, in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    from registry.web import create_app
    app = create_app({"TESTING": True, "NSI_STORE": store, "NSI_RECOVER_JOBS": False, "NSI_SECRET_KEY": "x",
                      **settings})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()


@contextmanager
def chromium_page(width: int, height: int, locale: str = "en-GB") -> Iterator:
    """A page of Debian's chromium at a viewport of `width` × `height`, in British English unless `locale` says
    otherwise (`ru-RU`: the browser asks for Russian pages, as a Russian coder's does)."""
    if not CHROMIUM.exists():
        pytest.fail(f"NSI_BROWSER_REQUIRED is set but {NO_CHROMIUM}")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser.new_context(viewport={"width": width, "height": height}, locale=locale).new_page()
        finally:
            browser.close()


def shoot(page, name: str, doc_shots: set[str], full: bool = True) -> None:
    """Save a screenshot into test-artifacts/, and into docs/img/ when it is one of the guides' `doc_shots`
    and NSI_UPDATE_DOC_SCREENSHOTS asks to refresh them. The Russian guide's images are `NAME.ru.png`, taken
    with the pages in Russian."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full)
    if config.get("NSI_UPDATE_DOC_SCREENSHOTS") and name in doc_shots:
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / name), full_page=full)
