"""LINE both ways against the fake Messaging API: attach (bot info, webhook endpoint),
signed webhooks in (every message type, media links, postbacks, redeliveries, follows),
replies out (reply token once and only while fresh, else push with a retry key; batching;
rendering; failures)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from tests.api.test_integrations import create
from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub
from tests.engine.receiver import Receiver, wait_for
from tests.fakes.line import FakeBot, FakeLine, Forced, new_bot, signature
from tests.providers.helpers import conversation_count, deliveries_to, direct_agent, reply
from unihub.channels.base import Account, Outgoing
from unihub.channels.errors import Rejected, Unavailable
from unihub.channels.line.models import LineFollower, LineReplyToken
from unihub.channels.registry import LINE
from unihub.core.context import AppContext
from unihub.integrations.models import Integration

USER = "U4af4980629a1b2c3d4e5f6a7b8c9d0e1"


@pytest.fixture(autouse=True)
def no_public_url(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's settings name a public URL for Telegram's webhooks; these tests attach
    LINE bots without one unless they say so (LINE wants an https endpoint)."""
    monkeypatch.setattr(ctx.settings, "public_url", None)


async def line_integration(
    client: httpx.AsyncClient, t: TenantCreds, hub: str, fake: FakeLine
) -> tuple[str, FakeBot]:
    bot = fake.add_bot(new_bot())
    config = {"channelAccessToken": bot.token, "channelSecret": bot.secret}
    r = await create(client, t, hub, "Line", config)
    assert r.status_code == 200, r.text
    return r.json()["integrationId"], bot


async def setup(
    client: httpx.AsyncClient, ctx: AppContext, t: TenantCreds, receiver: Receiver, fake: FakeLine
) -> tuple[str, FakeBot, str]:
    hub = (await make_hub(client, t))["hubId"]
    iid, bot = await line_integration(client, t, hub, fake)
    agent = await direct_agent(ctx, t, hub, receiver)
    return iid, bot, agent.id


async def say(
    client: httpx.AsyncClient,
    receiver: Receiver,
    fake: FakeLine,
    iid: str,
    bot: FakeBot,
    message: dict[str, Any],
) -> dict[str, Any]:
    """A customer's message through a signed webhook; what the agent receives."""
    before = len(receiver.at("agent"))
    r = await fake.deliver(client, iid, bot, [fake.message(bot, USER, message)])
    assert r.status_code == 200, r.text
    await wait_for(lambda: len(receiver.at("agent")) > before, what="agent webhook")
    return receiver.at("agent")[-1].body


async def tokens(ctx: AppContext, iid: str) -> list[LineReplyToken]:
    async with ctx.db.read() as s:
        stmt = select(LineReplyToken).where(LineReplyToken.integration_id == uuid.UUID(iid))
        return list((await s.execute(stmt)).scalars())


async def age_tokens(ctx: AppContext, iid: str, seconds: float) -> None:
    """LINE's reply window without sleeping: the stored tokens are made older."""
    async with ctx.db.write() as s:
        for row in await s.scalars(
            select(LineReplyToken).where(LineReplyToken.integration_id == uuid.UUID(iid))
        ):
            row.received = row.received - timedelta(seconds=seconds)


def account(iid: str, t: TenantCreds, bot: FakeBot) -> Account:
    return Account(
        uuid.UUID(iid),
        uuid.UUID(t.tenant_id),
        {},
        {"channelAccessToken": bot.token, "channelSecret": bot.secret},
    )


def outgoing(
    acc: Account, message: dict[str, Any], delivery_id: uuid.UUID | None = None
) -> Outgoing:
    payload = {"activity": {"type": "message", "message": message}}
    return Outgoing(acc, uuid.uuid4(), USER, payload, delivery_id or uuid.uuid4())


# --- attach ----------------------------------------------------------------------------------


