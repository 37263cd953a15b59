"""Engine behaviour across real server processes: the Events websocket, a client connected to
another process than the one that accepted the activity, and the outbox surviving SIGKILL."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import TenantCreds
from tests.engine.factories import hub_with_agent, make_integration
from tests.engine.procs import Server, server_env, start_server
from tests.engine.receiver import Receiver, wait_for
from unihub.core.config import Settings
from unihub.core.context import AppContext
from unihub.core.database import Database
from unihub.core.security import SecretBox, secret_key_material

CUSTOMER = "/inbound/customer/v1/direct/activity/{}"
PG = bool(os.environ.get("UNIHUB_TEST_DATABASE_URL"))


@pytest.fixture
async def shared_server(settings: Settings) -> AsyncIterator[Server]:
    """A second process on the test session's database."""
    server = await start_server(server_env(settings.data_dir, settings.database_url))
    try:
        yield server
    finally:
        server.stop()


async def _socket_scene(
    client: httpx.AsyncClient, ctx: AppContext, t: TenantCreds
) -> tuple[str, str]:
    r = await client.post(
        "/api/v1/hubs",
        json={"name": f"ws-{uuid.uuid4().hex[:6]}", "description": "ws"},
        headers=t.portal,
    )
    hub_id = r.json()["hubId"]
    customer = await make_integration(ctx.db, ctx.box, t.tenant_id, hub_id)
    agent = await make_integration(ctx.db, ctx.box, t.tenant_id, hub_id, integration_type="Agent")
    r = await client.post(
        "/api/v1/conversations/establish",
        json={"integrationId": customer.id, "binding": "ws", "channelType": "Direct"},
        headers=t.engine,
    )
    return agent.id, r.json()["conversationId"]


async def _say(client: httpx.AsyncClient, t: TenantCreds, cid: str, text: str) -> int:
    r = await client.post(
        CUSTOMER.format(cid),
        json={"type": "message", "message": {"type": "text", "text": text}},
        headers=t.engine,
    )
    assert r.status_code == 200, r.text
    event_id: int = r.json()["eventId"]
    return event_id


async def test_websocket_streams_pending_then_live_activities(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, shared_server: Server
) -> None:
    agent_id, cid = await _socket_scene(client, ctx, tenant)
    missed = await _say(client, tenant, cid, "while offline")

    url = f"{shared_server.ws_url}/api/v1/events/ws?integrationId={agent_id}"
    with pytest.raises(InvalidStatus):
        async with connect(url + "&access_token=not-a-token"):
            pass
    with pytest.raises(InvalidStatus):  # portal tokens are not engine tokens
        async with connect(url, additional_headers=tenant.portal):
            pass

    async with connect(url, additional_headers=tenant.engine) as ws:
        first = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert first["activity"]["eventId"] == missed
        assert first["integrationId"] == agent_id and first["conversationId"] == cid
        uuid.UUID(first["deliveryId"])
        live = [await _say(client, tenant, cid, f"live {n}") for n in range(3)]
        got = [orjson.loads(await asyncio.wait_for(ws.recv(), 30)) for _ in range(3)]
        assert [g["activity"]["eventId"] for g in got] == live
        assert got[0]["activity"]["recipient"]["integrationId"] == agent_id

    # The token may also travel as a query parameter; nothing is re-sent once delivered.
    async with connect(f"{url}&access_token={tenant.engine_token}") as ws:
        again = await _say(client, tenant, cid, "after reconnect")
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert frame["activity"]["eventId"] == again


