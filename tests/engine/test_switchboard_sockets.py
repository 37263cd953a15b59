"""The switchboard over the sockets and a provider channel: standby copies and control events
reach agents that listen on the SignalR hub and on the Events websocket (real clients, a served
process), and a Twilio SMS customer gets nothing for a control event."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import TenantCreds
from tests.engine.factories import MadeIntegration, make_hub, make_integration
from tests.engine.procs import Server
from tests.engine.receiver import Receiver, wait_for
from tests.engine.test_delivery import wait_for_async
from tests.engine.test_processes import shared_server  # noqa: F401 - fixture
from tests.engine.test_signalr import listening
from tests.engine.test_switchboard import control, establish, say, texts
from tests.fakes.twilio import FakeTwilio
from tests.providers.helpers import (
    deliveries_to,
    direct_agent,
    reply,
    send_sms,
    twilio_integration,
)
from unihub.core.context import AppContext
from unihub.delivery.models import DELIVERED

PHONE = "+15551230077"


async def _webhooked(
    ctx: AppContext, t: TenantCreds, hub_id: str, receiver: Receiver, name: str, kind: str
) -> MadeIntegration:
    made = await make_integration(
        ctx.db, ctx.box, t.tenant_id, hub_id, integration_type=kind, webhook_url=receiver.url(name)
    )
    receiver.trust(made.public_key, made.private_key)
    return made


@contextlib.asynccontextmanager
async def events_socket(server: Server, t: TenantCreds, integration_id: str) -> AsyncIterator[Any]:
    """The Events websocket by integration only; `next()` gives the next frame's activity."""
    url = f"{server.ws_url}/api/v1/events/ws?integrationId={integration_id}"
    async with connect(url, additional_headers=t.engine) as ws:

        async def next_activity(conn: ClientConnection = ws) -> dict[str, Any]:
            frame = orjson.loads(await asyncio.wait_for(conn.recv(), 30))
            assert frame["integrationId"] == integration_id, frame
            uuid.UUID(frame["deliveryId"])
            activity: dict[str, Any] = frame["activity"]
            return activity

        yield next_activity


def _is_control(activity: dict[str, Any], action: str) -> bool:
    return bool(
        activity["type"] == "event"
        and activity["event"]["type"] == "control"
        and activity["event"]["action"] == action
    )


@pytest.mark.parametrize("taker", ["signalr", "websocket"])
async def test_socket_agents_get_standby_copies_and_control_events(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    shared_server: Server,  # noqa: F811 - fixture
    taker: str,
) -> None:
    hub_id = (await make_hub(client, tenant))["hubId"]
    customer = await _webhooked(ctx, tenant, hub_id, receiver, "customer", "Customer")
    bot = await _webhooked(ctx, tenant, hub_id, receiver, "bot", "Bot")
    # Two agents without webhookUrl: their deliveries go to the sockets.
    on_hub = await make_integration(
        ctx.db, ctx.box, tenant.tenant_id, hub_id, integration_type="Agent"
    )
    on_ws = await make_integration(
        ctx.db, ctx.box, tenant.tenant_id, hub_id, integration_type="Agent"
    )
    cid = await establish(client, tenant, customer.id)
    hub_url = f"{shared_server.base_url}/engine-chat-hub?iId={on_hub.id}"  # no cId

    async with (
        listening(hub_url, tenant.engine) as hub,
        events_socket(shared_server, tenant, on_ws.id) as ws_next,
    ):
        # Bot-controlled: the bot hears the customer, both socket agents get standby copies.
        r = await say(client, tenant, cid, "Hi")
        assert r.status_code == 200, r.text
        hi = r.json()["eventId"]
        for copy in (await hub.next(), await ws_next()):
            assert copy["eventId"] == hi and copy["message"]["text"] == "Hi"
            assert copy["standby"] is True
            assert copy["recipient"]["integrationId"] == bot.id
        await wait_for(lambda: texts(receiver, "bot"), what="the bot's webhook")
        assert texts(receiver, "bot") == [("Hi", False)]

        # The first agent takes over: every listener gets the control event.
        agent, other = (on_hub, on_ws) if taker == "signalr" else (on_ws, on_hub)
        r = await control(client, tenant, cid, "takeover", agent.id)
        assert r.status_code == 200, r.text
        taken = r.json()
        assert taken["changed"] is True and isinstance(taken["eventId"], int)
        assert taken["control"]["integrationId"] == agent.id
        for event in (await hub.next(), await ws_next()):
            assert _is_control(event, "takeover"), event
            assert event["eventId"] == taken["eventId"]
            assert event["eventTrigger"] == "control:takeover"
            assert event["event"]["from"] == {"integrationId": bot.id, "integrationType": "Bot"}
            assert event["event"]["to"] == {"integrationId": agent.id, "integrationType": "Agent"}

        # The next customer message: the taker hears it, the other agent watches on standby.
        r = await say(client, tenant, cid, "Thanks")
        assert r.status_code == 200, r.text
        thanks = r.json()["eventId"]
        got = {on_hub.id: await hub.next(), on_ws.id: await ws_next()}
        for copy in got.values():
            assert copy["eventId"] == thanks and copy["message"]["text"] == "Thanks"
            assert copy["recipient"]["integrationId"] == agent.id
        assert got[agent.id].get("standby") is not True, got[agent.id]
        assert got[other.id]["standby"] is True, got[other.id]

    # The bot and the Direct customer have the control event; the bot no further message.
    for name in ("bot", "customer"):
        await wait_for(
            lambda n=name: any(_is_control(x.activity, "takeover") for x in receiver.at(n)),
            what=f"the {name}'s control event",
        )
    assert texts(receiver, "bot") == [("Hi", False)]


