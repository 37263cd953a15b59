"""WebChat visitors: origin-checked tokens, establishing and posting with them, reading and
following their own conversation, CORS answers, and refusal everywhere else."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import TenantCreds, codes
from tests.engine.factories import MadeIntegration, make_hub, make_integration
from tests.engine.procs import Server
from tests.engine.receiver import Receiver, wait_for
from tests.engine.test_processes import shared_server  # noqa: F401 - fixture
from unihub.core.context import AppContext

TOKEN = "/api/v1/integrations/web-chat/token/{}"
WEBCHAT = "/inbound/customer/v1/web-chat/{}"
BUSINESS = "/inbound/business/v1/direct/activity/{}"
ORIGIN = {"Origin": "https://shop.example.com"}


@dataclass
class Chat:
    hub_id: str
    webchat_id: str
    agent: MadeIntegration


async def _webchat(
    client: httpx.AsyncClient, t: TenantCreds, hub_id: str, **config: Any
) -> dict[str, Any]:
    configuration = {"allowedOrigins": ["shop.example.com", "localhost:8080"], **config}
    r = await client.post(
        f"/api/v1/integrations/hubs/{hub_id}",
        json={
            "channelId": "WebChat",
            "name": f"web-{uuid.uuid4().hex[:6]}",
            "configuration": configuration,
        },
        headers=t.portal,
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def agent_reply(
    client: httpx.AsyncClient, t: TenantCreds, agent_id: str, conversation: str, text: str
) -> int:
    """The agent's text in a conversation; its eventId."""
    r = await client.post(
        BUSINESS.format(conversation),
        json={
            "type": "message",
            "sender": {"integrationId": agent_id},
            "message": {"type": "text", "text": text},
        },
        headers=t.engine,
    )
    assert r.status_code == 200, r.text
    event_id: int = r.json()["eventId"]
    return event_id


async def _chat(
    client: httpx.AsyncClient, ctx: AppContext, t: TenantCreds, receiver: Receiver, **config: Any
) -> Chat:
    hub = await make_hub(client, t)
    webchat = await _webchat(client, t, hub["hubId"], **config)
    agent = await make_integration(
        ctx.db,
        ctx.box,
        t.tenant_id,
        hub["hubId"],
        integration_type="Agent",
        webhook_url=receiver.url("agent"),
    )
    receiver.trust(agent.public_key, agent.private_key)
    return Chat(hub["hubId"], webchat["integrationId"], agent)


async def _token(client: httpx.AsyncClient, integration_id: str, origin: str) -> str:
    r = await client.get(TOKEN.format(integration_id), headers={"Origin": origin})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def _establish(
    client: httpx.AsyncClient, integration_id: str, token: str, binding: str = "visitor-1"
) -> httpx.Response:
    return await client.post(
        "/api/v1/conversations/establish",
        json={"integrationId": integration_id, "binding": binding, "channelType": "WebChat"},
        headers={"Authorization": f"Bearer {token}", **ORIGIN},
    )


def assert_cors(r: httpx.Response, origin: str) -> None:
    """A WebChat answer the page's script may read: its origin named, the component's
    headers exposed."""
    assert r.headers["access-control-allow-origin"] == origin, (r.status_code, r.text)
    assert "origin" in r.headers["vary"].lower()
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"idempotent-replayed", "retry-after", "x-request-id"} <= exposed


