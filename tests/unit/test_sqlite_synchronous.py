"""`UNIHUB_SQLITE_SYNCHRONOUS` reaches every connection that writes through the app's engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from unihub.app import build_context
from unihub.core.config import Settings

# `PRAGMA synchronous` answers a number: 1 NORMAL, 2 FULL.
LEVELS = {"NORMAL": 1, "FULL": 2}


@pytest.mark.parametrize("value", [None, "NORMAL", "FULL", "full"])
async def test_the_pragma_takes_effect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    monkeypatch.delenv("UNIHUB_DATABASE_URL", raising=False)
    if value is None:
        monkeypatch.delenv("UNIHUB_SQLITE_SYNCHRONOUS", raising=False)
    else:
        monkeypatch.setenv("UNIHUB_SQLITE_SYNCHRONOUS", value)
    settings = Settings(data_dir=tmp_path, secret_key="test")
    expected = LEVELS[(value or "NORMAL").upper()]
    ctx = build_context(settings)
    try:
        async with ctx.db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == expected
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        # The inline writer of `Database.transact` (the hot paths) too.
        level = await ctx.db.transact(lambda s: s.execute(text("PRAGMA synchronous")).scalar())
        assert level == expected
    finally:
        await ctx.db.dispose()


@pytest.mark.parametrize("value", ["OFF", "EXTRA", "", "1"])
def test_other_values_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("UNIHUB_SQLITE_SYNCHRONOUS", value)
    with pytest.raises(ValidationError, match="NORMAL, FULL"):
        Settings()
