"""Fixtures of the WebChat component tests: the engine's webhook receiver, a real `unihub
serve` process, a host page on another origin, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.engine.conftest import receiver, receiver_server  # noqa: F401 - fixtures
from tests.engine.test_processes import shared_server  # noqa: F401 - fixture
from tests.fakes.server import run_app_in_thread

# scripts/browser.sh installs Debian's chromium; Playwright's own download cannot work here.
_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# As the machine's probe starts it: a root sandbox, no GPU, no calls to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_required() -> bool:
    """CI sets UNIHUB_REQUIRE_BROWSER=1 (.ci/run, scripts/test.sh): a missing browser fails."""
    return os.environ.get("UNIHUB_REQUIRE_BROWSER", "").strip() not in ("", "0")


def no_browser(reason: str) -> NoReturn:
    if browser_required():
        pytest.fail(f"{reason} (UNIHUB_REQUIRE_BROWSER is set: browser tests must run)")
    pytest.skip(reason)


def playwright_missing() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: pip install -e '.[dev]'"
    return None


NO_CHROMIUM = "no Chromium: run scripts/browser.sh (installs Debian's chromium)"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("UNIHUB_CHROMIUM"), *_CANDIDATES):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    executable = chromium_path()
    if executable is None:
        no_browser(NO_CHROMIUM)
    if (missing := playwright_missing()) is not None:
        no_browser(missing)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


class HostSite:
    """A website of another origin (another 127.0.0.1 port) that embeds the component exactly
    as the issue's contract shows; `page(config_js)` is the HTML for one test."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.base_url = ""

    async def serve(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self.pages.get(request.path_params["name"], "not found"))

    def add(self, name: str, html: str) -> str:
        self.pages[name] = html
        return f"{self.base_url}/{name}"


@pytest.fixture(scope="session")
def host_site() -> Iterator[HostSite]:
    site = HostSite()
    app = Starlette(routes=[Route("/{name}", site.serve)])
    site.base_url, stop = run_app_in_thread(app)
    try:
        yield site
    finally:
        stop()


@pytest.fixture(scope="session")
async def webchat_server(settings: Any) -> AsyncIterator[Any]:
    """A `unihub serve` on the session's database for the browser tests, following visitors'
    conversations every 0.2 s (the default 1 s would add half a second to each live message
    a test waits for)."""
    from tests.engine.procs import server_env, start_server

    env = server_env(settings.data_dir, settings.database_url, UNIHUB_DELIVERY_POLL_S="0.2")
    server = await start_server(env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def scene(
    client: Any,
    ctx: Any,
    tenant: Any,
    receiver: Any,  # noqa: F811 - the imported fixture
    webchat_server: Any,
    host_site: HostSite,
    browser: Any,
) -> AsyncIterator[Any]:
    """A hub with a WebChat integration (allowing 127.0.0.1) and a Direct agent; browser
    contexts made through it are closed afterwards (see tests/webchat/scene.py)."""
    from tests.webchat.scene import Scene

    made = Scene(client, ctx, tenant, receiver, webchat_server, host_site, browser)
    await made.setup()
    try:
        yield made
    finally:
        await made.close()
