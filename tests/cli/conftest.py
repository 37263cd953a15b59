"""A database of the test's own for CLI processes: a new SQLite data dir, or on the PostgreSQL
pass a new, empty database in the suite's cluster (dropped afterwards)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.middleware.served import server_env

PG = bool(os.environ.get("UNIHUB_TEST_DATABASE_URL"))


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(os.environ["UNIHUB_PG_ADMIN_URL"])
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def fresh_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of `unihub` processes over an empty database of their own."""
    env = server_env(tmp_path / "data", UNIHUB_LOG_LEVEL="INFO")
    if not PG:
        yield env
        return
    admin = os.environ.get("UNIHUB_PG_ADMIN_URL")
    assert admin, "the PostgreSQL pass runs through scripts/test.sh, which sets it"
    name = f"unihub_cli_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    env["UNIHUB_DATABASE_URL"] = f"{base}/{name}"
    try:
        yield env
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
