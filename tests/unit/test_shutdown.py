"""Shutdown steps are bounded: one that never finishes is abandoned and logged, not awaited."""

from __future__ import annotations

import asyncio
import logging

import pytest

from unihub import app as app_module


async def test_a_stuck_step_is_abandoned(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(app_module, "SHUTDOWN_STEP_S", 0.05)
    never = asyncio.Event()

    async def stuck_close() -> None:
        await never.wait()

    with caplog.at_level(logging.WARNING, logger="unihub.app"):
        await asyncio.wait_for(app_module._bounded("closing a stuck thing", stuck_close()), 5)
    assert "closing a stuck thing did not finish" in caplog.text


async def test_a_failing_step_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise OSError("socket already gone")

    with caplog.at_level(logging.WARNING, logger="unihub.app"):
        await app_module._bounded("closing a broken thing", broken())
    assert "closing a broken thing failed" in caplog.text
