"""The switchboard with Slack agents: a bot answers first while the Slack thread watches
(standby copies, marked), a Slack agent takes over by typing `::takeover` or by simply
replying in the thread, and `::release` hands the conversation back to the bot."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tests.conftest import TenantCreds, codes
from tests.engine.factories import MadeIntegration, make_hub, make_integration
from tests.engine.receiver import Receiver, wait_for
from tests.fakes.slack import FakeSlack, FakeWorkspace
from tests.providers.helpers import deliveries_to, direct_agent, slack_headers, slack_integration
from unihub.core.context import AppContext

CUSTOMER = "/inbound/customer/v1/direct/activity/{}"
BUSINESS = "/inbound/business/v1/direct/activity/{}"
BOT_HANDLED = "_:robot_face: bot-handled: replying here takes over_"


def control_line(action: str, before: str, after: str) -> str:
    return f"_:twisted_rightwards_arrows: {action}: {before} → {after}_"


@dataclass
class Hub:
    hub_id: str
    customer: MadeIntegration
    bot: MadeIntegration
    agent: MadeIntegration  # a Direct agent, watching on standby
    slack_id: str
    ws: FakeWorkspace


async def switchboard_hub(
    client: httpx.AsyncClient,
    ctx: AppContext,
    t: TenantCreds,
    receiver: Receiver,
    fake_slack: FakeSlack,
) -> Hub:
    hub_id = (await make_hub(client, t))["hubId"]

    async def make(name: str, integration_type: str) -> MadeIntegration:
        made = await make_integration(
            ctx.db,
            ctx.box,
            t.tenant_id,
            hub_id,
            integration_type=integration_type,
            webhook_url=receiver.url(name),
        )
        receiver.trust(made.public_key, made.private_key)
        return made

    customer = await make("customer", "Customer")
    bot = await make("bot", "Bot")
    slack_id, ws = await slack_integration(client, t, hub_id, fake_slack)
    agent = await direct_agent(ctx, t, hub_id, receiver, name="agent")
    return Hub(hub_id, customer, bot, agent, slack_id, ws)


async def establish(client: httpx.AsyncClient, t: TenantCreds, hub: Hub, binding: str) -> str:
    r = await client.post(
        "/api/v1/conversations/establish",
        json={
            "integrationId": hub.customer.id,
            "binding": binding,
            "channelType": "Direct",
            "properties": {"profile": {"full name": "Ada"}},
        },
        headers=t.engine,
    )
    assert r.status_code == 200, r.text
    cid: str = r.json()["conversationId"]
    return cid


async def customer_says(
    client: httpx.AsyncClient, t: TenantCreds, cid: str, text: str
) -> dict[str, Any]:
    r = await client.post(
        CUSTOMER.format(cid),
        json={"type": "message", "message": {"type": "text", "text": text}},
        headers=t.engine,
    )
    assert r.status_code == 200, r.text
    ack: dict[str, Any] = r.json()
    return ack


async def business_says(
    client: httpx.AsyncClient, t: TenantCreds, cid: str, sender_id: str, text: str
) -> httpx.Response:
    return await client.post(
        BUSINESS.format(cid),
        json={
            "type": "message",
            "sender": {"integrationId": sender_id},
            "message": {"type": "text", "text": text},
        },
        headers=t.engine,
    )


async def slack_types(
    client: httpx.AsyncClient,
    ws: FakeWorkspace,
    thread_ts: str,
    text: str,
    msg_id: str | None = None,
) -> None:
    """An agent typing in the conversation's thread, as Slack's Events API reports it."""
    ts = f"1700000200.{uuid.uuid4().int % 10**6:06d}"
    body = {
        "type": "event_callback",
        "team_id": ws.team_id,
        "event": {
            "type": "message",
            "channel": "C2",
            "user": "U0AGENT",
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
            "client_msg_id": msg_id or str(uuid.uuid4()),
        },
    }
    raw = orjson.dumps(body)
    r = await client.post("/inbound/slack/v1/events", content=raw, headers=slack_headers(raw))
    assert r.status_code == 200 and r.json() == {"ok": True}, r.text


async def control(client: httpx.AsyncClient, t: TenantCreds, cid: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/conversations/{cid}", headers=t.engine)
    assert r.status_code == 200, r.text
    held: dict[str, Any] = r.json()["control"]
    return held


def posts(fake_slack: FakeSlack, ws: FakeWorkspace) -> list[dict[str, Any]]:
    """One workspace's posts: the fake server outlives tests, late posts of others included."""
    return [p for p in fake_slack.posts if p["team_id"] == ws.team_id]


