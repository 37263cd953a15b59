"""The switchboard end to end through signed webhooks: a bot answers first, agents watch on
standby, take over, hand over and release; commands; fallbacks; the race of two takeovers;
hubs without a bot route as before."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tests.conftest import TenantCreds, codes
from tests.engine.factories import MadeIntegration, make_hub, make_integration
from tests.engine.receiver import Receiver, wait_for
from unihub.channels.types import ChannelId
from unihub.core.context import AppContext

CUSTOMER = "/inbound/customer/v1/direct/activity/{}"
BUSINESS = "/inbound/business/v1/direct/activity/{}"
CONTROL = "/api/v1/conversations/{}/control"


@dataclass
class Desk:
    hub_id: str
    customer: MadeIntegration
    bot: MadeIntegration | None
    agent1: MadeIntegration
    agent2: MadeIntegration
    system: MadeIntegration
    conversation_id: str
    names: dict[str, str]


async def desk(
    client: httpx.AsyncClient,
    ctx: AppContext,
    t: TenantCreds,
    receiver: Receiver,
    *,
    with_bot: bool = True,
    bot_standby: bool = False,
) -> Desk:
    """A hub with a customer, a bot (optional), two agents and a System observer of control
    events and customer messages, every one with a webhook on the receiver."""
    hub_id = (await make_hub(client, t))["hubId"]
    names: dict[str, str] = {}

    async def make(name: str, **kw: Any) -> MadeIntegration:
        made = await make_integration(
            ctx.db, ctx.box, t.tenant_id, hub_id, webhook_url=receiver.url(name), **kw
        )
        receiver.trust(made.public_key, made.private_key)
        names[made.id] = name
        return made

    customer = await make("customer", integration_type="Customer")
    bot = await make("bot", integration_type="Bot") if with_bot else None
    if bot is not None and bot_standby:
        await _configure(client, t, bot.id, {"integrationType": "Bot", "standby": True,
                                             "webhookUrl": receiver.url("bot")})  # fmt: skip
    agent1 = await make("agent1", integration_type="Agent")
    agent2 = await make("agent2", integration_type="Agent")
    system = await make(
        "system",
        channel=ChannelId.System,
        integration_type="System",
        events=["control", "message:customer"],
    )
    cid = await establish(client, t, customer.id)
    return Desk(hub_id, customer, bot, agent1, agent2, system, cid, names)


async def _configure(
    client: httpx.AsyncClient, t: TenantCreds, integration_id: str, configuration: dict[str, Any]
) -> None:
    r = await client.put(
        f"/api/v1/integrations/{integration_id}",
        json={"configuration": configuration},
        headers=t.portal,
    )
    assert r.status_code == 200, r.text


async def establish(client: httpx.AsyncClient, t: TenantCreds, customer_id: str) -> str:
    r = await client.post(
        "/api/v1/conversations/establish",
        json={
            "integrationId": customer_id,
            "binding": f"b-{id(object())}",
            "channelType": "Direct",
        },
        headers=t.engine,
    )
    assert r.status_code == 200, r.text
    cid: str = r.json()["conversationId"]
    return cid


async def say(
    client: httpx.AsyncClient, t: TenantCreds, cid: str, text: str, sender: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"type": "message", "message": {"type": "text", "text": text}}
    if sender is not None:
        body["sender"] = {"integrationId": sender}
    path = (BUSINESS if sender else CUSTOMER).format(cid)
    return await client.post(path, json=body, headers=t.engine)


async def control(
    client: httpx.AsyncClient, t: TenantCreds, cid: str, action: str, actor: str, **extra: Any
) -> httpx.Response:
    body = {"action": action, "integrationId": actor, **extra}
    return await client.post(CONTROL.format(cid), json=body, headers=t.engine)


async def state(client: httpx.AsyncClient, t: TenantCreds, cid: str) -> dict[str, Any] | None:
    r = await client.get(f"/api/v1/conversations/{cid}", headers=t.engine)
    assert r.status_code == 200, r.text
    held: dict[str, Any] | None = r.json()["control"]
    return held


def texts(receiver: Receiver, name: str) -> list[tuple[str, bool]]:
    """(text, standby) of every message webhook `name` got, in arrival order."""
    return [
        (r.activity["message"]["text"], r.activity.get("standby") is True)
        for r in receiver.at(name)
        if r.activity["type"] == "message"
    ]


def controls(receiver: Receiver, name: str) -> list[dict[str, Any]]:
    return [
        r.activity["event"]
        for r in receiver.at(name)
        if r.activity["type"] == "event" and r.activity["event"]["type"] == "control"
    ]


async def stored(
    client: httpx.AsyncClient, t: TenantCreds, cid: str, side: str
) -> list[dict[str, Any]]:
    r = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": side}, headers=t.engine
    )
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()
    return out


# --------------------------------------------------------------------------- routing


async def test_bot_answers_first_and_agents_watch_on_standby(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    d = await desk(client, ctx, tenant, receiver)
    assert d.bot is not None
    held = await state(client, tenant, d.conversation_id)
    assert held is not None and held["integrationId"] == d.bot.id
    assert held["integrationType"] == "Bot" and held["since"]

    assert (await say(client, tenant, d.conversation_id, "Hi")).status_code == 200
    await wait_for(lambda: texts(receiver, "agent2") and texts(receiver, "system"), what="copies")
    assert texts(receiver, "bot") == [("Hi", False)]
    for agent in ("agent1", "agent2"):
        (copy,) = receiver.at(agent)
        assert copy.activity["standby"] is True
        assert copy.activity["recipient"]["integrationId"] == d.bot.id  # whom it was for
        assert copy.body["integrationId"] == {n: i for i, n in d.names.items()}[agent]
    # The bot's reply reaches the customer; agents see it on standby too.
    r = await say(client, tenant, d.conversation_id, "Hello, I am a bot", sender=d.bot.id)
    assert r.status_code == 200, r.text
    await wait_for(lambda: texts(receiver, "customer"), what="the bot's reply")
    await wait_for(lambda: len(texts(receiver, "agent1")) == 2, what="standby copy of the reply")
    assert texts(receiver, "customer") == [("Hello, I am a bot", False)]
    assert texts(receiver, "agent1")[1] == ("Hello, I am a bot", True)
    assert controls(receiver, "customer") == []  # nothing changed hands


async def test_agent_takes_over_with_metadata_then_releases_to_the_bot(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    d = await desk(client, ctx, tenant, receiver)
    assert d.bot is not None
    cid = d.conversation_id
    await say(client, tenant, cid, "I need a human")
    r = await control(client, tenant, cid, "takeover", d.agent1.id, metadata={"reason": "vip"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["changed"] is True and isinstance(out["eventId"], int)
    assert out["control"]["integrationId"] == d.agent1.id
    assert out["control"]["integrationType"] == "Agent"
    assert (await state(client, tenant, cid)) == out["control"]

    everyone = ("bot", "agent1", "agent2", "customer", "system")
    await wait_for(lambda: all(controls(receiver, n) for n in everyone), what="control events")
    for name in ("bot", "agent1", "agent2"):
        (event,) = controls(receiver, name)
        assert event["action"] == "takeover" and event["metadata"] == {"reason": "vip"}
        assert event["from"] == {"integrationId": d.bot.id, "integrationType": "Bot"}
        assert event["to"] == {"integrationId": d.agent1.id, "integrationType": "Agent"}
    (to_customer,) = controls(receiver, "customer")
    assert "metadata" not in to_customer and to_customer["action"] == "takeover"
    (observed,) = [
        r.body["activities"][0] for r in receiver.at("system") if r.activity["type"] == "event"
    ]
    assert observed["eventTrigger"] == "control:takeover" and observed["eventId"] == out["eventId"]
    # Stored: shown per side, the customer's without metadata.
    agent_side = [a for a in await stored(client, tenant, cid, "Agent") if a["type"] == "event"]
    customer_side = [
        a for a in await stored(client, tenant, cid, "Customer") if a["type"] == "event"
    ]
    assert [a["eventId"] for a in agent_side] == [out["eventId"]]
    assert agent_side[0]["event"]["metadata"] == {"reason": "vip"}
    assert "metadata" not in customer_side[0]["event"]

    # Now the agent alone hears the customer; the other agent watches; the bot hears nothing.
    await say(client, tenant, cid, "Thanks")
    await wait_for(lambda: len(texts(receiver, "agent2")) == 2, what="second customer message")
    assert texts(receiver, "agent1")[-1] == ("Thanks", False)
    assert texts(receiver, "agent2")[-1] == ("Thanks", True)
    assert texts(receiver, "bot") == [("I need a human", False)]
    # No bot talks over a human: refused, nothing stored.
    before = await stored(client, tenant, cid, "Customer")
    r = await say(client, tenant, cid, "Can I help?", sender=d.bot.id)
    assert r.status_code == 403 and codes(r) == [4011], r.text
    assert "ENG004011" in r.text
    assert await stored(client, tenant, cid, "Customer") == before

    r = await control(client, tenant, cid, "release", d.agent1.id)
    assert r.status_code == 200, r.text
    assert r.json()["control"]["integrationId"] == d.bot.id
    await say(client, tenant, cid, "Bye")
    await wait_for(lambda: texts(receiver, "bot")[-1:] == [("Bye", False)], what="bot again")
    assert (await say(client, tenant, cid, "Goodbye!", sender=d.bot.id)).status_code == 200


async def test_bot_hands_over_to_the_agents_and_an_agent_hands_back(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    d = await desk(client, ctx, tenant, receiver)
    assert d.bot is not None
    cid = d.conversation_id
    r = await control(client, tenant, cid, "handover", d.bot.id, metadata={"intent": "refund"})
    assert r.status_code == 200, r.text
    assert r.json()["control"] == {**r.json()["control"], "integrationId": None}
    assert r.json()["control"]["integrationType"] == "Agent"
    # The agents as a group: every agent hears the customer, none on standby (as before).
    await say(client, tenant, cid, "Refund please")
    await wait_for(lambda: texts(receiver, "agent1") and texts(receiver, "agent2"), what="agents")
    assert texts(receiver, "agent1") == texts(receiver, "agent2") == [("Refund please", False)]
    assert texts(receiver, "bot") == []
    # The hub's agent desk lists conversations waiting for an agent.
    waiting = await client.get(
        f"/api/v1/conversations/hubs/{d.hub_id}/established",
        params={"controlledBy": "agents"},
        headers=tenant.engine,
    )
    assert waiting.status_code == 200
    assert [c["conversationId"] for c in waiting.json()] == [cid]
    assert waiting.json()[0]["control"]["integrationId"] is None
    # Any agent of the group may hand it to a named agent, then back to the starting bot.
    r = await control(client, tenant, cid, "handover", d.agent1.id, target=d.agent2.id)
    assert r.status_code == 200 and r.json()["control"]["integrationId"] == d.agent2.id
    r = await control(client, tenant, cid, "handover", d.agent1.id)
    assert r.status_code == 403 and codes(r) == [4010], r.text  # no longer the controller
    r = await control(client, tenant, cid, "handover", d.agent2.id)
    assert r.status_code == 200 and r.json()["control"]["integrationId"] == d.bot.id
    await wait_for(lambda: len(controls(receiver, "customer")) == 3, what="three changes")
    assert [e["action"] for e in controls(receiver, "customer")] == ["handover"] * 3


async def test_an_agent_message_takes_control_first(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    d = await desk(client, ctx, tenant, receiver)
    cid = d.conversation_id
    r = await say(client, tenant, cid, "Let me help you", sender=d.agent2.id)
    assert r.status_code == 200, r.text
    held = await state(client, tenant, cid)
    assert held is not None and held["integrationId"] == d.agent2.id
    await wait_for(lambda: len(receiver.at("customer")) == 2, what="event then message")
    first, second = (x.activity for x in receiver.at("customer"))
    assert first["type"] == "event" and first["event"]["action"] == "takeover"
    assert first["sender"]["integrationId"] == d.agent2.id
    assert second["message"]["text"] == "Let me help you"
    assert first["eventId"] < second["eventId"] == r.json()["eventId"]
    # Another agent may still answer; control stays with the one who took it.
    assert (await say(client, tenant, cid, "Me too", sender=d.agent1.id)).status_code == 200
    held = await state(client, tenant, cid)
    assert held is not None and held["integrationId"] == d.agent2.id


async def test_standby_bot_and_the_configuration_flag(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    d = await desk(client, ctx, tenant, receiver, bot_standby=True)
    assert d.bot is not None
    cid = d.conversation_id
    r = await control(client, tenant, cid, "takeover", d.agent1.id)
    assert r.status_code == 200, r.text
    await say(client, tenant, cid, "Hello?")
    await wait_for(lambda: texts(receiver, "bot"), what="the bot's standby copy")
    assert texts(receiver, "bot") == [("Hello?", True)]
    # Only bots take the flag.
    r = await client.put(
        f"/api/v1/integrations/{d.agent2.id}",
        json={"configuration": {"integrationType": "Agent", "standby": True}},
        headers=tenant.portal,
    )
    assert r.status_code == 400 and codes(r) == [206], r.text


# --------------------------------------------------------------------------- commands


async def test_commands_typed_by_agents_and_bots(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    d = await desk(client, ctx, tenant, receiver)
    assert d.bot is not None
    cid = d.conversation_id
    r = await say(client, tenant, cid, "::takeover", sender=d.agent1.id)
    assert r.status_code == 200, r.text
    assert r.json()["command"] == "takeover" and r.json()["changed"] is True
    assert r.json()["control"]["integrationId"] == d.agent1.id
    agent2_name = await _name(client, tenant, d.agent2.id)
    r = await say(client, tenant, cid, f"::handover -n {agent2_name.upper()}", sender=d.agent1.id)
    assert r.status_code == 200 and r.json()["control"]["integrationId"] == d.agent2.id, r.text
    r = await say(client, tenant, cid, "::handover -n nobody", sender=d.agent2.id)
    assert r.status_code == 400 and codes(r) == [4013], r.text
    r = await say(client, tenant, cid, "::release", sender=d.agent2.id)
    assert r.status_code == 200 and r.json()["control"]["integrationId"] == d.bot.id
    r = await say(client, tenant, cid, "::release", sender=d.bot.id)
    assert r.status_code == 200 and r.json()["changed"] is False and r.json()["eventId"] is None
    r = await say(client, tenant, cid, "::handover", sender=d.bot.id)
    assert r.status_code == 200 and r.json()["control"]["integrationId"] is None
    # The commands are not messages: the customer got control events only.
    await wait_for(lambda: len(controls(receiver, "customer")) == 4, what="four changes")
    assert texts(receiver, "customer") == []
    actions = [e["action"] for e in controls(receiver, "customer")]
    assert actions == ["takeover", "handover", "release", "handover"]


async def _name(client: httpx.AsyncClient, t: TenantCreds, integration_id: str) -> str:
    r = await client.get(f"/api/v1/integrations/{integration_id}", headers=t.portal)
    assert r.status_code == 200, r.text
    name: str = r.json()["name"]
    return name


# --------------------------------------------------------------------------- refusals


async def test_refusals_change_nothing(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    other_tenant: TenantCreds,
    receiver: Receiver,
) -> None:
    d = await desk(client, ctx, tenant, receiver)
    assert d.bot is not None
    cid = d.conversation_id
    other = await desk(client, ctx, tenant, receiver)
    assert other.bot is not None
    cases: list[tuple[dict[str, Any], int, list[int]]] = [
        ({"action": "takeover", "integrationId": d.bot.id}, 403, [4010]),
        ({"action": "takeover", "integrationId": d.customer.id}, 403, [4010]),
        ({"action": "takeover", "integrationId": d.system.id}, 403, [4010]),
        ({"action": "handover", "integrationId": d.agent1.id}, 403, [4010]),
        ({"action": "release", "integrationId": d.agent1.id}, 403, [4010]),
        ({"action": "takeover", "integrationId": other.agent1.id}, 404, [6000]),
        ({"action": "handover", "integrationId": d.bot.id, "target": d.customer.id}, 400, [4013]),
        ({"action": "handover", "integrationId": d.bot.id, "target": d.bot.id}, 400, [4013]),
        ({"action": "handover", "integrationId": d.bot.id, "target": other.bot.id}, 404, [6000]),
        ({"action": "steal", "integrationId": d.agent1.id}, 400, [206]),
        ({"integrationId": d.agent1.id}, 400, [5001]),
        ({"action": "takeover", "integrationId": "nope"}, 400, [5020]),
        (
            {"action": "takeover", "integrationId": d.agent1.id, "metadata": {"x": "y" * 5000}},
            400,
            [4014],
        ),
    ]
    for body, status, expected in cases:
        r = await client.post(CONTROL.format(cid), json=body, headers=tenant.engine)
        assert (r.status_code, codes(r)) == (status, expected), (body, r.text)
    r = await client.post(CONTROL.format(cid), content=b"{", headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [5000], r.text
    # Another tenant's conversation does not exist for this one.
    body = {"action": "takeover", "integrationId": d.agent1.id}
    r = await client.post(CONTROL.format(cid), json=body, headers=other_tenant.engine)
    assert r.status_code == 404 and codes(r) == [6500], r.text
    held = await state(client, tenant, cid)
    assert held is not None and held["integrationId"] == d.bot.id
    assert [a for a in await stored(client, tenant, cid, "Agent")] == []


async def test_two_simultaneous_takeovers_one_wins(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    for _ in range(5):
        d = await desk(client, ctx, tenant, receiver)
        cid = d.conversation_id
        answers = await asyncio.gather(
            control(client, tenant, cid, "takeover", d.agent1.id),
            control(client, tenant, cid, "takeover", d.agent2.id),
        )
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        won = next(a for a in answers if a.status_code == 200).json()["control"]["integrationId"]
        lost = next(a for a in answers if a.status_code == 409)
        assert codes(lost) == [4012] and won in lost.text
        held = await state(client, tenant, cid)
        assert held is not None and held["integrationId"] == won
        events = [a for a in await stored(client, tenant, cid, "Agent") if a["type"] == "event"]
        assert len(events) == 1


# --------------------------------------------------------------------------- fallbacks


async def _pause(client: httpx.AsyncClient, t: TenantCreds, integration_id: str) -> None:
    r = await client.put(
        f"/api/v1/integrations/{integration_id}", json={"statusId": 3002}, headers=t.portal
    )
    assert r.status_code == 200, r.text


async def test_fallbacks_when_the_controller_is_gone(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    d = await desk(client, ctx, tenant, receiver)
    assert d.bot is not None
    cid = d.conversation_id
    # The bot is paused: the next customer message goes to the agents, a fallback recorded.
    await _pause(client, tenant, d.bot.id)
    assert (await say(client, tenant, cid, "Anyone?")).status_code == 200
    await wait_for(lambda: texts(receiver, "agent1") and texts(receiver, "agent2"), what="agents")
    assert texts(receiver, "agent1") == [("Anyone?", False)]
    (fallback,) = controls(receiver, "agent1")
    assert fallback["action"] == "fallback"
    assert fallback["from"]["integrationId"] == d.bot.id and fallback["to"]["integrationId"] is None
    first = next(r.activity for r in receiver.at("agent1") if r.activity["type"] == "event")
    assert first["sender"]["integrationType"] == "System"

    # An agent takes over and is deleted: back to the starting bot, once it is active again.
    r = await client.put(
        f"/api/v1/integrations/{d.bot.id}", json={"statusId": 3000}, headers=tenant.portal
    )
    assert r.status_code == 200, r.text
    assert (await control(client, tenant, cid, "takeover", d.agent1.id)).status_code == 200
    r = await client.delete(f"/api/v1/integrations/{d.agent1.id}", headers=tenant.portal)
    assert r.status_code in (200, 204), r.text
    assert (await say(client, tenant, cid, "Hello again")).status_code == 200
    await wait_for(lambda: texts(receiver, "bot"), what="the starting bot")
    assert texts(receiver, "bot") == [("Hello again", False)]
    held = await state(client, tenant, cid)
    assert held is not None and held["integrationId"] == d.bot.id
    assert [e["action"] for e in controls(receiver, "agent2")] == [
        "fallback",
        "takeover",
        "fallback",
    ]

    # Nobody left: today's ENG005501, nothing stored.
    await _pause(client, tenant, d.bot.id)
    await _pause(client, tenant, d.agent2.id)
    before = await stored(client, tenant, cid, "Customer")
    r = await say(client, tenant, cid, "Hello?")
    assert r.status_code == 400 and codes(r) == [5501], r.text
    assert await stored(client, tenant, cid, "Customer") == before


async def test_closing_ends_control(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    d = await desk(client, ctx, tenant, receiver)
    cid = d.conversation_id
    r = await client.post(f"/api/v1/conversations/{cid}/close", headers=tenant.engine)
    assert r.status_code == 200 and r.json()["control"] is None
    r = await client.get(f"/api/v1/conversations/{cid}/established", headers=tenant.engine)
    assert r.status_code == 200 and r.json()["control"] is None
    r = await control(client, tenant, cid, "takeover", d.agent1.id)
    assert r.status_code == 400 and codes(r) == [6501], r.text


# --------------------------------------------------------------------------- no bot


async def test_a_hub_without_a_bot_routes_as_before(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    d = await desk(client, ctx, tenant, receiver, with_bot=False)
    cid = d.conversation_id
    held = await state(client, tenant, cid)
    assert held is not None and held["integrationId"] is None
    assert held["integrationType"] == "Agent"
    await say(client, tenant, cid, "Hi")
    r = await say(client, tenant, cid, "Hello", sender=d.agent1.id)
    assert r.status_code == 200, r.text
    await wait_for(lambda: texts(receiver, "agent2") and texts(receiver, "customer"), what="all")
    assert texts(receiver, "agent1") == texts(receiver, "agent2") == [("Hi", False)]
    assert texts(receiver, "customer") == [("Hello", False)]
    for name in ("agent1", "agent2", "customer", "system"):
        assert controls(receiver, name) == []
        for got in receiver.at(name):
            assert "standby" not in orjson.dumps(got.body).decode()
    held = await state(client, tenant, cid)
    assert held is not None and held["integrationId"] is None
    r = await client.get(
        f"/api/v1/conversations/hubs/{d.hub_id}/established",
        params={"controlledBy": "bot"},
        headers=tenant.engine,
    )
    assert r.status_code == 200 and r.json() == []
    r = await client.get(
        f"/api/v1/conversations/hubs/{d.hub_id}/established",
        params={"controlledBy": "robots"},
        headers=tenant.engine,
    )
    assert r.status_code == 400 and codes(r) == [206]