async def test_line_create_verifies_the_token_and_masks_secrets(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, fake_line: FakeLine
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    bot = fake_line.add_bot(new_bot())
    config = {"channelAccessToken": bot.token, "channelSecret": bot.secret}
    r = await create(client, tenant, hub, "Line", config)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["channelId"] == "Line" and got["integrationTypeId"] == "Customer"
    assert got["inboundId"] == bot.user_id
    wire = got["configuration"]
    assert wire["botUserId"] == bot.user_id and wire["basicId"] == bot.basic_id
    assert wire["displayName"] == "Shop Bot"
    assert wire["channelAccessToken"] == bot.token[:4] + "..."
    assert wire["channelSecret"] == bot.secret[:4] + "..."
    assert bot.token not in r.text and bot.secret not in r.text
    [info] = fake_line.requests_to("/v2/bot/info")
    assert info.bearer == bot.token
    assert fake_line.requests_to("/webhook/endpoint") == []  # no UNIHUB_PUBLIC_URL
    async with ctx.db.read() as s:
        row = await s.get(Integration, uuid.UUID(got["integrationId"]))
    assert row is not None and row.secrets is not None
    assert bot.token not in row.secrets and bot.secret not in row.secrets
    assert row.external_key == f"Line:{bot.user_id}"

    # The same bot once only, in any hub.
    other = (await make_hub(client, tenant))["hubId"]
    again = await create(client, tenant, other, "Line", config)
    assert again.status_code == 400 and codes(again) == [701]
    assert f"LINE bot {bot.user_id}" in again.text


async def test_line_create_failures_store_nothing(
    client: httpx.AsyncClient, tenant: TenantCreds, fake_line: FakeLine
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    secret = "line-secret-" + uuid.uuid4().hex
    wrong = "line-token-wrong-" + uuid.uuid4().hex
    r = await create(
        client, tenant, hub, "Line", {"channelAccessToken": wrong, "channelSecret": secret}
    )
    assert r.status_code == 400 and codes(r) == [702]
    assert "LINE rejected the channel access token" in r.text
    assert wrong not in r.text and secret not in r.text

    bot = fake_line.add_bot(new_bot())
    config = {"channelAccessToken": bot.token, "channelSecret": bot.secret}
    for mode in ("error500", "slow", "garbage"):
        fake_line.mode = mode  # type: ignore[assignment]
        r = await create(client, tenant, hub, "Line", config)
        assert r.status_code == 503 and codes(r) == [703], (mode, r.text)
        assert bot.token not in r.text
    fake_line.mode = "ok"

    missing = await create(client, tenant, hub, "Line", {"channelAccessToken": bot.token})
    assert missing.status_code == 400 and "channelSecret" in missing.text

    # Nothing was stored: the bot can still be attached.
    ok = await create(client, tenant, hub, "Line", config)
    assert ok.status_code == 200, ok.text


async def test_line_webhook_endpoint_set_with_public_url(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    fake_line: FakeLine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ctx.settings, "public_url", "https://hub.example.com/")
    hub = (await make_hub(client, tenant))["hubId"]
    iid, bot = await line_integration(client, tenant, hub, fake_line)
    assert bot.webhook == f"https://hub.example.com/inbound/line/v1/{iid}"
    [put] = fake_line.requests_to("/v2/bot/channel/webhook/endpoint")
    assert put.method == "PUT" and put.bearer == bot.token

    # Attached again: 701 before LINE is told anything, the first integration keeps its URL.
    config = {"channelAccessToken": bot.token, "channelSecret": bot.secret}
    dup = await create(client, tenant, hub, "Line", config)
    assert dup.status_code == 400 and codes(dup) == [701]
    assert bot.webhook == f"https://hub.example.com/inbound/line/v1/{iid}"
    assert len(fake_line.requests_to("/v2/bot/channel/webhook/endpoint")) == 1

    # LINE refusing the endpoint undoes the create: nothing stays stored.
    other = fake_line.add_bot(new_bot())
    fake_line.forced["/webhook/endpoint"] = Forced(400, {"message": "Invalid webhook endpoint URL"})
    config = {"channelAccessToken": other.token, "channelSecret": other.secret}
    r = await create(client, tenant, hub, "Line", config)
    assert r.status_code == 400 and codes(r) == [702] and "Invalid webhook endpoint" in r.text
    fake_line.forced.clear()
    again = await create(client, tenant, hub, "Line", config)
    assert again.status_code == 200, again.text


# --- inbound ---------------------------------------------------------------------------------


async def test_line_signature_missing_or_wrong_refused(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, _ = await setup(client, ctx, tenant, receiver, fake_line)
    events = [fake_line.message(bot, USER, {"type": "text", "text": "hi"})]
    unsigned = await fake_line.deliver(client, iid, bot, events, signed=False)
    assert unsigned.status_code == 403 and codes(unsigned) == [120]
    wrong = await fake_line.deliver(client, iid, bot, events, sign_with="not-the-secret")
    assert wrong.status_code == 403 and codes(wrong) == [120]
    assert "LINE signature" in wrong.text
    assert await conversation_count(ctx, iid) == 0
    assert await tokens(ctx, iid) == []
    assert receiver.at("agent") == []

    bad = await client.post(
        f"/inbound/line/v1/{iid}",
        content=b"not json",
        headers={"x-line-signature": signature(bot.secret, b"not json")},
    )
    assert bad.status_code == 400
    unknown = await fake_line.deliver(client, str(uuid.uuid4()), bot, events)
    assert unknown.status_code == 404


async def test_line_inbound_message_types(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, _ = await setup(client, ctx, tenant, receiver, fake_line)
    first = await say(client, receiver, fake_line, iid, bot, {"type": "text", "text": "hola"})
    assert first["activity"]["message"] == {"type": "text", "text": "hola"}
    assert first["activity"]["sender"]["channelType"] == "Line"
    cid = first["conversationId"]

    loc = await say(
        client,
        receiver,
        fake_line,
        iid,
        bot,
        {
            "type": "location",
            "title": "Office",
            "address": "1-6-1 Yotsuya",
            "latitude": 35.687574,
            "longitude": 139.72922,
        },
    )
    assert loc["activity"]["message"] == {
        "type": "location",
        "address": "1-6-1 Yotsuya",
        "latitude": 35.687574,
        "longitude": 139.72922,
    }
    sticker = await say(
        client,
        receiver,
        fake_line,
        iid,
        bot,
        {
            "type": "sticker",
            "packageId": "446",
            "stickerId": "1988",
            "keywords": ["happy", "smile"],
        },
    )
    assert sticker["activity"]["message"] == {"type": "text", "text": "[sticker: happy, smile]"}
    assert sticker["conversationId"] == cid

    # Files: links to unihub's /media/v1/, fetched from the data API with the token.
    for kind, node_type, content_type in (
        ("image", "image", "image/jpeg"),
        ("video", "video", "video/mp4"),
        ("audio", "audio", "audio/m4a"),
        ("file", "attachment", "application/pdf"),
    ):
        mid = str(uuid.uuid4().int)[:18]
        data = f"{kind}-bytes-{mid}".encode()
        fake_line.add_content(mid, content_type, data)
        extra = {"fileName": "menu.pdf", "fileSize": len(data)} if kind == "file" else {}
        message = {"type": kind, "id": mid, "contentProvider": {"type": "line"}, **extra}
        got = (await say(client, receiver, fake_line, iid, bot, message))["activity"]["message"]
        assert got["type"] == node_type
        assert "/media/v1/" in got["url"] and mid not in got["url"]
        if kind == "file":
            assert got["label"] == "menu.pdf"
        path = got["url"][got["url"].index("/media/v1/") :]
        fetched = await client.get(path)
        assert fetched.status_code == 200 and fetched.content == data
        assert fetched.headers["content-type"].startswith(content_type)
        assert fake_line.requests_to(f"/data/v2/bot/message/{mid}/content")[-1].bearer == bot.token

    # A file LINE no longer has: the link answers 404.
    gone = await say(
        client,
        receiver,
        fake_line,
        iid,
        bot,
        {"type": "image", "id": "999", "contentProvider": {"type": "line"}},
    )
    url = gone["activity"]["message"]["url"]
    assert (await client.get(url[url.index("/media/v1/") :])).status_code == 404

    # Sent from elsewhere: LINE holds no copy, the original link is passed on.
    external = await say(
        client,
        receiver,
        fake_line,
        iid,
        bot,
        {
            "type": "image",
            "contentProvider": {
                "type": "external",
                "originalContentUrl": "https://cdn.example.com/p.jpg",
                "previewImageUrl": "https://cdn.example.com/s.jpg",
            },
        },
    )
    assert external["activity"]["message"] == {
        "type": "image",
        "url": "https://cdn.example.com/p.jpg",
    }


async def test_line_redelivery_accepted_once(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, _ = await setup(client, ctx, tenant, receiver, fake_line)
    event = fake_line.message(bot, USER, {"type": "text", "text": "once"})
    assert (await fake_line.deliver(client, iid, bot, [event])).status_code == 200
    await wait_for(lambda: len(receiver.at("agent")) == 1, what="agent webhook")
    again = {**event, "deliveryContext": {"isRedelivery": True}, "replyToken": "redelivered"}
    assert (await fake_line.deliver(client, iid, bot, [again])).status_code == 200
    # A later message arrives; the redelivery never did.
    await say(client, receiver, fake_line, iid, bot, {"type": "text", "text": "next"})
    texts = [r.activity["message"]["text"] for r in receiver.at("agent")]
    assert texts == ["once", "next"]
    assert "redelivered" not in {t.reply_token for t in await tokens(ctx, iid)}


async def test_line_follow_and_unfollow_recorded(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, _ = await setup(client, ctx, tenant, receiver, fake_line)

    async def following() -> bool | None:
        async with ctx.db.read() as s:
            row = await s.get(LineFollower, (uuid.UUID(iid), USER))
        return None if row is None else row.following

    follow = fake_line.event(bot, USER, "follow", follow={"isUnblocked": False})
    assert (await fake_line.deliver(client, iid, bot, [follow])).status_code == 200
    assert await following() is True
    unfollow = fake_line.event(bot, USER, "unfollow")
    assert (await fake_line.deliver(client, iid, bot, [unfollow])).status_code == 200
    assert await following() is False
    # A late redelivery of the older follow does not undo the newer unfollow.
    late = {**follow, "deliveryContext": {"isRedelivery": True}}
    assert (await fake_line.deliver(client, iid, bot, [late])).status_code == 200
    assert await following() is False
    # Each change is an event of the customer's conversation, once.
    await wait_for(lambda: len(receiver.at("agent")) == 2, what="follow and unfollow events")
    events = [r.activity for r in receiver.at("agent")]
    assert [e["type"] for e in events] == ["event", "event"]
    assert [e["event"]["payloadType"] for e in events] == ["line.follow", "line.unfollow"]
    assert [e["event"]["payload"] for e in events] == [{"following": True}, {"following": False}]
    assert events[0]["eventTrigger"] == "event:customer"
    cid = receiver.at("agent")[0].body["conversationId"]
    history = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": "agent"}, headers=tenant.engine
    )
    assert len(history.json()) == 2  # the late redelivery stored nothing


async def test_line_postback_comes_back_as_its_action(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, agent = await setup(client, ctx, tenant, receiver, fake_line)
    cid = (await say(client, receiver, fake_line, iid, bot, {"type": "text", "text": "hi"}))[
        "conversationId"
    ]
    await reply(
        client,
        tenant,
        cid,
        agent,
        {
            "type": "text",
            "text": "Pick one",
            "actions": [
                {"type": "reply", "title": "Yes please", "payload": "YES"},
                {"type": "postback", "title": "Call me", "payload": "CALL"},
                {"type": "link", "title": "Site", "url": "https://example.com"},
            ],
        },
    )
    await wait_for(lambda: len(fake_line.sent) == 1, what="LINE send")
    [bubble] = fake_line.sent[0].messages
    assert bubble["type"] == "flex" and bubble["contents"]["type"] == "bubble"
    buttons = [b["action"] for b in bubble["contents"]["footer"]["contents"]]
    assert buttons[0]["type"] == "postback" and buttons[0]["label"] == "Call me"
    assert buttons[1] == {"type": "uri", "label": "Site", "uri": "https://example.com"}
    [quick] = bubble["quickReply"]["items"]
    assert (
        quick["action"]["label"] == "Yes please" and quick["action"]["displayText"] == "Yes please"
    )

    pressed = [
        (quick["action"], "reply", "Yes please", "YES"),
        (buttons[0], "postback", "Call me", "CALL"),
    ]
    for action, kind, title, payload in pressed:
        event = fake_line.event(bot, USER, "postback", postback={"data": action["data"]})
        before = len(receiver.at("agent"))
        assert (await fake_line.deliver(client, iid, bot, [event])).status_code == 200
        await wait_for(lambda n=before: len(receiver.at("agent")) > n, what="postback")
        assert receiver.at("agent")[-1].activity["message"] == {
            "type": "text",
            "text": title,
            "actions": [{"type": kind, "title": title, "payload": payload}],
        }

    # Data unihub did not write (a rich menu's) is a postback carrying it.
    event = fake_line.event(bot, USER, "postback", postback={"data": "action=menu"})
    assert (await fake_line.deliver(client, iid, bot, [event])).status_code == 200
    await wait_for(lambda: receiver.at("agent")[-1].activity["message"]["text"] == "action=menu")
    assert receiver.at("agent")[-1].activity["message"]["actions"][0]["payload"] == "action=menu"


# --- outbound --------------------------------------------------------------------------------


async def test_line_reply_token_used_once_and_only_while_fresh(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, agent = await setup(client, ctx, tenant, receiver, fake_line)
    cid = (await say(client, receiver, fake_line, iid, bot, {"type": "text", "text": "hi"}))[
        "conversationId"
    ]
    [stored] = await tokens(ctx, iid)
    await reply(client, tenant, cid, agent, {"type": "text", "text": "first"})
    await wait_for(lambda: len(fake_line.sent) == 1, what="reply")
    await reply(client, tenant, cid, agent, {"type": "text", "text": "second"})
    await wait_for(lambda: len(fake_line.sent) == 2, what="push")
    first, second = fake_line.sent
    assert first.kind == "reply" and first.reply_token == stored.reply_token
    assert first.messages == [{"type": "text", "text": "first"}]
    assert second.kind == "push" and second.to == USER
    assert second.messages == [{"type": "text", "text": "second"}]
    [row] = await tokens(ctx, iid)
    assert row.used is True

    # A token older than 50 s is not used: the answer is pushed.
    await say(client, receiver, fake_line, iid, bot, {"type": "text", "text": "again"})
    await age_tokens(ctx, iid, 51)
    await reply(client, tenant, cid, agent, {"type": "text", "text": "late"})
    await wait_for(lambda: len(fake_line.sent) == 3, what="late push")
    assert fake_line.sent[2].kind == "push"
    assert any(not t.used for t in await tokens(ctx, iid))

    # Typing indicators have no LINE form.
    typing = await client.post(
        f"/inbound/business/v1/direct/activity/{cid}",
        json={"type": "event", "sender": {"integrationId": agent}, "event": {"type": "typing_on"}},
        headers=tenant.engine,
    )
    assert typing.status_code == 200, typing.text
    await reply(client, tenant, cid, agent, {"type": "text", "text": "after typing"})
    await wait_for(lambda: len(fake_line.sent) == 4, what="push after typing")
    assert fake_line.sent[3].messages == [{"type": "text", "text": "after typing"}]


async def test_line_two_sends_race_for_one_token(
    ctx: AppContext,
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, _ = await setup(client, ctx, tenant, receiver, fake_line)
    await say(client, receiver, fake_line, iid, bot, {"type": "text", "text": "hi"})
    acc = account(iid, tenant, bot)
    await asyncio.gather(
        LINE.send(ctx, outgoing(acc, {"type": "text", "text": "a"})),
        LINE.send(ctx, outgoing(acc, {"type": "text", "text": "b"})),
    )
    assert sorted(s.kind for s in fake_line.sent) == ["push", "reply"]


async def test_line_push_retry_key_and_409_is_delivered(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, agent = await setup(client, ctx, tenant, receiver, fake_line)
    cid = (await say(client, receiver, fake_line, iid, bot, {"type": "text", "text": "hi"}))[
        "conversationId"
    ]
    await age_tokens(ctx, iid, 60)
    await reply(client, tenant, cid, agent, {"type": "text", "text": "pushed"})
    await wait_for(lambda: len(fake_line.sent) == 1, what="push")
    [sent] = fake_line.sent
    [row] = await deliveries_to(ctx, iid)
    assert sent.kind == "push" and sent.retry_key == str(row.id)

    # The same row sent again (a retry after a lost answer): LINE answers 409, delivered.
    acc = account(iid, tenant, bot)
    again = Outgoing(acc, uuid.UUID(cid), USER, orjson.loads(row.payload), row.id)
    assert await LINE.send(ctx, again) == 200
    assert len(fake_line.sent) == 1
    assert fake_line.requests_to("/v2/bot/message/push")[-1].headers["x-line-retry-key"] == str(
        row.id
    )


async def test_line_batches_of_five_in_order(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, _ = await setup(client, ctx, tenant, receiver, fake_line)
    await say(client, receiver, fake_line, iid, bot, {"type": "text", "text": "hi"})
    acc = account(iid, tenant, bot)
    images = [{"type": "image", "url": f"https://e.com/{n}.jpg"} for n in range(11)]
    message = {"type": "text", "text": "Photos", "items": images}
    delivery = uuid.uuid4()
    await LINE.send(ctx, outgoing(acc, message, delivery))
    kinds = [(s.kind, len(s.messages)) for s in fake_line.sent]
    assert kinds == [("reply", 5), ("push", 5), ("push", 2)]
    flat = [m for s in fake_line.sent for m in s.messages]
    assert flat[0] == {"type": "text", "text": "Photos"}
    assert [m["originalContentUrl"] for m in flat[1:]] == [i["url"] for i in images]
    keys = [s.retry_key for s in fake_line.sent[1:]]
    assert len(set(keys)) == 2 and all(k and uuid.UUID(k) for k in keys)

    # A retry of the same row: the reply is not sent again, the pushes answer 409.
    assert await LINE.send(ctx, outgoing(acc, message, delivery)) == 200
    assert len(fake_line.sent) == 3


async def test_line_renders_media_locations_and_cards(
    ctx: AppContext,
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
) -> None:
    iid, bot, _ = await setup(client, ctx, tenant, receiver, fake_line)
    acc = account(iid, tenant, bot)
    cases: list[dict[str, Any]] = [
        {"type": "video", "url": "https://e.com/v.mp4"},
        {"type": "audio", "url": "https://e.com/a.m4a"},
        {"type": "location", "address": "Tokyo", "latitude": 35.6, "longitude": 139.7},
        {"type": "attachment", "url": "https://e.com/f.pdf", "label": "Menu"},
        {
            "type": "card",
            "title": "Ramen",
            "subtitle": "Tonkotsu",
            "imageUrl": "https://e.com/r.jpg",
            "actions": [{"type": "postback", "title": "Order", "payload": "ORDER"}],
        },
        {
            "type": "carousel",
            "items": [
                {"title": f"Item {n}", "imageUrl": f"https://e.com/{n}.jpg"} for n in range(13)
            ],
        },
        {
            "type": "list",
            "items": [{"title": "A", "subtitle": "a"}, {"title": "B"}],
            "actions": [{"type": "link", "title": "More", "url": "https://e.com/more"}],
        },
    ]
    for node in cases:
        await LINE.send(ctx, outgoing(acc, node))
    video, audio, location, file, card, carousel, more, lst = (
        m for s in fake_line.sent for m in s.messages
    )
    assert video == {
        "type": "video",
        "originalContentUrl": "https://e.com/v.mp4",
        "previewImageUrl": "https://e.com/v.mp4",
    }
    assert audio["type"] == "audio" and audio["duration"] > 0
    assert location == {
        "type": "location",
        "title": "Tokyo",
        "address": "Tokyo",
        "latitude": 35.6,
        "longitude": 139.7,
    }
    assert file == {"type": "text", "text": "Menu\nhttps://e.com/f.pdf"}
    bubble = card["contents"]
    assert card["type"] == "flex" and "Ramen" in card["altText"]
    assert bubble["hero"]["url"] == "https://e.com/r.jpg"
    assert bubble["body"]["contents"][0]["text"] == "Ramen"
    assert bubble["footer"]["contents"][0]["action"]["label"] == "Order"
    assert (
        carousel["contents"]["type"] == "carousel" and len(carousel["contents"]["contents"]) == 12
    )
    assert len(more["contents"]["contents"]) == 1  # LINE shows at most 12 bubbles at a time
    assert lst["contents"]["footer"]["contents"][0]["action"]["uri"] == "https://e.com/more"
    assert all(s.kind == "push" for s in fake_line.sent)  # no customer event: no reply token


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        (429, {"Retry-After": "30"}, Unavailable),
        (500, {}, Unavailable),
        (503, {}, Unavailable),
        (400, {}, Rejected),
        (401, {}, Rejected),
        (403, {}, Rejected),
    ],
)
async def test_line_send_failures(
    ctx: AppContext,
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_line: FakeLine,
    status: int,
    headers: dict[str, str],
    error: type[Exception],
) -> None:
    iid, bot, _ = await setup(client, ctx, tenant, receiver, fake_line)
    acc = account(iid, tenant, bot)
    echo = {"message": f"refused for token {bot.token} secret {bot.secret}"}
    fake_line.forced["/v2/bot/message/push"] = Forced(status, echo, headers)
    with pytest.raises(error) as caught:
        await LINE.send(ctx, outgoing(acc, {"type": "text", "text": "x"}))
    text = str(caught.value)
    assert bot.token not in text and bot.secret not in text and "LINE" in text
    assert getattr(caught.value, "status_code", None) == status
    if status == 429:
        assert isinstance(caught.value, Unavailable) and caught.value.retry_after_s == 30
    # The reply API fails the same way.
    fake_line.forced.clear()
    fake_line.forced["/v2/bot/message/reply"] = Forced(status, echo, headers)
    await say(client, receiver, fake_line, iid, bot, {"type": "text", "text": "hi"})
    if status == 400:
        # An expired or refused reply token: pushed instead.
        await LINE.send(ctx, outgoing(acc, {"type": "text", "text": "y"}))
        assert fake_line.sent[-1].kind == "push"
        return
    with pytest.raises(error) as caught:
        await LINE.send(ctx, outgoing(acc, {"type": "text", "text": "y"}))
    assert bot.token not in str(caught.value)


async def test_line_unreachable_send_is_unavailable(
    ctx: AppContext, tenant: TenantCreds, fake_line: FakeLine
) -> None:
    bot = fake_line.add_bot(new_bot())
    acc = account(str(uuid.uuid4()), tenant, bot)
    for mode in ("slow", "error500", "garbage"):
        fake_line.mode = mode  # type: ignore[assignment]
        with pytest.raises(Unavailable) as caught:
            await LINE.send(ctx, outgoing(acc, {"type": "text", "text": "x"}))
        assert bot.token not in str(caught.value) and "LINE is unavailable" in str(caught.value)
    fake_line.mode = "ok"
    assert fake_line.sent == []
