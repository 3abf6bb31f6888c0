"""Playwright driving Debian's Chromium against the live test server.

`playwright install` downloads browsers from outside and fails on the closed network, so the tests use
the system Chromium (apt-get install chromium) with the flags that keep it off the network."""

import os
from collections.abc import Iterator

import pytest

from tests.conftest import CHROMIUM

# Playwright's sync API runs an event loop in the test thread; the test itself only touches the ORM
# between page actions, never concurrently, so Django's async-safety guard can be relaxed here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