@pytest.mark.skipif(not PG, reason="several processes share PostgreSQL (LISTEN/NOTIFY)")
@pytest.mark.parametrize("bus", ["postgres", "redis"])
async def test_client_on_another_process_gets_activities(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, settings: Settings, bus: str
) -> None:
    extra = {}
    if bus == "redis":
        redis_url = os.environ.get("UNIHUB_TEST_REDIS_URL")
        if not redis_url:
            pytest.skip("UNIHUB_TEST_REDIS_URL is not set")
        extra["UNIHUB_REDIS_URL"] = redis_url
    agent_id, cid = await _socket_scene(client, ctx, tenant)
    a = await start_server(server_env(settings.data_dir, settings.database_url, **extra))
    b = await start_server(server_env(settings.data_dir, settings.database_url, **extra))
    try:
        url = f"{b.ws_url}/api/v1/events/ws?integrationId={agent_id}"
        async with (
            connect(url, additional_headers=tenant.engine) as ws,
            httpx.AsyncClient(base_url=a.base_url) as via_a,
        ):
            sent = [await _say(via_a, tenant, cid, f"m{n}") for n in range(5)]
            got = [orjson.loads(await asyncio.wait_for(ws.recv(), 30)) for _ in range(5)]
            assert [g["activity"]["eventId"] for g in got] == sent
    finally:
        a.stop()
        b.stop()


async def _kill_database(tmp: Path, name: str = "unihub_engine_kill") -> str | None:
    admin = os.environ.get("UNIHUB_PG_ADMIN_URL")
    if not PG or not admin:
        return None
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "unihub.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    result: dict[str, Any] = orjson.loads(out)
    return result


async def _token(http: httpx.AsyncClient, client: dict[str, str]) -> dict[str, str]:
    r = await http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": client["clientSecret"],
        },
    )
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_outbox_survives_sigkill(tmp_path: Path, receiver: Receiver) -> None:
    database_url = await _kill_database(tmp_path)
    env = server_env(tmp_path, database_url, UNIHUB_DELIVERY_LEASE_S="3")
    creds = await _cli(env, "tenants", "create", "--name", "kill")
    settings = Settings(data_dir=tmp_path, database_url=database_url, secret_key="test-secret-key")
    db = Database(settings.resolved_database_url)
    box = SecretBox(secret_key_material(settings))

    receiver.gate = threading.Event()  # every webhook hangs until released
    server = await start_server(env)
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            portal = await _token(http, creds["clients"]["portal"])
            engine = await _token(http, creds["clients"]["engine"])
            customer, _ = await hub_with_agent(http, portal, db, box, creds["tenantId"], receiver)
            accepted: dict[str, list[int]] = {}
            for binding in ("one", "two"):
                r = await http.post(
                    "/api/v1/conversations/establish",
                    headers=engine,
                    json={
                        "integrationId": customer.id,
                        "binding": binding,
                        "channelType": "Direct",
                    },
                )
                cid = r.json()["conversationId"]
                accepted[cid] = []
                for n in range(10):
                    r = await http.post(
                        CUSTOMER.format(cid),
                        headers=engine,
                        json={"type": "message", "message": {"type": "text", "text": str(n)}},
                    )
                    assert r.status_code == 200, r.text
                    accepted[cid].append(r.json()["eventId"])
        await wait_for(lambda: receiver.arrived >= 1, what="a delivery in flight")
        server.kill()
    finally:
        server.stop()
    receiver.gate.set()  # the cut-off request completes on the receiver's side only

    restarted = await start_server(env)
    try:

        def distinct() -> set[str]:
            return {x.delivery_id for x in receiver.at("agent")}

        await wait_for(lambda: len(distinct()) == 20, timeout_s=60, what="all 20 deliveries")
    finally:
        restarted.stop()
        await db.dispose()

    received = receiver.at("agent")
    event_of: dict[str, int] = {}
    for item in received:
        # A delivery id always carries the same activity: receivers can de-duplicate on it.
        assert (
            event_of.setdefault(item.delivery_id, item.activity["eventId"])
            == (item.activity["eventId"])
        )
    for cid, events in accepted.items():
        firsts: list[int] = []
        for item in received:
            e = item.activity["eventId"]
            if item.body["conversationId"] == cid and e not in firsts:
                firsts.append(e)
        assert firsts == events  # every accepted activity, in order
