"""CI runs the browser tests instead of skipping them: with UNIHUB_REQUIRE_BROWSER set, a
missing Chromium or Playwright is a failure here (and in the `browser` fixture), also when a
browser test module skips itself at import."""

from __future__ import annotations

import pytest

from tests.webchat.conftest import NO_CHROMIUM, browser_required, chromium_path, playwright_missing


def test_browser_tooling_is_there_when_required() -> None:
    if not browser_required():
        pytest.skip("UNIHUB_REQUIRE_BROWSER is not set")
    assert chromium_path() is not None, NO_CHROMIUM
    assert playwright_missing() is None, playwright_missing()
