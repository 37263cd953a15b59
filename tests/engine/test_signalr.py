"""The SignalR hub `/engine-chat-hub` of the official .NET client, against a served process:
with a real SignalR client library (pysignalr), and frame by frame where it hides details."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from pysignalr.client import SignalRClient
from pysignalr.exceptions import AuthorizationError, ServerError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import TenantCreds
from tests.engine.procs import Server
from tests.engine.receiver import Receiver
from tests.engine.test_processes import (
    _say,
    _socket_scene,
    shared_server,  # noqa: F401 - fixture
)
from tests.engine.test_socket_tokens import SECRETS, token_of_new_secret
from tests.engine.test_webchat import ORIGIN, _chat, _establish, _token, agent_reply
from unihub.core.context import AppContext

SEP = "\x1e"


class Listening:
    """A pysignalr client running in the background, its activities in a queue."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.client = SignalRClient(url, headers=dict(headers or {}), retry_count=1)
        self.activities: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.client.on("ReceiveDirectActivities", self._on)
        self.task: asyncio.Task[None] | None = None

    async def _on(self, arguments: list[dict[str, Any]]) -> None:
        assert len(arguments) == 1
        await self.activities.put(arguments[0])

    async def next(self) -> dict[str, Any]:
        get = asyncio.ensure_future(self.activities.get())
        assert self.task is not None
        done, _ = await asyncio.wait({get, self.task}, timeout=30, return_when="FIRST_COMPLETED")
        if get not in done:
            get.cancel()
            if self.task in done:
                self.task.result()  # the client's failure
            raise AssertionError("no activity within 30 s")
        return get.result()


@contextlib.asynccontextmanager
async def listening(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Listening]:
    listener = Listening(url, headers)
    listener.task = asyncio.create_task(listener.client.run())
    try:
        yield listener
    finally:
        listener.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener.task


def _hub(server: Server, integration_id: str, conversation_id: str | None = None) -> str:
    url = f"{server.base_url}/engine-chat-hub?iId={integration_id}"
    return f"{url}&cId={conversation_id}" if conversation_id else url


