"""Messenger both ways: verification handshake, signed page events in, Send API out."""

from __future__ import annotations

import httpx
import orjson

from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub
from tests.engine.receiver import Receiver, wait_for
from tests.engine.test_delivery import wait_for_async
from tests.fakes.graph import FakeGraph
from tests.providers.helpers import (
    conversation_count,
    direct_agent,
    facebook_signature,
    messenger_integration,
    reply,
)
from unihub.core.context import AppContext

PSID = "2718281828459045"


def page_event(page_id: str, message: dict[str, object]) -> bytes:
    return orjson.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": page_id,
                    "time": 1700000000000,
                    "messaging": [
                        {
                            "sender": {"id": PSID},
                            "recipient": {"id": page_id},
                            "timestamp": 1700000000000,
                            "message": message,
                        }
                    ],
                }
            ],
        }
    )


async def test_messenger_round_trip(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_graph: FakeGraph,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    m = await messenger_integration(client, tenant, hub, fake_graph)
    agent = await direct_agent(ctx, tenant, hub, receiver)
    path = f"/inbound/messenger/v1/{m.id}"

    ok = await client.get(
        path,
        params={"hub.mode": "subscribe", "hub.verify_token": m.verify_token, "hub.challenge": "42"},
    )
    assert ok.status_code == 200 and ok.text == "42"
    wrong = await client.get(
        path, params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "42"}
    )
    assert wrong.status_code == 403 and codes(wrong) == [120]

    body = page_event(m.page_id, {"mid": "m_1", "text": "hola"})
    r = await client.post(
        path,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": facebook_signature(m.app_secret, body),
        },
    )
    assert r.status_code == 200 and r.text == "EVENT_RECEIVED"
    await wait_for(lambda: len(receiver.at("agent")) == 1, what="agent webhook")
    got = receiver.at("agent")[0]
    assert got.activity["message"] == {"type": "text", "text": "hola"}
    assert got.activity["sender"]["channelType"] == "Messenger"
    cid = got.body["conversationId"]

    # The page's own echoes are not customer messages.
    echo = page_event(m.page_id, {"mid": "m_2", "text": "echo", "is_echo": True})
    signed = {"X-Hub-Signature-256": facebook_signature(m.app_secret, echo)}
    assert (await client.post(path, content=echo, headers=signed)).status_code == 200

    await reply(
        client,
        tenant,
        cid,
        agent.id,
        {
            "type": "text",
            "text": "¿Algo más?",
            "actions": [{"type": "reply", "title": "Sí", "payload": "YES"}],
        },
    )
    await reply(client, tenant, cid, agent.id, {"type": "image", "url": "https://e.com/p.jpg"})
    await wait_for(lambda: len(fake_graph.sent) == 2, what="Send API calls")
    first, second = fake_graph.sent
    assert first["recipient"] == {"id": PSID} and first["page_id"] == m.page_id
    assert first["message"]["text"] == "¿Algo más?\n[Sí]"
    assert first["message"]["quick_replies"] == [
        {"content_type": "text", "title": "Sí", "payload": "YES"}
    ]
    assert second["message"]["attachment"]["type"] == "image"
    assert second["message"]["attachment"]["payload"]["url"] == "https://e.com/p.jpg"
    assert len(receiver.at("agent")) == 1


async def test_messenger_bad_signature_refused(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_graph: FakeGraph,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    m = await messenger_integration(client, tenant, hub, fake_graph)
    await direct_agent(ctx, tenant, hub, receiver)
    body = page_event(m.page_id, {"mid": "m_1", "text": "hola"})
    path = f"/inbound/messenger/v1/{m.id}"
    for headers in ({}, {"X-Hub-Signature-256": facebook_signature("not-the-secret", body)}):
        r = await client.post(path, content=body, headers=headers)
        assert r.status_code == 403 and codes(r) == [120]
    assert await conversation_count(ctx, m.id) == 0
    assert receiver.at("agent") == []


async def test_messenger_refused_recipient_fails(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_graph: FakeGraph,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    m = await messenger_integration(client, tenant, hub, fake_graph)
    agent = await direct_agent(ctx, tenant, hub, receiver)
    body = page_event(m.page_id, {"mid": "m_1", "text": "hola"})
    await client.post(
        f"/inbound/messenger/v1/{m.id}",
        content=body,
        headers={"X-Hub-Signature-256": facebook_signature(m.app_secret, body)},
    )
    await wait_for(lambda: len(receiver.at("agent")) == 1, what="agent webhook")
    cid = receiver.at("agent")[0].body["conversationId"]
    fake_graph.reject_recipients = {PSID}
    await reply(client, tenant, cid, agent.id, {"type": "text", "text": "hello?"})

    async def listed() -> bool:
        r = await client.get("/api/v1/deliveries/failed", headers=tenant.engine)
        return any(i["integrationId"] == m.id for i in r.json()["results"])

    await wait_for_async(listed)
    r = await client.get("/api/v1/deliveries/failed", headers=tenant.engine)
    [item] = [i for i in r.json()["results"] if i["integrationId"] == m.id]
    assert item["attempts"] == 1 and item["lastStatusCode"] == 400


async def test_messenger_redelivery_is_accepted_once(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_graph: FakeGraph,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    m = await messenger_integration(client, tenant, hub, fake_graph)
    await direct_agent(ctx, tenant, hub, receiver)
    path = f"/inbound/messenger/v1/{m.id}"
    for mid, text in (("m_9", "once"), ("m_9", "once"), ("m_10", "twice")):
        body = page_event(m.page_id, {"mid": mid, "text": text})
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": facebook_signature(m.app_secret, body),
        }
        r = await client.post(path, content=body, headers=headers)
        assert r.status_code == 200 and r.text == "EVENT_RECEIVED"  # a redelivery is acked
    await wait_for(lambda: len(receiver.at("agent")) == 2, what="two messages")
    cid = receiver.at("agent")[0].body["conversationId"]
    r = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": "agent"}, headers=tenant.engine
    )
    assert [a["message"]["text"] for a in r.json()] == ["once", "twice"]