async def test_token_checks_origin_and_integration(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    chat = await _chat(client, ctx, tenant, receiver)
    url = TOKEN.format(chat.webchat_id)

    r = await client.get(url, headers=ORIGIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "WebBearer" and body["expires_in"] == 60
    assert body["scope"] == "hubster-webchat" and body["access_token"].count(".") == 2
    assert_cors(r, ORIGIN["Origin"])
    assert r.headers["vary"].lower().count("origin") == 1

    # Ports: an entry without one allows any port, an entry with one only that port.
    assert (await client.get(url, headers={"Origin": "http://shop.example.com:81"})).is_success
    assert (await client.get(url, headers={"Origin": "http://localhost:8080"})).is_success
    # Every refusal names the caller's origin too, so the page can read why (a 200 only
    # ever reaches an allowed origin).
    r = await client.get(url, headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 403 and codes(r) == [101]
    assert_cors(r, "http://localhost:3000")
    assert "access_token" not in r.text
    for bad in ("https://evil.example.com", "https://shop.example.com.evil.io", "null"):
        r = await client.get(url, headers={"Origin": bad})
        assert r.status_code == 403 and codes(r) == [101], bad
        assert "(code: ENG000101)" in r.json()["errors"][0]["description"]
        assert_cors(r, bad)

    r = await client.get(url)
    assert r.status_code == 400 and codes(r) == [200]
    assert "access-control-allow-origin" not in r.headers
    for missing, status, code in (
        (TOKEN.format("not-a-guid"), 400, 203),
        (TOKEN.format(uuid.uuid4()), 404, 6000),
        (TOKEN.format(chat.agent.id), 400, 206),
    ):
        r = await client.get(missing, headers=ORIGIN)
        assert r.status_code == status and codes(r) == [code], missing
        assert_cors(r, ORIGIN["Origin"])

    r = await client.put(
        f"/api/v1/integrations/{chat.webchat_id}", json={"statusId": 3002}, headers=tenant.portal
    )
    assert r.status_code == 200, r.text
    r = await client.get(url, headers=ORIGIN)
    assert r.status_code == 400 and codes(r) == [6502]
    assert_cors(r, ORIGIN["Origin"])


async def test_visitor_establishes_posts_and_reads_its_conversation(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    chat = await _chat(
        client, ctx, tenant, receiver, start=[{"type": "text", "text": "Welcome to the shop"}]
    )
    token = await _token(client, chat.webchat_id, ORIGIN["Origin"])
    visitor = {"Authorization": f"Bearer {token}", **ORIGIN}

    r = await _establish(client, chat.webchat_id, token)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN["Origin"]
    cid = r.json()["conversationId"]
    assert r.json()["isNew"] is True
    assert (await _establish(client, chat.webchat_id, token)).json()["conversationId"] == cid

    r = await client.post(
        WEBCHAT.format(cid),
        json={"type": "message", "message": {"type": "text", "text": "Do you ship to Oslo?"}},
        headers=visitor,
    )
    assert r.status_code == 200, r.text
    ack = r.json()
    assert ack["integrationId"] == chat.webchat_id and ack["conversationId"] == cid

    await wait_for(lambda: receiver.at("agent"), what="the visitor's message at the agent")
    got = receiver.at("agent")[0].activity
    assert got["sender"]["integrationId"] == chat.webchat_id
    assert got["sender"]["channelType"] == "WebChat"
    assert got["message"]["text"] == "Do you ship to Oslo?"

    r = await client.post(
        BUSINESS.format(cid),
        json={
            "type": "message",
            "sender": {"integrationId": chat.agent.id},
            "message": {"type": "text", "text": "We do."},
        },
        headers=tenant.engine,
    )
    assert r.status_code == 200, r.text

    r = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": "Customer"}, headers=visitor
    )
    assert r.status_code == 200, r.text
    texts = [a["message"]["text"] for a in r.json()]
    assert texts == ["Welcome to the shop", "Do you ship to Oslo?", "We do."]
    r = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": "Agent"}, headers=visitor
    )
    assert r.status_code == 403 and codes(r) == [101]


async def test_webchat_token_is_refused_elsewhere(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    chat = await _chat(client, ctx, tenant, receiver)
    other = await _chat(client, ctx, tenant, receiver)
    token = await _token(client, chat.webchat_id, ORIGIN["Origin"])
    visitor = {"Authorization": f"Bearer {token}"}
    cid = (await _establish(client, chat.webchat_id, token)).json()["conversationId"]
    other_token = await _token(client, other.webchat_id, ORIGIN["Origin"])
    other_cid = (await _establish(client, other.webchat_id, other_token)).json()["conversationId"]

    # Another integration's conversation does not exist for this token.
    r = await _establish(client, other.webchat_id, token)
    assert r.status_code == 403 and codes(r) == [101]
    msg = {"type": "message", "message": {"type": "text", "text": "hi"}}
    r = await client.post(WEBCHAT.format(other_cid), json=msg, headers=visitor)
    assert r.status_code == 404 and codes(r) == [6500]
    r = await client.get(
        f"/api/v1/interactions/activities/{other_cid}", params={"type": "Customer"}, headers=visitor
    )
    assert r.status_code == 404 and codes(r) == [6500]

    # A visitor cannot speak for the agent.
    r = await client.post(
        WEBCHAT.format(cid),
        json={**msg, "sender": {"integrationId": chat.agent.id}},
        headers=visitor,
    )
    assert r.status_code == 403 and codes(r) == [101]
    assert receiver.at("agent") == []

    # Engine-only and portal endpoints refuse the scope.
    for method, path in (
        ("POST", BUSINESS.format(cid)),
        ("GET", f"/api/v1/conversations/{cid}"),
        ("POST", f"/api/v1/conversations/{cid}/control"),
        ("GET", "/api/v1/deliveries/failed"),
        ("GET", "/api/v1/hubs"),
        ("GET", f"/api/v1/integrations/{chat.webchat_id}"),
    ):
        r = await client.request(method, path, json=msg, headers=visitor)
        assert r.status_code == 403 and codes(r) == [101], path

    # An engine token keeps working on the WebChat path.
    r = await client.post(WEBCHAT.format(cid), json=msg, headers=tenant.engine)
    assert r.status_code == 200, r.text


async def test_visitor_closes_its_own_conversation_only(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    chat = await _chat(client, ctx, tenant, receiver)
    other = await _chat(client, ctx, tenant, receiver)
    token = await _token(client, chat.webchat_id, ORIGIN["Origin"])
    visitor = {"Authorization": f"Bearer {token}", **ORIGIN}
    binding = "host-user-42"  # a host-supplied binding key: establish returns the open one
    cid = (await _establish(client, chat.webchat_id, token, binding)).json()["conversationId"]
    other_token = await _token(client, other.webchat_id, ORIGIN["Origin"])
    other_cid = (await _establish(client, other.webchat_id, other_token)).json()["conversationId"]

    # Another integration's conversation (same tenant) is unknown to this token, as is a
    # random id; a bad id is 400. Every answer names the page's origin.
    for target, status, code in (
        (other_cid, 404, 6500),
        (str(uuid.uuid4()), 404, 6500),
        ("not-a-guid", 400, 203),
    ):
        r = await client.post(f"/api/v1/conversations/{target}/close", headers=visitor)
        assert r.status_code == status and codes(r) == [code], target
        assert_cors(r, ORIGIN["Origin"])
    r = await client.get(f"/api/v1/conversations/{other_cid}", headers=tenant.engine)
    assert r.json()["status"] == "open"

    r = await client.post(f"/api/v1/conversations/{cid}/close", headers=visitor)
    assert r.status_code == 200, r.text
    assert_cors(r, ORIGIN["Origin"])
    closed = r.json()
    assert closed["conversationId"] == cid and closed["status"] == "closed"
    assert "closedDateTime" in closed and "integration" not in closed  # not the hub's details
    # Idempotent, as for engine tokens.
    r = await client.post(f"/api/v1/conversations/{cid}/close", headers=visitor)
    assert r.status_code == 200 and r.json()["closedDateTime"] == closed["closedDateTime"]

    # The same binding now opens a new conversation.
    r = await _establish(client, chat.webchat_id, token, binding)
    assert r.status_code == 200, r.text
    assert r.json()["isNew"] is True and r.json()["conversationId"] != cid

    # The preflight from the page allows the POST (and only that path of conversations/).
    r = await client.options(
        f"/api/v1/conversations/{cid}/close",
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ORIGIN["Origin"]
    assert r.headers["access-control-allow-methods"] == "POST"
    assert "authorization" in r.headers["access-control-allow-headers"]
    for path in (f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/control"):
        r = await client.post(path, headers=visitor)
        assert "access-control-allow-origin" not in r.headers, path


async def test_cors_preflight_for_widget_calls(client: httpx.AsyncClient) -> None:
    cid = uuid.uuid4()
    r = await client.options(
        WEBCHAT.format(cid),
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ORIGIN["Origin"]
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "authorization" in r.headers["access-control-allow-headers"]
    # Other API paths stay without CORS.
    r = await client.get("/api/v1/hubs", headers=ORIGIN)
    assert "access-control-allow-origin" not in r.headers


async def test_visitor_follows_its_conversation_on_the_events_socket(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    chat = await _chat(client, ctx, tenant, receiver)
    token = await _token(client, chat.webchat_id, ORIGIN["Origin"])
    cid = (await _establish(client, chat.webchat_id, token)).json()["conversationId"]
    other_visitor = (await _establish(client, chat.webchat_id, token, "visitor-2")).json()

    async def reply(conversation: str, text: str) -> int:
        return await agent_reply(client, tenant, chat.agent.id, conversation, text)

    missed = await reply(cid, "while you were away")
    base = f"{shared_server.ws_url}/api/v1/events/ws?integrationId={chat.webchat_id}"
    url = f"{base}&conversationId={cid}&access_token={token}"

    other = await _chat(client, ctx, tenant, receiver)
    for bad in (
        f"{base}&access_token={token}",  # a visitor must name its conversation
        f"{base}&conversationId={other_visitor['conversationId']}x&access_token={token}",
        f"{shared_server.ws_url}/api/v1/events/ws?integrationId={other.webchat_id}"
        f"&conversationId={cid}&access_token={token}",
        f"{url}&leid={2**63}",  # past the 64-bit eventIds
        f"{url}&leid=-1",
        f"{url}&note=%00",  # control characters are refused before anything else
    ):
        with pytest.raises(InvalidStatus):
            async with connect(bad):
                pass

    async with connect(url) as ws:
        first = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert first["conversationId"] == cid and first["activity"]["eventId"] == missed
        await reply(other_visitor["conversationId"], "for someone else")
        live = await reply(cid, "live")
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        # Only this conversation's activities, in order.
        assert frame["activity"]["eventId"] == live
        assert frame["activity"]["message"]["text"] == "live"

    # Reconnecting from a cursor resumes after it.
    async with connect(f"{url}&leid={missed}") as ws:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        assert frame["activity"]["eventId"] == live


async def test_visitor_socket_gets_control_events_without_the_business_metadata(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    shared_server: Server,  # noqa: F811 - fixture
) -> None:
    chat = await _chat(client, ctx, tenant, receiver)
    token = await _token(client, chat.webchat_id, ORIGIN["Origin"])
    cid = (await _establish(client, chat.webchat_id, token)).json()["conversationId"]
    metadata = {"reason": "vip", "crm": "account 1234"}
    r = await client.post(
        f"/api/v1/conversations/{cid}/control",
        json={"action": "takeover", "integrationId": chat.agent.id, "metadata": metadata},
        headers=tenant.engine,
    )
    assert r.status_code == 200, r.text
    event_id = r.json()["eventId"]

    url = (
        f"{shared_server.ws_url}/api/v1/events/ws?integrationId={chat.webchat_id}"
        f"&conversationId={cid}&access_token={token}"
    )
    async with connect(url) as ws:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
    activity = frame["activity"]
    assert activity["eventId"] == event_id and activity["type"] == "event"
    assert activity["event"]["type"] == "control" and activity["event"]["action"] == "takeover"
    assert "metadata" not in activity["event"]
    assert "account 1234" not in orjson.dumps(frame).decode()

    # The business side still reads it, stored once for every side.
    r = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": "Agent"}, headers=tenant.engine
    )
    (event,) = [a for a in r.json() if a["type"] == "event"]
    assert event["eventId"] == event_id and event["event"]["metadata"] == metadata
