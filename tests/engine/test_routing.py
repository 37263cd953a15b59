"""Activities end to end: routing rules, signed webhooks verified by a real receiver, echo,
System event filters, start messages, reading activities back, and ENG005xxx validation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import TenantCreds, codes
from tests.engine.factories import MadeIntegration, make_hub, make_integration
from tests.engine.receiver import Receiver, wait_for
from unihub.channels.types import ChannelId
from unihub.core.context import AppContext

CUSTOMER = "/inbound/customer/v1/direct/activity/{}"
BUSINESS = "/inbound/business/v1/direct/activity/{}"


@dataclass
class Scene:
    hub_id: str
    customer: MadeIntegration
    agent: MadeIntegration
    bot: MadeIntegration
    system: MadeIntegration
    paused_agent: MadeIntegration
    conversation_id: str


async def scene(
    client: httpx.AsyncClient,
    ctx: AppContext,
    t: TenantCreds,
    receiver: Receiver,
    *,
    start: list[dict[str, Any]] | None = None,
    bot_active: bool = True,
) -> Scene:
    """A hub with a customer, an agent, a bot, a System observer and a paused agent. With the
    bot paused the agents control every conversation: routing as before the switchboard."""
    hub = await make_hub(client, t)
    hub_id = hub["hubId"]

    async def make(name: str, **kw: Any) -> MadeIntegration:
        made = await make_integration(
            ctx.db, ctx.box, t.tenant_id, hub_id, webhook_url=receiver.url(name), **kw
        )
        receiver.trust(made.public_key, made.private_key)
        return made

    customer = await make("customer", integration_type="Customer", echo=True, start=start)
    agent = await make("agent", integration_type="Agent")
    bot = await make("bot", integration_type="Bot", status_id=3000 if bot_active else 3002)
    system = await make(
        "system", channel=ChannelId.System, integration_type="System", events=["message:customer"]
    )
    paused = await make("paused", integration_type="Agent", status_id=3002)
    r = await client.post(
        "/api/v1/conversations/establish",
        json={
            "integrationId": customer.id,
            "binding": "c1",
            "channelType": "Direct",
            "properties": {"profile": {"full name": "Ada"}},
        },
        headers=t.engine,
    )
    assert r.status_code == 200, r.text
    return Scene(hub_id, customer, agent, bot, system, paused, r.json()["conversationId"])


async def test_customer_message_reaches_business_system_and_echo(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    sc = await scene(client, ctx, tenant, receiver, bot_active=False)
    r = await client.post(
        CUSTOMER.format(sc.conversation_id),
        json={"type": "message", "externalId": "ext-1", "message": {"type": "text", "text": "Hi"}},
        headers=tenant.engine,
    )
    assert r.status_code == 200, r.text
    ack = r.json()
    assert ack["status"] == 200 and ack["externalId"] == "ext-1"
    assert ack["hubId"] == sc.hub_id and ack["conversationId"] == sc.conversation_id
    assert ack["integrationId"] == sc.customer.id
    uuid.UUID(ack["interactionId"])
    assert isinstance(ack["eventId"], int)

    await wait_for(
        lambda: all(receiver.at(n) for n in ("agent", "system", "customer")),
        what="agent, system and echo webhooks",
    )
    assert receiver.rejected == 0
    assert receiver.at("paused") == []

    agent = receiver.at("agent")[0]
    assert agent.headers["x-integration-id"] == sc.agent.id
    assert agent.headers["x-hub-id"] == sc.hub_id
    assert agent.headers["x-conversation-id"] == sc.conversation_id
    assert agent.headers["x-source-system"] == "engine.hubster.io"
    assert agent.headers["x-hubster-public-key"] == sc.agent.public_key
    uuid.UUID(agent.delivery_id)
    body = agent.body
    assert body["integrationId"] == sc.agent.id and body["tenantId"] == tenant.tenant_id
    assert body["conversationProperties"]["profile"]["full name"] == "Ada"
    act = body["activity"]
    assert act["type"] == "message" and act["eventTrigger"] == "message:customer"
    assert act["eventId"] == ack["eventId"] and act["interactionId"] == ack["interactionId"]
    assert act["externalId"] == "ext-1" and act["isEcho"] is False
    assert act["sender"]["integrationId"] == sc.customer.id
    assert act["sender"]["integrationType"] == "Customer"
    assert act["sender"]["channelType"] == "Direct"
    assert act["recipient"]["integrationId"] == sc.agent.id
    assert act["recipient"]["integrationType"] == "Agent"
    assert act["message"] == {"type": "text", "text": "Hi"}

    assert "standby" not in act  # the agents control this conversation
    assert receiver.at("bot") == []  # paused
    system = receiver.at("system")[0]
    assert len(system.body["activities"]) == 1
    assert system.body["activities"][0]["eventId"] == ack["eventId"]
    echo = receiver.at("customer")[0].activity
    assert echo["isEcho"] is True and echo["sender"]["integrationId"] == sc.customer.id


async def test_agent_reply_goes_to_customer(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    sc = await scene(client, ctx, tenant, receiver, bot_active=False)
    r = await client.post(
        BUSINESS.format(sc.conversation_id),
        json={
            "type": "message",
            "sender": {"integrationId": sc.agent.id},
            "message": {"type": "text", "text": "How can I help?"},
        },
        headers=tenant.engine,
    )
    assert r.status_code == 200, r.text
    assert r.json()["integrationId"] == sc.agent.id
    # Events carry no interactionId; the customer path accepts business senders too.
    r = await client.post(
        CUSTOMER.format(sc.conversation_id),
        json={
            "type": "event",
            "sender": {"integrationId": sc.agent.id},
            "event": {"type": "payload", "payloadType": "x.y", "payload": {"a": 1}},
        },
        headers=tenant.engine,
    )
    assert r.status_code == 200, r.text
    assert "interactionId" not in r.json()
    await wait_for(lambda: len(receiver.at("customer")) == 2, what="customer webhooks")
    first, second = (x.activity for x in receiver.at("customer"))
    assert first["eventTrigger"] == "message:agent"
    assert first["recipient"]["integrationId"] == sc.customer.id
    assert second["type"] == "event" and second["event"]["payloadType"] == "x.y"
    assert first["eventId"] < second["eventId"]
    # The System integration only subscribed to customer messages.
    assert receiver.at("system") == [] and receiver.at("agent") == []


async def test_activities_read_back_per_side(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    sc = await scene(client, ctx, tenant, receiver, bot_active=False)
    url = CUSTOMER.format(sc.conversation_id)
    c1 = await client.post(
        url,
        json={"type": "message", "message": {"type": "text", "text": "1"}},
        headers=tenant.engine,
    )
    a1 = await client.post(
        url,
        json={
            "type": "message",
            "sender": {"integrationId": sc.agent.id},
            "message": {"type": "text", "text": "2"},
        },
        headers=tenant.engine,
    )
    path = f"/api/v1/interactions/activities/{sc.conversation_id}"
    r = await client.get(path, params={"type": "customer"}, headers=tenant.engine)
    assert r.status_code == 200
    assert [a["message"]["text"] for a in r.json()] == ["1", "2"]
    r = await client.get(path, params={"type": "Bot"}, headers=tenant.engine)
    assert r.json() == []  # the hub's only bot is paused: no bot heard anything
    r = await client.get(
        path, params={"type": "agent", "leid": c1.json()["eventId"]}, headers=tenant.engine
    )
    assert [a["eventId"] for a in r.json()] == [a1.json()["eventId"]]
    r = await client.get(path, headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [200]
    r = await client.get(path, params={"type": "system"}, headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [206]
    r = await client.get(path, params={"type": "agent", "leid": "x"}, headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [210]
    # eventIds are 64-bit: the largest cursor reads nothing, one more is refused cleanly
    r = await client.get(path, params={"type": "agent", "leid": 2**63 - 1}, headers=tenant.engine)
    assert r.status_code == 200 and r.json() == []
    for huge in (2**63, 10**40):
        r = await client.get(path, params={"type": "agent", "leid": huge}, headers=tenant.engine)
        assert r.status_code == 400 and codes(r) == [207], r.text


async def test_start_messages_sent_on_establish(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    await scene(
        client,
        ctx,
        tenant,
        receiver,
        start=[{"type": "text", "text": "Welcome!"}, {"type": "text", "text": "Ask away"}],
    )
    await wait_for(lambda: len(receiver.at("customer")) == 2, what="start messages")
    texts = [x.activity["message"]["text"] for x in receiver.at("customer")]
    assert texts == ["Welcome!", "Ask away"]
    assert receiver.at("customer")[0].activity["flowProcess"] == "AutoReplay"


async def test_inbound_validation_codes(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    other_tenant: TenantCreds,
) -> None:
    sc = await scene(client, ctx, tenant, receiver)
    url = CUSTOMER.format(sc.conversation_id)

    async def post(body: Any, t: TenantCreds = tenant) -> httpx.Response:
        if isinstance(body, bytes):
            return await client.post(url, content=body, headers=t.engine)
        return await client.post(url, json=body, headers=t.engine)

    r = await post(b"")
    assert r.status_code == 400 and codes(r) == [5000]
    assert "ENG005000" in r.json()["errors"][0]["description"]
    assert codes(await post({})) == [5023]
    assert codes(await post({"type": "message"})) == [5003]
    both = {"type": "message", "message": {"type": "text", "text": "a"}, "event": {"type": "seen"}}
    assert codes(await post(both)) == [5004]
    assert codes(await post({"type": "message", "message": {"type": "text"}})) == [5001]
    r = await post(
        {
            "type": "message",
            "sender": {"integrationId": "zz"},
            "message": {"type": "text", "text": "a"},
        }
    )
    assert codes(r) == [5020]
    assert codes(await post({"type": "message", "message": {"type": "location"}})) == [5024]
    r = await post({"type": "message", "message": {"type": "text", "text": "a"}}, other_tenant)
    assert r.status_code == 404 and codes(r) == [6500]
    r = await client.post(CUSTOMER.format(uuid.uuid4()), content=b"", headers=tenant.engine)
    assert r.status_code == 404 and codes(r) == [6500]  # existence before the body
    r = await post(
        {
            "type": "message",
            "sender": {"integrationId": sc.paused_agent.id},
            "message": {"type": "text", "text": "a"},
        }
    )
    assert codes(r) == [6502]
    r = await post(
        {
            "type": "message",
            "sender": {"integrationId": str(uuid.uuid4())},
            "message": {"type": "text", "text": "a"},
        }
    )
    assert r.status_code == 404 and codes(r) == [6000]


async def test_commands_seam_and_state_errors(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    sc = await scene(client, ctx, tenant, receiver)
    url = CUSTOMER.format(sc.conversation_id)
    r = await client.post(
        url,
        json={
            "type": "message",
            "sender": {"integrationId": sc.agent.id},
            "message": {"type": "text", "text": "::hours today"},
        },
        headers=tenant.engine,
    )
    assert r.status_code == 400 and codes(r) == [9201]
    r = await client.post(
        url,
        json={
            "type": "message",
            "sender": {"integrationId": sc.agent.id},
            "message": {"type": "text", "text": ":: "},
        },
        headers=tenant.engine,
    )
    assert codes(r) == [9000]
    # A customer typing `::` is just talking.
    r = await client.post(
        url,
        json={"type": "message", "message": {"type": "text", "text": "::x"}},
        headers=tenant.engine,
    )
    assert r.status_code == 200

    r = await client.put(
        f"/api/v1/hubs/{sc.hub_id}", json={"statusId": 2002}, headers=tenant.portal
    )
    assert r.status_code == 200
    r = await client.post(
        url,
        json={"type": "message", "message": {"type": "text", "text": "a"}},
        headers=tenant.engine,
    )
    assert codes(r) == [6503]
    await client.put(f"/api/v1/hubs/{sc.hub_id}", json={"statusId": 2000}, headers=tenant.portal)
    await client.post(f"/api/v1/conversations/{sc.conversation_id}/close", headers=tenant.engine)
    r = await client.post(
        url,
        json={"type": "message", "message": {"type": "text", "text": "a"}},
        headers=tenant.engine,
    )
    assert r.status_code == 400 and codes(r) == [6501]
    assert "closed" in r.json()["errors"][0]["description"]


async def test_no_business_integration(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
) -> None:
    hub = await make_hub(client, tenant)
    customer = await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub["hubId"])
    await make_integration(
        ctx.db, ctx.box, tenant.tenant_id, hub["hubId"], integration_type="Agent", status_id=3002
    )
    r = await client.post(
        "/api/v1/conversations/establish",
        json={"integrationId": customer.id, "binding": "x", "channelType": "Direct"},
        headers=tenant.engine,
    )
    r = await client.post(
        CUSTOMER.format(r.json()["conversationId"]),
        json={"type": "message", "message": {"type": "text", "text": "a"}},
        headers=tenant.engine,
    )
    assert r.status_code == 400 and codes(r) == [5501]