async def test_hub_delivers_pending_then_live_activities(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    agent_id, cid = await _socket_scene(client, ctx, tenant)
    missed = await _say(client, tenant, cid, "while offline")
    async with listening(_hub(shared_server, agent_id), tenant.engine) as hub:
        first = await hub.next()
        # The activity node only, not the webhook envelope.
        assert first["eventId"] == missed and "activity" not in first and "hubId" not in first
        assert first["message"]["text"] == "while offline"
        assert first["recipient"]["integrationId"] == agent_id
        live = [await _say(client, tenant, cid, f"live {n}") for n in range(3)]
        assert [(await hub.next())["eventId"] for _ in range(3)] == live

    # JavaScript clients send the token as `access_token`; nothing delivered is re-sent.
    url = f"{_hub(shared_server, agent_id)}&access_token={tenant.engine_token}"
    async with listening(url) as hub:
        again = await _say(client, tenant, cid, "after reconnect")
        assert (await hub.next())["eventId"] == again


async def test_webchat_token_hears_only_its_conversation(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    chat = await _chat(client, ctx, tenant, receiver)
    token = await _token(client, chat.webchat_id, ORIGIN["Origin"])
    cid = (await _establish(client, chat.webchat_id, token)).json()["conversationId"]
    other = (await _establish(client, chat.webchat_id, token, "visitor-2")).json()

    async def reply(conversation: str, text: str) -> int:
        return await agent_reply(client, tenant, chat.agent.id, conversation, text)

    missed = await reply(cid, "while away")
    bearer = {"Authorization": f"Bearer {token}"}
    async with listening(_hub(shared_server, chat.webchat_id, cid), bearer) as hub:
        assert (await hub.next())["eventId"] == missed
        await reply(other["conversationId"], "for someone else")
        live = await reply(cid, "live")
        frame = await hub.next()
        assert frame["eventId"] == live and frame["message"]["text"] == "live"

    # A WebChat token must name its conversation: refused at negotiate.
    r = await client.post(f"/engine-chat-hub/negotiate?iId={chat.webchat_id}", headers=bearer)
    assert r.status_code == 400, r.text


async def test_negotiate_refusals_are_in_the_error_model(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    agent_id, cid = await _socket_scene(client, ctx, tenant)
    with pytest.raises(AuthorizationError):  # what the library makes of a 401
        async with asyncio.timeout(30):
            await SignalRClient(
                _hub(shared_server, agent_id), headers={"Authorization": "Bearer nope"}
            ).run()
    async with httpx.AsyncClient(base_url=shared_server.base_url) as served:
        negotiate = f"/engine-chat-hub/negotiate?iId={agent_id}&negotiateVersion=1"
        r = await served.post(negotiate)
        assert r.status_code == 401
        assert r.json()["status"] == 401
        [error] = r.json()["errors"]
        assert error["code"] == 102 and error["description"].endswith("(code: EVT000102)")
        r = await served.post(negotiate, headers=tenant.portal)
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == 101

        chat = await _chat(client, ctx, tenant, receiver)
        token = await _token(client, chat.webchat_id, ORIGIN["Origin"])
        visitor = {"Authorization": f"Bearer {token}"}
        r = await served.post(f"{negotiate}&cId={cid}", headers=visitor)  # not its integration
        assert r.status_code == 403, r.text
        other = f"/engine-chat-hub/negotiate?iId={chat.webchat_id}&cId={cid}"
        r = await served.post(other, headers=visitor)  # not its conversation
        assert r.status_code == 404, r.text
        r = await served.post(
            f"/engine-chat-hub/negotiate?iId={chat.agent.id}x", headers=tenant.engine
        )
        assert r.status_code == 400 and "EVT" in r.text


async def test_revoked_token_ends_the_connection_with_a_hub_exception(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    agent_id, cid = await _socket_scene(client, ctx, tenant)
    secret, bearer = await token_of_new_secret(client, tenant, shared_server, "hub")
    async with listening(_hub(shared_server, agent_id), bearer) as hub:
        sent = await _say(client, tenant, cid, "before")
        assert (await hub.next())["eventId"] == sent
        deleted = await client.delete(
            f"{SECRETS.format(tenant.engine_client_id)}/{secret['id']}", headers=tenant.portal
        )
        assert deleted.status_code == 200, deleted.text
        assert hub.task is not None
        with pytest.raises(ServerError) as info:
            async with asyncio.timeout(30):
                await hub.task
    message = str(info.value.message)
    assert "HubException: [401]: " in message and "revoked" in message


async def _records(ws: ClientConnection) -> list[Any]:
    text = await asyncio.wait_for(ws.recv(), 30)
    assert isinstance(text, str) and text.endswith(SEP)
    return [orjson.loads(part) for part in text.split(SEP) if part]


async def _handshake(ws: ClientConnection) -> None:
    await ws.send('{"protocol":"json","version":1}' + SEP)
    assert await _records(ws) == [{}]


async def test_frames_the_library_hides(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    agent_id, cid = await _socket_scene(client, ctx, tenant)
    async with httpx.AsyncClient(base_url=shared_server.base_url) as served:
        v0 = await served.post(f"/engine-chat-hub/negotiate?iId={agent_id}", headers=tenant.engine)
        assert v0.status_code == 200, v0.text
        assert set(v0.json()) == {"connectionId", "availableTransports"}
        v1 = await served.post(
            f"/engine-chat-hub/negotiate?iId={agent_id}&negotiateVersion=1", headers=tenant.engine
        )
        body = v1.json()
        assert body["negotiateVersion"] == 1 and body["connectionId"] and body["connectionToken"]
        assert body["availableTransports"] == [
            {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
        ]
    url = f"{shared_server.ws_url}/engine-chat-hub?iId={agent_id}&id={body['connectionToken']}"

    # An unsupported protocol: an error answer, then the close.
    async with connect(url, additional_headers=tenant.engine) as ws:
        await ws.send('{"protocol":"messagepack","version":1}' + SEP)
        [answer] = await _records(ws)
        assert "error" in answer
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)

    # A refusal after negotiate is a close message, never an HTTP error on the upgrade.
    async with connect(f"{url}&access_token=nope") as ws:
        await _handshake(ws)
        [closing] = await _records(ws)
        assert closing["type"] == 7 and "HubException: [401]: " in closing["error"]

    async with connect(url, additional_headers=tenant.engine) as ws:
        await _handshake(ws)
        await ws.send('{"type":6}' + SEP)
        assert await _records(ws) == [{"type": 6}]  # client pings are answered
        sent = await _say(client, tenant, cid, "framed")
        records = await _records(ws)
        while records == [{"type": 6}]:  # a periodic ping may come first
            records = await _records(ws)
        [invocation] = records
        assert invocation["type"] == 1 and invocation["target"] == "ReceiveDirectActivities"
        assert [a["eventId"] for a in invocation["arguments"]] == [sent]
        # Silence from the client: the server still pings (within 15 s, bounded at 30 here).
        assert await _records(ws) == [{"type": 6}]
        await ws.send('{"type":7}' + SEP)  # the client's close ends the connection
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)