def thread(fake_slack: FakeSlack, first: dict[str, Any]) -> list[str]:
    """The texts of the replies posted in the thread started by the post `first`."""
    return [
        p["text"]
        for p in fake_slack.posts
        if p["team_id"] == first["team_id"] and p.get("thread_ts") == first["ts"]
    ]


def of(receiver: Receiver, name: str, cid: str) -> list[dict[str, Any]]:
    """The activities one webhook received for one conversation, in arrival order."""
    return [r.activity for r in receiver.at(name) if r.body["conversationId"] == cid]


def controls(activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in activities if a["type"] == "event" and a["event"]["type"] == "control"]


async def test_bot_answers_first_then_a_slack_agent_takes_over_with_a_command(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_slack: FakeSlack,
) -> None:
    hub = await switchboard_hub(client, ctx, tenant, receiver, fake_slack)
    cid = await establish(client, tenant, hub, "ada-1")

    # 1. The bot controls a new conversation; Slack watches, the post marked bot-handled.
    held = await control(client, tenant, cid)
    assert held["integrationId"] == hub.bot.id and held["integrationType"] == "Bot"
    first_ack = await customer_says(client, tenant, cid, "Where is order <42>?")
    await wait_for(lambda: of(receiver, "bot", cid), what="the customer message at the bot")
    [to_bot] = of(receiver, "bot", cid)
    assert to_bot["eventId"] == first_ack["eventId"]
    assert to_bot["message"]["text"] == "Where is order <42>?"
    assert to_bot["recipient"]["integrationId"] == hub.bot.id and "standby" not in to_bot
    await wait_for(lambda: len(posts(fake_slack, hub.ws)) == 1, what="the standby copy in Slack")
    first = posts(fake_slack, hub.ws)[0]
    assert first["channel"] == "C2" and "thread_ts" not in first  # the thread starts here
    assert first["text"] == f"*Ada* via Direct:\nWhere is order &lt;42&gt;?\n{BOT_HANDLED}"
    await wait_for(lambda: of(receiver, "agent", cid), what="the Direct agent's standby copy")
    [watched] = of(receiver, "agent", cid)
    assert watched["standby"] is True and watched["recipient"]["integrationId"] == hub.bot.id

    # 2. The bot answers the customer; the thread shows it as the bot's.
    r = await business_says(client, tenant, cid, hub.bot.id, "It ships today")
    assert r.status_code == 200, r.text
    await wait_for(lambda: of(receiver, "customer", cid), what="the bot's reply at the customer")
    assert of(receiver, "customer", cid)[0]["message"]["text"] == "It ships today"
    await wait_for(lambda: thread(fake_slack, first), what="the bot's reply in Slack")
    assert thread(fake_slack, first) == ["*Bot:* It ships today"]

    # 3. A Slack agent types ::takeover in the thread.
    await slack_types(client, hub.ws, first["ts"], "::takeover")
    held = await control(client, tenant, cid)
    assert held["integrationId"] == hub.slack_id and held["integrationType"] == "Agent"
    await wait_for(lambda: controls(of(receiver, "bot", cid)), what="the control event at the bot")
    [event] = controls(of(receiver, "bot", cid))
    assert event["eventTrigger"] == "control:takeover"
    assert event["sender"]["integrationId"] == hub.slack_id
    assert event["event"]["action"] == "takeover"
    assert event["event"]["from"] == {"integrationId": hub.bot.id, "integrationType": "Bot"}
    assert event["event"]["to"] == {"integrationId": hub.slack_id, "integrationType": "Agent"}
    assert "metadata" not in event["event"]
    await wait_for(lambda: len(thread(fake_slack, first)) == 2, what="the control line")
    assert thread(fake_slack, first)[1] == control_line("takeover", "the bot", "this workspace")
    # The bot no longer speaks to the customer, and nothing of what it tried is stored.
    r = await business_says(client, tenant, cid, hub.bot.id, "Anything else?")
    assert r.status_code == 403 and codes(r) == [4011], r.text
    history = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": "customer"}, headers=tenant.engine
    )
    assert history.status_code == 200
    texts = [a["message"]["text"] for a in history.json() if a["type"] == "message"]
    assert texts == ["Where is order <42>?", "It ships today"]

    # 4. The customer's next message goes to Slack, unmarked, and not to the bot.
    bot_rows = len(await deliveries_to(ctx, hub.bot.id))
    ack = await customer_says(client, tenant, cid, "Can I change the address?")
    await wait_for(lambda: len(thread(fake_slack, first)) == 3, what="the message in Slack")
    assert thread(fake_slack, first)[2] == "Can I change the address?"

    def copy_of(event_id: int) -> list[dict[str, Any]]:
        return [a for a in of(receiver, "agent", cid) if a["eventId"] == event_id]

    await wait_for(lambda: copy_of(ack["eventId"]), what="the Direct agent's copy")
    [watched] = copy_of(ack["eventId"])
    assert watched["standby"] is True and watched["message"]["text"] == "Can I change the address?"
    assert watched["recipient"]["integrationId"] == hub.slack_id
    # Deliveries are written in the accepting transaction: none new means the bot gets none.
    assert len(await deliveries_to(ctx, hub.bot.id)) == bot_rows
    bot_side = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": "Bot"}, headers=tenant.engine
    )
    assert ack["eventId"] not in [a["eventId"] for a in bot_side.json()]
    assert all(a["eventId"] != ack["eventId"] for a in of(receiver, "bot", cid))
    assert receiver.rejected == 0


