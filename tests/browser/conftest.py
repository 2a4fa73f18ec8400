"""Fixtures of the browser tests: Debian's Chromium driven by Playwright against a live server.

The tests marked ``browser`` are skipped, with the reason, when ``/usr/bin/chromium`` is missing
or the ``playwright`` package is not installed, unless ``REQUIRE_BROWSER=1`` (as in ``.ci/run``):
then a missing browser fails the run instead of hiding the tests.

Playwright is never asked to download a browser (``playwright install``): it drives the system
Chromium, with the flags that keep it off the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "browser-test-password"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser_items = [item for item in items if "browser" in item.keywords]
    reason = browser_missing() if browser_items else None
    if reason is None:
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"the browser tests are required (REQUIRE_BROWSER=1) but {reason}")
    skip = pytest.mark.skip(reason=f"browser test skipped: {reason}")
    for item in browser_items:
        item.add_marker(skip)
    config.stash[_skipped_because] = reason


_skipped_because = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say at the end of the run why the browser tests were skipped, without needing ``-rs``."""
    reason = config.stash.get(_skipped_because, None)
    if reason is not None:
        terminalreporter.write_line(f"browser tests skipped: {reason}", yellow=True)


@pytest.fixture
def chromium(monkeypatch) -> Iterator[Any]:
    """A headless Chromium for one test.

    Playwright's sync API keeps an asyncio loop running in this thread while it is open, which
    makes Django refuse ORM calls from the test (``SynchronousOnlyOperation``). The test's own
    queries run between browser steps, never concurrently with them, so the check is lifted for
    the lifetime of the browser only. The browser is closed at the end of each test, so that the
    loop never outlives it into other tests (starting Chromium takes about a second).
    """
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            # Django's connections are local to the asyncio context too: queries made while the
            # loop runs opened connections of their own, which nothing else would close (on
            # PostgreSQL they would keep the test database from being dropped).
            connections.close_all()
            browser.close()


@dataclass
class Site:
    """The live server seen through one browser page, with screenshots of the pages checked."""

    page: Any
    base_url: str
    name: str

    def visit(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        return response

    def screenshot(self, step: str) -> Path:
        """Save the page as ``test-output/screenshots/<test>-<step>.png`` and return the path."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def log_in(self, username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD) -> None:
        self.visit("/admin/login/?next=/admin/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("input[type=submit]")
        self.page.wait_for_url(re.compile(r"/admin/$"))


@pytest.fixture
def site(chromium, live_server, request) -> Iterator[Site]:
    """A fresh browser page on the live server (log in with ``site.log_in()``)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")
    try:
        yield Site(page=page, base_url=live_server.url, name=name)
    finally:
        context.close()
