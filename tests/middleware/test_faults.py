"""Database faults: unreachable, read-only, full. Clean 503s, recovery, no corruption."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from tests.conftest import codes, get_token
from tests.middleware.conftest import ClientFactory
from unihub.core.config import Settings
from unihub.core.database import Database
from unihub.core.migrate import upgrade
from unihub.middleware.faults import is_unavailable
from unihub.tenants import service as tenants_service


class TcpProxy:
    """A TCP relay on 127.0.0.1 we can cut and restore: a database outage only we see."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.close()
        await self.server.wait_closed()
        self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


async def _tenant_token(db_url: str, client: httpx.AsyncClient) -> dict[str, str]:
    db = Database(db_url)
    try:
        async with db.write() as s:
            created = await tenants_service.create_tenant(s, "faults")
    finally:
        await db.dispose()
    portal = created["clients"]["portal"]
    bearer = await get_token(client, portal["clientId"], portal["clientSecret"])
    return {"Authorization": f"Bearer {bearer}"}


async def _proxied_pg_app(
    make_client: ClientFactory, name: str
) -> tuple[TcpProxy, httpx.AsyncClient, dict[str, str]]:
    """An app whose PostgreSQL sits behind a proxy we can cut, with one hub created."""
    admin = os.environ["UNIHUB_PG_ADMIN_URL"]
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    host_port = admin.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    user = admin.split("://", 1)[1].split("@", 1)[0]
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    url = f"postgresql+asyncpg://{user}@127.0.0.1:{proxy.port}/{name}"
    await asyncio.to_thread(upgrade, Settings(database_url=url, data_dir=Path(tempfile.mkdtemp())))
    client = await make_client(database_url=url)
    auth = await _tenant_token(url, client)
    body = {"name": "before", "description": "d"}
    assert (await client.post("/api/v1/hubs", headers=auth, json=body)).status_code == 200
    return proxy, client, auth


@pytest.mark.skipif(not os.environ.get("UNIHUB_PG_ADMIN_URL"), reason="needs PostgreSQL")
async def test_database_down_answers_503_and_recovers_without_restart(
    make_client: ClientFactory,
):
    proxy, client, auth = await _proxied_pg_app(make_client, "unihub_hardening_faults")
    await proxy.stop()
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"]
    for r in (
        await client.get("/api/v1/hubs", headers=auth),
        await client.post(
            "/api/v1/hubs", headers=auth, json={"name": "during", "description": "d"}
        ),
    ):
        assert r.status_code == 503, r.text
        assert codes(r) == [115]
        assert int(r.headers["retry-after"]) > 0
        assert "asyncpg" not in r.text and "127.0.0.1" not in r.text

    await proxy.start()  # the database is back on the same address
    assert (await client.get("/readyz")).status_code == 200
    listed = await client.get("/api/v1/hubs", headers=auth)
    assert listed.status_code == 200
    assert [h["name"] for h in listed.json()["results"]] == ["before"]
    await proxy.stop()
    await client.app.state.ctx.db.dispose()  # type: ignore[attr-defined]


@pytest.mark.skipif(not os.environ.get("UNIHUB_PG_ADMIN_URL"), reason="needs PostgreSQL")
async def test_connections_closed_by_a_database_restart_are_replaced_unnoticed(
    make_client: ClientFactory,
):
    proxy, client, auth = await _proxied_pg_app(make_client, "unihub_hardening_restart")
    for _ in range(3):  # every pooled connection closed while idle, between two requests
        await proxy.stop()
        await proxy.start()
        await asyncio.sleep(0.05)  # the closed sockets reach the event loop
        listed = await client.get("/api/v1/hubs", headers=auth)
        assert listed.status_code == 200, listed.text
        created = await client.post(
            "/api/v1/hubs", headers=auth, json={"name": f"after-{_}", "description": "d"}
        )
        assert created.status_code == 200, created.text
    await proxy.stop()
    await client.app.state.ctx.db.dispose()  # type: ignore[attr-defined]


async def _scratch_sqlite(make_client: ClientFactory) -> tuple[Path, httpx.AsyncClient, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="unihub-fault-"))
    settings = Settings(data_dir=data_dir, secret_key="test-secret-key")
    await asyncio.to_thread(upgrade, settings)
    client = await make_client(data_dir=data_dir, database_url=None)
    auth = await _tenant_token(settings.resolved_database_url, client)
    return data_dir / "unihub.db", client, auth


def _integrity(db_file: Path) -> str:
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


async def test_read_only_database_gives_clean_503(make_client: ClientFactory):
    db_file, rw, auth = await _scratch_sqlite(make_client)
    made = await rw.post("/api/v1/hubs", headers=auth, json={"name": "kept", "description": "d"})
    assert made.status_code == 200
    # SQLite opened read-only refuses writes exactly as on a read-only file system.
    ro = await make_client(database_url=f"sqlite+aiosqlite:///file:{db_file}?mode=ro&uri=true")
    assert (await ro.get(f"/api/v1/hubs/{made.json()['hubId']}", headers=auth)).status_code == 200
    r = await ro.post("/api/v1/hubs", headers=auth, json={"name": "refused", "description": "d"})
    assert r.status_code == 503, r.text
    assert codes(r) == [115]
    assert "readonly" not in r.text.lower()
    await ro.app.state.ctx.db.dispose()  # type: ignore[attr-defined]
    assert _integrity(db_file) == "ok"
    listed = await rw.get("/api/v1/hubs", headers=auth)
    assert [h["name"] for h in listed.json()["results"]] == ["kept"]


async def test_full_disk_gives_clean_503_and_no_corruption(make_client: ClientFactory):
    db_file, client, auth = await _scratch_sqlite(make_client)
    engine = client.app.state.ctx.db.engine  # type: ignore[attr-defined]
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])

    def _cap(dbapi_conn: Any, _record: Any) -> None:
        # SQLite's own "database or disk is full" (SQLITE_FULL), a few pages from now.
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA max_page_count={pages + 8}")
        cur.close()

    db = client.app.state.ctx.db  # type: ignore[attr-defined]
    for sync_engine in db.sync_engines():
        event.listen(sync_engine, "connect", _cap)
    await db.dispose()
    acknowledged: list[str] = []
    full = None
    for i in range(500):
        r = await client.post(
            "/api/v1/hubs", headers=auth, json={"name": f"h{i}", "description": "x" * 1000}
        )
        if r.status_code != 200:
            full = r
            break
        acknowledged.append(r.json()["hubId"])
    assert full is not None and full.status_code == 503, "the cap was never reached"
    assert codes(full) == [115]
    assert acknowledged  # some writes fit before the disk filled
    assert _integrity(db_file) == "ok"
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        rows = conn.execute("SELECT name, description FROM hubs").fetchall()
    assert len(rows) == len(acknowledged)
    assert all(desc == "x" * 1000 for _, desc in rows)
    await engine.dispose()


@pytest.mark.parametrize(
    ("cause", "unavailable"),
    [
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), True),
        (ConnectionResetError("reset by peer"), True),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (asyncpg.exceptions.UndefinedColumnError("no such column"), False),
    ],
)
def test_unavailability_is_classified_by_sqlstate_not_by_wrapper(
    cause: BaseException, unavailable: bool
) -> None:
    # SQLAlchemy wraps some of these as a plain DBAPIError; the SQLSTATE decides.
    wrapped = DBAPIError("SELECT 1", None, cause)
    assert is_unavailable(wrapped) is unavailable
