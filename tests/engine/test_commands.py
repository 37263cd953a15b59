"""`::name args` response commands typed by agents and bots, end to end: the responses reach
the receiving side's webhooks (signatures verified), are stored, and errors use ENG009xxx."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TenantCreds, codes
from tests.engine.receiver import Receiver, wait_for
from tests.engine.test_routing import BUSINESS, CUSTOMER, Scene, scene
from unihub.core.context import AppContext

CONTACT = {
    "type": "contact",
    "title": "Eva Green",
    "properties": [{"key": "Cell", "value": "+1 (714) 873-6202", "type": "phone;cell"}],
}


async def _command(
    client: httpx.AsyncClient, t: TenantCreds, hub_id: str, **body: Any
) -> dict[str, Any]:
    r = await client.post(f"/api/v1/commands/responses/{hub_id}", json=body, headers=t.portal)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def _say(
    client: httpx.AsyncClient, t: TenantCreds, sc: Scene, text: str, sender: str | None = None
) -> httpx.Response:
    return await client.post(
        BUSINESS.format(sc.conversation_id),
        json={
            "type": "message",
            "sender": {"integrationId": sender or sc.agent.id},
            "message": {"type": "text", "text": text},
        },
        headers=t.engine,
    )


async def test_customer_command_sends_each_response_to_the_customer(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    sc = await scene(client, ctx, tenant, receiver, bot_active=False)
    await _command(
        client,
        tenant,
        sc.hub_id,
        name="contact-eva.green",
        category="contacts",
        integrationTypeId="customer",
        type="message",
        responses=[{"type": "text", "text": "Below is my contact info"}, CONTACT],
    )
    r = await _say(client, tenant, sc, "  ::Contact-Eva.Green please")
    assert r.status_code == 200, r.text
    ack = r.json()
    assert ack["command"] == "contact-eva.green"
    assert ack["integrationId"] == sc.agent.id and ack["conversationId"] == sc.conversation_id
    assert len(ack["activities"]) == 2
    first, second = ack["activities"]
    assert ack["eventId"] == first["eventId"] < second["eventId"]

    await wait_for(lambda: len(receiver.at("customer")) == 2, what="both responses")
    got = [x.activity for x in receiver.at("customer")]
    assert receiver.rejected == 0
    assert [a["message"]["type"] for a in got] == ["text", "contact"]
    assert got[0]["message"]["text"] == "Below is my contact info"
    assert got[1]["message"]["title"] == "Eva Green"
    assert [a["eventId"] for a in got] == [first["eventId"], second["eventId"]]
    assert all(a["sender"]["integrationId"] == sc.agent.id for a in got)
    assert all(a["eventTrigger"] == "message:agent" and not a["isEcho"] for a in got)
    # The command text itself never reaches anyone; agents do not hear customer-side answers.
    assert receiver.at("agent") == [] and receiver.at("bot") == []

    r = await client.get(
        f"/api/v1/interactions/activities/{sc.conversation_id}",
        params={"type": "Customer"},
        headers=tenant.engine,
    )
    assert [a["eventId"] for a in r.json()] == [first["eventId"], second["eventId"]]


async def test_agent_command_sends_events_to_the_business_side(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    sc = await scene(client, ctx, tenant, receiver)
    await _command(
        client,
        tenant,
        sc.hub_id,
        name="escalate",
        integrationTypeId="agent",
        type="event",
        responses=[{"type": "payload", "payloadType": "type1", "payload": {"level": 2}}],
    )
    r = await _say(client, tenant, sc, "::escalate now", sender=sc.bot.id)
    assert r.status_code == 200, r.text
    ack = r.json()
    assert "interactionId" not in ack and ack["integrationId"] == sc.bot.id

    await wait_for(lambda: receiver.at("agent") and receiver.at("bot"), what="agent and bot")
    for name, integration in (("agent", sc.agent), ("bot", sc.bot)):
        activity = receiver.at(name)[0].activity
        assert activity["type"] == "event" and activity["eventTrigger"] == "event:bot"
        assert activity["event"]["payload"] == {"level": 2}
        assert activity["recipient"]["integrationId"] == integration.id
        assert activity["eventId"] == ack["eventId"]
    assert receiver.at("customer") == [] and receiver.at("paused") == []

    stored = await client.get(
        f"/api/v1/interactions/activities/{sc.conversation_id}",
        params={"type": "Agent"},
        headers=tenant.engine,
    )
    assert [a["eventId"] for a in stored.json()] == [ack["eventId"]]
    customer_side = await client.get(
        f"/api/v1/interactions/activities/{sc.conversation_id}",
        params={"type": "Customer"},
        headers=tenant.engine,
    )
    assert customer_side.json() == []


async def test_list_all_and_by_category(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    sc = await scene(client, ctx, tenant, receiver)
    text = [{"type": "text", "text": "hi"}]
    for name, category in (("hello", "greetings"), ("bye", "Greetings"), ("card", None)):
        body: dict[str, Any] = {"name": name, "integrationTypeId": "customer", "type": "message"}
        if category:
            body["category"] = category
        await _command(client, tenant, sc.hub_id, **body, responses=text, description=name)

    r = await _say(client, tenant, sc, "::--list")
    assert r.status_code == 200, r.text
    listing = r.json()
    assert [c["name"] for c in listing["commands"]] == ["hello", "bye", "card"]
    assert listing["commands"][0] == {
        "name": "hello",
        "category": "greetings",
        "description": "hello",
        "integrationTypeId": "customer",
        "type": "message",
    }
    assert listing["integrationId"] == sc.agent.id and "eventId" not in listing

    r = await _say(client, tenant, sc, "::GREETINGS --list")
    assert r.status_code == 200, r.text
    assert [c["name"] for c in r.json()["commands"]] == ["hello", "bye"]

    r = await _say(client, tenant, sc, "::weather --list")
    assert r.status_code == 400 and codes(r) == [9202]
    assert "weather" in r.json()["errors"][0]["description"]

    # A listing is a question to the engine: nothing was stored or sent.
    r = await client.get(
        f"/api/v1/interactions/activities/{sc.conversation_id}",
        params={"type": "Agent"},
        headers=tenant.engine,
    )
    assert r.json() == []
    assert receiver.at("customer") == []


async def test_command_errors(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    sc = await scene(client, ctx, tenant, receiver)

    r = await _say(client, tenant, sc, "::   ")
    assert r.status_code == 400 and codes(r) == [9000]
    r = await _say(client, tenant, sc, "::anything")
    assert r.status_code == 400 and codes(r) == [9201]
    r = await _say(client, tenant, sc, "::--list")
    assert r.status_code == 400 and codes(r) == [9201]

    await _command(
        client,
        tenant,
        sc.hub_id,
        name="hello",
        integrationTypeId="customer",
        type="message",
        responses=[{"type": "text", "text": "hi"}],
    )
    r = await _say(client, tenant, sc, "::nope arg")
    assert r.status_code == 400 and codes(r) == [9200]
    description = r.json()["errors"][0]["description"]
    assert "'nope'" in description and "--list" in description
    r = await _say(client, tenant, sc, "::hello --verbose")
    assert r.status_code == 400 and codes(r) == [9001]

    # Another hub's commands are not this hub's.
    other = await scene(client, ctx, tenant, receiver)
    r = await _say(client, tenant, other, "::hello")
    assert r.status_code == 400 and codes(r) == [9201]

    # Customers typing `::` just talk: their text is routed like any other.
    r = await client.post(
        CUSTOMER.format(sc.conversation_id),
        json={"type": "message", "message": {"type": "text", "text": "::hello"}},
        headers=tenant.engine,
    )
    assert r.status_code == 200 and "command" not in r.json()
    await wait_for(lambda: receiver.at("agent"), what="the customer's text at the agent")
    assert receiver.at("agent")[0].activity["message"]["text"] == "::hello"
    assert receiver.rejected == 0


async def test_documented_resp_and_trans_syntax(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    """`::resp -n <name>` and `::trans [-force] -n <name>`, as the reference documents them."""
    sc = await scene(client, ctx, tenant, receiver, bot_active=False)
    await _command(
        client,
        tenant,
        sc.hub_id,
        name="contact.eva.green",
        integrationTypeId="customer",
        type="message",
        responses=[CONTACT],
    )
    r = await client.post(
        f"/api/v1/commands/transfers/{sc.hub_id}",
        json={
            "name": "shopify",
            "url": "https://shop.example.com/cart",
            "linkDescription": "Go to your cart",
            "mountDelay": 1500,
        },
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text

    r = await _say(client, tenant, sc, "::resp -n contact.eva.green")
    assert r.status_code == 200, r.text
    assert r.json()["command"] == "contact.eva.green"
    await wait_for(lambda: len(receiver.at("customer")) == 1, what="the contact card")
    assert receiver.at("customer")[0].activity["message"]["title"] == "Eva Green"

    for text in ("::trans -force -n shopify", "::trans -n SHOPIFY"):
        r = await _say(client, tenant, sc, text)
        assert r.status_code == 200, r.text
        ack = r.json()
        assert ack["command"] == "shopify" and isinstance(ack["eventId"], int)
    await wait_for(lambda: len(receiver.at("customer")) == 3, what="both transfers")
    transfers = [x.activity for x in receiver.at("customer")[1:]]
    for activity, forced in zip(transfers, (True, False), strict=True):
        assert activity["type"] == "event"
        event = activity["event"]
        assert event["type"] == "payload" and event["payloadType"] == "hubster.transfer"
        assert event["payload"] == {
            "name": "shopify",
            "url": "https://shop.example.com/cart",
            "linkDescription": "Go to your cart",
            "mountDelay": 1500,
            "forced": forced,
        }
    assert receiver.at("agent") == []  # the command text reaches no one

    for text, code in (
        ("::trans -n nope", 9200),
        ("::resp -n nope", 9200),
        ("::trans -n", 9000),
    ):
        r = await _say(client, tenant, sc, text)
        assert r.status_code == 400 and codes(r) == [code], (text, r.text)
    # `::name` keeps working beside the documented form
    r = await _say(client, tenant, sc, "::contact.eva.green")
    assert r.status_code == 200 and r.json()["command"] == "contact.eva.green"
