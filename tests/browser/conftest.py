"""Fixtures of the browser tests: pytest-playwright's, driving Debian's Chromium against Django's
live server.

The tests marked ``browser`` are skipped, with the reason, when ``/usr/bin/chromium`` is missing
or pytest-playwright is not installed, unless ``REQUIRE_BROWSER=1`` (as in ``.ci/run``): then a
missing browser fails the run instead of hiding the tests.

pytest-playwright's ``page`` fixture gives each test a fresh page, with the browser launched once
for the session. Playwright is never asked to download a browser (``playwright install``): the
launch arguments point it at the system Chromium, with the flags that keep it off the network.
pytest-playwright's command-line options (``--headed``, ``--slowmo``, ``--tracing``...) apply.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
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
        import pytest_playwright  # noqa: F401
    except ImportError:
        return "pytest-playwright is not installed (pip install -e '.[dev]')"
    return None


@pytest.hookimpl(trylast=True)  # after the reorderings of pytest, pytest-django, pytest-randomly
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last (see the ``playwright`` fixture), or skip them."""
    browser_items = [item for item in items if "browser" in item.keywords]
    items[:] = [item for item in items if "browser" not in item.keywords] + browser_items
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


@pytest.fixture(scope="session")
def playwright(playwright: Any) -> Iterator[Any]:
    """pytest-playwright's Playwright, with Django's check for async contexts lifted.

    Playwright's sync API keeps an asyncio loop marked as running in this thread while it is
    open, which makes Django refuse ORM calls from the tests (``SynchronousOnlyOperation``).
    The tests' own queries run between browser steps, never concurrently with them, so the check
    is lifted while Playwright runs: from the first browser test to the end of the session, which
    is why the browser tests run last (``pytest_collection_modifyitems`` above).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield playwright
        # Django's connections are local to the asyncio context too: queries made while the
        # loop runs opened connections of their own, which nothing else would close (on
        # PostgreSQL they would keep the test database from being dropped).
        connections.close_all()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, off the network (added to pytest-playwright's options)."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(live_server: Any) -> str:
    """Pages open on the live server: ``page.goto("/admin/")``."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A desktop-sized window (added to pytest-playwright's options)."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


@dataclass
class Site:
    """The live server seen through one browser page, with screenshots of the pages checked."""

    page: Any
    name: str

    def visit(self, path: str) -> Any:
        response = self.page.goto(path)
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
def site(page: Any, request: pytest.FixtureRequest) -> Site:
    """pytest-playwright's page on the live server (log in with ``site.log_in()``)."""
    page.set_default_timeout(20_000)
    return Site(page=page, name=re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.originalname).strip("-"))


@pytest.fixture
def asgi_server(transactional_db: None) -> Iterator[str]:
    """The test project served over ASGI by uvicorn, in a thread of this process, on a free port;
    yields its URL. Django's live server speaks WSGI, which cannot stream the live updates
    (server-sent events); this one shares the test database the same way (same process)."""
    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            ASGIStaticFilesHandler(get_asgi_application()),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    finally:
        server.should_exit = server.force_exit = True
        thread.join(timeout=10)
        listening.close()
