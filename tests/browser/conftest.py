"""A real demo gateway (`gamegate serve --config config/gamegate.toml --demo`) and Debian's
chromium driven by Playwright, shared by the browser tests of one module.

Chromium is Debian's (`/usr/bin/chromium`, which `.ci/run` installs when missing),
started through `executable_path`: Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from gateway.demo import DEMO_LOBBY_KEY, DEMO_OPERATOR_KEY
from tests.system.served import Served, serve

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
"""As root (CI) chromium needs --no-sandbox; /dev/shm may be small in containers."""
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
ARTIFACTS = REPO / "test-artifacts"
PAGE_TIMEOUT_MS = 10_000
API_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo gateway on a free port with its own data directory."""
    directory = tmp_path_factory.mktemp("lobby")
    env = {name: value for name, value in os.environ.items() if not name.startswith("GAMEGATE_")}
    env["GAMEGATE_LOG_LEVEL"] = "warning"  # no request lines: serve.out stays small
    arguments = ["--config", str(REPO / "config" / "gamegate.toml"), "--demo"]
    with serve(directory, arguments, env) as served:
        yield served


@pytest.fixture(scope="module")
def admin(gateway: Served) -> Iterator[httpx.Client]:
    """The operator API with the demo admin key (to check the wallet behind the page)."""
    headers = {"Authorization": f"Bearer {DEMO_OPERATOR_KEY}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=API_TIMEOUT_S) as client:
        yield client


@pytest.fixture(scope="module")
def lobby_api(gateway: Served) -> Iterator[httpx.Client]:
    """The lobby API with the demo lobby key (what the page's tiles must agree with)."""
    headers = {"Authorization": f"Bearer {DEMO_LOBBY_KEY}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=API_TIMEOUT_S) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(`.ci/run` installs it; by hand: apt-get install -y chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; a script error on it fails the test."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"script errors on the page: {errors}"
