"""An engine token's Events websocket that names a `conversationId` hears that conversation
only, on the side of the integration it listens as (issue: official client compatibility, 9)."""

from __future__ import annotations

import asyncio

import httpx
import orjson
from websockets.asyncio.client import connect

from tests.conftest import TenantCreds
from tests.engine.procs import Server
from tests.engine.test_processes import (
    _say,
    _socket_scene,
    shared_server,  # noqa: F401 - fixture
)
from unihub.core.context import AppContext


async def _second_conversation(client: httpx.AsyncClient, t: TenantCreds, customer_id: str) -> str:
    r = await client.post(
        "/api/v1/conversations/establish",
        json={"integrationId": customer_id, "binding": "other", "channelType": "Direct"},
        headers=t.engine,
    )
    assert r.status_code == 200, r.text
    cid: str = r.json()["conversationId"]
    return cid


async def test_engine_socket_with_conversation_id_hears_only_that_conversation(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    agent_id, cid = await _socket_scene(client, ctx, tenant)
    conv = await client.get(f"/api/v1/conversations/{cid}", headers=tenant.engine)
    other = await _second_conversation(client, tenant, conv.json()["integrationId"])
    await _say(client, tenant, other, "pending elsewhere")  # an outbox row for agent_id

    base = f"{shared_server.ws_url}/api/v1/events/ws?integrationId={agent_id}"
    async with connect(f"{base}&conversationId={cid}", additional_headers=tenant.engine) as ws:
        mine = await _say(client, tenant, cid, "mine")
        first = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert first["conversationId"] == cid and first["activity"]["eventId"] == mine
        assert first["integrationId"] == agent_id  # as the agent's Direct payload
        await _say(client, tenant, other, "elsewhere again")
        again = await _say(client, tenant, cid, "mine again")
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert frame["conversationId"] == cid and frame["activity"]["eventId"] == again

    # The other conversation's rows still wait for the integration-wide listener.
    async with connect(base, additional_headers=tenant.engine) as ws:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert frame["conversationId"] == other
