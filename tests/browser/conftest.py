"""Browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium).

One Chromium for the browser tests (module scope, one xdist group); each test gets its own
alertd (demo district, a fresh SQLite file) served from a thread, and its own browser
contexts. Every
request that does not go to that alertd is aborted and recorded: the console must work with
no internet, and a test fails if anything tried to leave.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import Api, Offline, ServedAlertd
from console_pages import ConsolePage
from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = os.environ.get("ALERTD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


# Module scope, and every browser test in one xdist group (./dev runs --dist loadgroup): the
# sync API keeps an event loop running in this thread while Chromium is open, which would
# break the asyncio tests run after it on the same worker. One Chromium per worker that runs
# the browser tests, closed when they are done.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./dev test installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def alertd(tmp_path: Path) -> Iterator[ServedAlertd]:
    with ServedAlertd(tmp_path) as served:
        yield served


@pytest.fixture
def api(alertd: ServedAlertd) -> Iterator[Api]:
    client = Api(alertd.url)
    yield client
    client.http.close()


@pytest.fixture
def offline(alertd: ServedAlertd) -> Offline:
    return Offline(alertd.url)


@pytest.fixture
def new_context(
    browser: Browser, alertd: ServedAlertd, offline: Offline
) -> Iterator[Callable[..., BrowserContext]]:
    contexts: list[BrowserContext] = []

    def make(width: int = 1366, height: int = 768, **options: Any) -> BrowserContext:
        # options: what else the context emulates (locale="es-ES" for a Spanish browser)
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.route("**/*", offline)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert offline.blocked == [], f"requests left the machine: {offline.blocked}"


@pytest.fixture
def console(
    alertd: ServedAlertd, new_context: Callable[..., BrowserContext]
) -> Callable[..., ConsolePage]:
    """A console signed in as the demo user of `role` (a fresh browser context each)."""

    def open_console(role: str = "dispatcher", **viewport: int) -> ConsolePage:
        page = new_context(**viewport).new_page()
        return ConsolePage(page, alertd.url).sign_in(role)

    return open_console
