"""An open Events websocket ends when its token does: revoked (secret deleted) or expired.

Served by a real process with the default 5 s revocation cache, as in production.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import TenantCreds
from tests.engine.procs import Server
from tests.engine.test_processes import (
    _say,
    _socket_scene,
    shared_server,  # noqa: F401 - fixture
)
from unihub.core.context import AppContext
from unihub.core.tokens import ENGINE_SCOPE

SECRETS = "/api/v1/tenants/clients/{}/tokens"


async def _closed(ws: ClientConnection) -> ConnectionClosed:
    """Read until the server closes the socket; the timeout only bounds a hung test."""
    with pytest.raises(ConnectionClosed) as info:
        async with asyncio.timeout(30):
            while True:
                await ws.recv()
    return info.value


async def token_of_new_secret(
    client: httpx.AsyncClient, t: TenantCreds, served: Server, name: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new engine secret, and a bearer header minted with it by the served process."""
    r = await client.post(SECRETS.format(t.engine_client_id), headers=t.portal, json={"name": name})
    assert r.status_code == 200, r.text
    secret: dict[str, Any] = r.json()
    async with httpx.AsyncClient(base_url=served.base_url) as http:
        minted = await http.post(
            "/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": t.engine_client_id,
                "client_secret": secret["token"],
            },
        )
    assert minted.status_code == 200, minted.text
    return secret, {"Authorization": f"Bearer {minted.json()['access_token']}"}


async def test_socket_closes_when_its_secret_is_deleted(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    agent_id, cid = await _socket_scene(client, ctx, tenant)
    secret, bearer = await token_of_new_secret(client, tenant, shared_server, "socket")
    url = f"{shared_server.ws_url}/api/v1/events/ws?integrationId={agent_id}"
    async with connect(url, additional_headers=bearer) as ws:
        sent = await _say(client, tenant, cid, "before")
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert frame["activity"]["eventId"] == sent  # the socket works

        deleted = await client.delete(
            f"{SECRETS.format(tenant.engine_client_id)}/{secret['id']}", headers=tenant.portal
        )
        assert deleted.status_code == 200, deleted.text
        closed = await _closed(ws)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1008
    assert "revoked" in closed.rcvd.reason

    # The activity accepted after the close waits in the outbox for a valid listener.
    later = await _say(client, tenant, cid, "after")
    async with connect(url, additional_headers=tenant.engine) as ws:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert frame["activity"]["eventId"] == later


async def test_socket_closes_when_its_token_expires(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    agent_id, _ = await _socket_scene(client, ctx, tenant)
    listed = await client.get(
        f"/api/v1/tenants/clients/{tenant.engine_client_id}", headers=tenant.portal
    )
    [secret] = listed.json()["secrets"]
    # Signed with the key the served process verifies with (both read it from the database).
    token = ctx.keys.sign(
        {
            "sub": tenant.engine_client_id,
            "client_id": tenant.engine_client_id,
            "tenant_id": tenant.tenant_id,
            "scope": ENGINE_SCOPE,
            "sid": secret["id"],
        },
        lifetime_s=2,
    )
    url = f"{shared_server.ws_url}/api/v1/events/ws?integrationId={agent_id}"
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        closed = await _closed(ws)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1008
    assert "expired" in closed.rcvd.reason