async def test_a_plain_slack_reply_takes_over_and_release_hands_back_to_the_bot(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_slack: FakeSlack,
) -> None:
    hub = await switchboard_hub(client, ctx, tenant, receiver, fake_slack)
    first_cid = await establish(client, tenant, hub, "ada-1")
    cid = await establish(client, tenant, hub, "ada-2")
    # The first conversation is taken over and stays with Slack throughout.
    await customer_says(client, tenant, first_cid, "first")
    await wait_for(lambda: len(posts(fake_slack, hub.ws)) == 1, what="the first thread")
    first_thread = posts(fake_slack, hub.ws)[0]["ts"]
    await slack_types(client, hub.ws, first_thread, "::takeover")

    ack = await customer_says(client, tenant, cid, "Hello?")
    await wait_for(lambda: of(receiver, "bot", cid), what="the customer message at the bot")
    await wait_for(
        lambda: any(p["text"].endswith(BOT_HANDLED) for p in posts(fake_slack, hub.ws)[1:]),
        what="the second thread",
    )
    [start] = [
        p for p in posts(fake_slack, hub.ws) if "thread_ts" not in p and "Hello?" in p["text"]
    ]
    assert start["text"] == f"*Ada* via Direct:\nHello?\n{BOT_HANDLED}"
    assert (await control(client, tenant, cid))["integrationType"] == "Bot"

    # A plain reply in the bot's thread: control moves first, then the message goes out.
    await slack_types(client, hub.ws, start["ts"], "Hi Ada, I am Sam &amp; I can help")
    await wait_for(lambda: len(of(receiver, "customer", cid)) == 2, what="control and message")
    moved, said = of(receiver, "customer", cid)
    assert moved["type"] == "event" and moved["eventTrigger"] == "control:takeover"
    assert moved["event"]["from"] == {"integrationId": hub.bot.id, "integrationType": "Bot"}
    assert moved["event"]["to"] == {"integrationId": hub.slack_id, "integrationType": "Agent"}
    assert said["type"] == "message" and said["message"]["text"] == "Hi Ada, I am Sam & I can help"
    assert said["sender"]["integrationId"] == hub.slack_id
    assert ack["eventId"] < moved["eventId"] < said["eventId"]
    held = await control(client, tenant, cid)
    assert held["integrationId"] == hub.slack_id and held["integrationType"] == "Agent"
    await wait_for(lambda: controls(of(receiver, "bot", cid)), what="the control event at the bot")
    assert controls(of(receiver, "bot", cid))[0]["eventId"] == moved["eventId"]
    await wait_for(lambda: thread(fake_slack, start), what="the control line in Slack")
    assert thread(fake_slack, start) == [control_line("takeover", "the bot", "this workspace")]
    # The Direct agent watches both the change and the Slack agent's message.
    await wait_for(lambda: len(of(receiver, "agent", cid)) == 3, what="the Direct agent's copies")
    copies = of(receiver, "agent", cid)
    assert [a["eventId"] for a in copies] == [ack["eventId"], moved["eventId"], said["eventId"]]
    assert copies[2]["standby"] is True

    # ::release hands the conversation back to the bot it started with.
    await slack_types(client, hub.ws, start["ts"], "::release")
    held = await control(client, tenant, cid)
    assert held["integrationId"] == hub.bot.id and held["integrationType"] == "Bot"
    await wait_for(lambda: len(controls(of(receiver, "bot", cid))) == 2, what="the release event")
    released = controls(of(receiver, "bot", cid))[1]
    assert released["eventTrigger"] == "control:release"
    assert released["event"]["action"] == "release"
    assert released["event"]["from"] == {"integrationId": hub.slack_id, "integrationType": "Agent"}
    assert released["event"]["to"] == {"integrationId": hub.bot.id, "integrationType": "Bot"}
    assert released["eventId"] > said["eventId"]
    await wait_for(lambda: len(thread(fake_slack, start)) == 2, what="the release line")
    assert thread(fake_slack, start)[1] == control_line("release", "this workspace", "the bot")
    # The bot speaks again; Slack sees its reply as the bot's.
    r = await business_says(client, tenant, cid, hub.bot.id, "Back to me")
    assert r.status_code == 200, r.text
    await wait_for(lambda: len(thread(fake_slack, start)) == 3, what="the bot's reply")
    assert thread(fake_slack, start)[2] == "*Bot:* Back to me"

    # Each conversation kept its own controller.
    assert (await control(client, tenant, first_cid))["integrationId"] == hub.slack_id
    base = f"/api/v1/conversations/hubs/{hub.hub_id}/established"
    r = await client.get(base, params={"controlledBy": hub.slack_id}, headers=tenant.engine)
    assert r.status_code == 200, r.text
    assert [c["conversationId"] for c in r.json()] == [first_cid]
    r = await client.get(base, params={"controlledBy": "bot"}, headers=tenant.engine)
    assert [c["conversationId"] for c in r.json()] == [cid]
    assert receiver.rejected == 0