@pytest.mark.parametrize("how", ["explicit", "implicit"])
async def test_sms_customer_gets_nothing_for_a_control_event(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_twilio: FakeTwilio,
    how: str,
) -> None:
    hub_id = (await make_hub(client, tenant))["hubId"]
    tw = await twilio_integration(client, tenant, hub_id, fake_twilio)
    bot = await _webhooked(ctx, tenant, hub_id, receiver, "bot", "Bot")
    agent = await direct_agent(ctx, tenant, hub_id, receiver)

    r = await send_sms(client, tw, {"From": PHONE, "Body": "hello", "MessageSid": "SM1"})
    assert r.status_code == 200, r.text
    await wait_for(lambda: texts(receiver, "bot") and texts(receiver, "agent"), what="the SMS")
    assert texts(receiver, "bot") == [("hello", False)]
    assert texts(receiver, "agent") == [("hello", True)]  # standby
    assert receiver.at("agent")[0].activity["recipient"]["integrationId"] == bot.id
    cid = receiver.at("bot")[0].body["conversationId"]

    def agent_controls() -> list[dict[str, Any]]:
        return [x.activity for x in receiver.at("agent") if _is_control(x.activity, "takeover")]

    async def customer_rows() -> list[tuple[int, str]]:
        return [(d.event_id, d.status) for d in await deliveries_to(ctx, tw.id)]

    event_id: int | None = None
    if how == "explicit":
        r = await control(client, tenant, cid, "takeover", agent.id)
        assert r.status_code == 200, r.text
        event_id = r.json()["eventId"]
        assert isinstance(event_id, int)
        await wait_for(agent_controls, what="the agent's control event")

        async def control_row_delivered() -> bool:
            return await customer_rows() == [(event_id, DELIVERED)]

        await wait_for_async(control_row_delivered)
        assert fake_twilio.sent == [] and fake_twilio.requests_to("/Messages.json") == []
    # else: the agent's message in the bot's conversation takes over first.

    # A following agent message: exactly that one SMS, nothing before it.
    sent = await reply(client, tenant, cid, agent.id, {"type": "text", "text": "an agent here"})
    said = sent.json()["eventId"]
    await wait_for(agent_controls, what="the agent's control event")
    (event,) = agent_controls()
    assert event["event"]["from"] == {"integrationId": bot.id, "integrationType": "Bot"}
    assert event_id in (None, event["eventId"])
    event_id = event["eventId"]
    assert isinstance(event_id, int) and event_id < said
    await wait_for(lambda: fake_twilio.sent, what="the SMS out")

    async def all_delivered() -> bool:
        return await customer_rows() == [(event_id, DELIVERED), (said, DELIVERED)]

    await wait_for_async(all_delivered)
    await asyncio.sleep(0.3)  # room for a late, wrong send
    assert fake_twilio.sent == [{"To": PHONE, "From": tw.phone, "Body": "an agent here"}]
    assert len(fake_twilio.requests_to("/Messages.json")) == 1
    held = (await client.get(f"/api/v1/conversations/{cid}", headers=tenant.engine)).json()
    assert held["control"]["integrationId"] == agent.id