async def test_a_refused_slack_command_is_explained_in_the_thread(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_slack: FakeSlack,
) -> None:
    hub = await switchboard_hub(client, ctx, tenant, receiver, fake_slack)
    cid = await establish(client, tenant, hub, "ada-3")
    await customer_says(client, tenant, cid, "Hello")
    await wait_for(lambda: len(posts(fake_slack, hub.ws)) == 1, what="the thread")
    first = posts(fake_slack, hub.ws)[0]
    # The Direct agent holds the conversation: Slack can neither take it (409) nor release it.
    r = await client.post(
        f"/api/v1/conversations/{cid}/control",
        json={"action": "takeover", "integrationId": hub.agent.id},
        headers=tenant.engine,
    )
    assert r.status_code == 200, r.text
    await wait_for(lambda: len(thread(fake_slack, first)) == 1, what="the control line")
    await slack_types(client, hub.ws, first["ts"], "::takeover")
    await wait_for(lambda: len(thread(fake_slack, first)) == 2, what="the notice")
    notice = thread(fake_slack, first)[1]
    assert notice.startswith("_:warning: not sent: 4012: ") and hub.agent.id in notice
    await slack_types(client, hub.ws, first["ts"], "::release")
    await wait_for(lambda: len(thread(fake_slack, first)) == 3, what="the second notice")
    assert "4010: " in thread(fake_slack, first)[2]  # Slack does not control it
    held = await control(client, tenant, cid)
    assert held["integrationId"] == hub.agent.id


async def test_an_event_slack_sends_again_is_accepted_once(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_slack: FakeSlack,
) -> None:
    hub = await switchboard_hub(client, ctx, tenant, receiver, fake_slack)
    cid = await establish(client, tenant, hub, "ada-4")
    await customer_says(client, tenant, cid, "Hello")
    await wait_for(lambda: len(posts(fake_slack, hub.ws)) == 1, what="the thread")
    first = posts(fake_slack, hub.ws)[0]
    msg_id = str(uuid.uuid4())
    for _ in range(2):  # Slack re-sends an event it got no answer to within 3 s
        await slack_types(client, hub.ws, first["ts"], "On it", msg_id=msg_id)
    history = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": "customer"}, headers=tenant.engine
    )
    texts = [a["message"]["text"] for a in history.json() if a["type"] == "message"]
    assert texts == ["Hello", "On it"]
