"""Telegram end to end through the fake Bot API: attaching a bot (getMe, setWebhook), the
webhook with its secret token, updates as customer activities, button presses, media links,
replies rendered as Bot API calls, refusals and throttling, pause/delete, and long polling."""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from tests.api.test_integrations import create
from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub
from tests.engine.receiver import Receiver, wait_for
from tests.engine.test_delivery import wait_for_async
from tests.fakes.telegram import FakeTelegram
from tests.providers.helpers import conversation_count, deliveries_to, direct_agent, reply
from unihub.channels.telegram.models import TelegramPoll
from unihub.conversations.models import Conversation
from unihub.core.context import AppContext
from unihub.core.validation import JsonBody
from unihub.integrations import service as integrations_service

PUBLIC = "http://unihub.test"
CHAT = 777000111
USER = {"id": CHAT, "is_bot": False, "first_name": "Ada", "last_name": "Lovelace",
        "username": "ada"}  # fmt: skip


@dataclass
class Bot:
    id: str
    token: str
    bot_id: int


def new_token() -> tuple[int, str]:
    bot_id = random.randint(10**8, 10**10)
    return bot_id, f"{bot_id}:AA{uuid.uuid4().hex}"


async def telegram_integration(
    client: httpx.AsyncClient, t: TenantCreds, hub_id: str, fake: FakeTelegram
) -> Bot:
    bot_id, token = new_token()
    fake.add_bot(token, bot_id, f"shop{bot_id}_bot")
    r = await create(client, t, hub_id, "Telegram", {"botToken": token})
    assert r.status_code == 200, r.text
    return Bot(r.json()["integrationId"], token, bot_id)


def text_update(text: str, chat: int = CHAT, **extra: Any) -> dict[str, Any]:
    message = {"message_id": random.randint(1, 10**6), "date": 0, "from": USER,
               "chat": {"id": chat, "type": "private"}, "text": text, **extra}  # fmt: skip
    if not text:
        message.pop("text")
    return {"message": message}


async def scene(
    client: httpx.AsyncClient,
    ctx: AppContext,
    t: TenantCreds,
    receiver: Receiver,
    fake: FakeTelegram,
) -> tuple[Bot, str, str]:
    """A bot and an agent; the customer said "hi": (bot, agent id, conversation id)."""
    hub = (await make_hub(client, t))["hubId"]
    bot = await telegram_integration(client, t, hub, fake)
    agent = await direct_agent(ctx, t, hub, receiver)
    r = await fake.deliver(client, bot.token, text_update("hi"), PUBLIC)
    assert r.status_code == 200, r.text
    await wait_for(lambda: len(receiver.at("agent")) == 1, what="the first message")
    return bot, agent.id, receiver.at("agent")[0].body["conversationId"]


async def test_create_verifies_the_token_and_points_the_bot_at_us(
    client: httpx.AsyncClient, tenant: TenantCreds, fake_telegram: FakeTelegram
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    bot = await telegram_integration(client, tenant, hub, fake_telegram)
    r = await client.get(f"/api/v1/integrations/{bot.id}", headers=tenant.portal)
    got = r.json()
    assert got["channelId"] == "Telegram" and got["integrationTypeId"] == "Customer"
    config = got["configuration"]
    assert config["botId"] == str(bot.bot_id) and config["botUsername"].endswith("_bot")
    assert config["updates"] == "webhook"
    assert config["botToken"] == bot.token[:4] + "..."
    [hook] = fake_telegram.sent(bot.token, "setWebhook")
    assert hook.params["url"] == f"{PUBLIC}/inbound/telegram/v1/{bot.id}"
    secret = hook.params["secret_token"]
    assert len(secret) >= 32 and hook.params["allowed_updates"] == ["message", "callback_query"]
    assert bot.token not in r.text and secret not in r.text

    # The same bot anywhere else: 701, and the attached one is not re-pointed.
    other = (await make_hub(client, tenant))["hubId"]
    r = await create(client, tenant, other, "Telegram", {"botToken": bot.token})
    assert r.status_code == 400 and codes(r) == [701], r.text
    assert f"Telegram bot {bot.bot_id}" in r.text
    assert len(fake_telegram.sent(bot.token, "setWebhook", "deleteWebhook")) == 1


async def test_create_failures_store_nothing_and_hide_the_token(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    fake_telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the token is in Telegram's URLs: never in a log line
    hub = (await make_hub(client, tenant))["hubId"]
    _, unknown = new_token()
    r = await create(client, tenant, hub, "Telegram", {"botToken": unknown})
    assert r.status_code == 400 and codes(r) == [702], r.text
    assert "Unauthorized" in r.text and unknown not in r.text

    bot_id, token = new_token()
    fake_telegram.add_bot(token, bot_id, "b_bot")
    fake_telegram.mode = "error500"
    r = await create(client, tenant, hub, "Telegram", {"botToken": token})
    assert r.status_code == 503 and codes(r) == [703] and token not in r.text
    fake_telegram.mode = "ok"
    # getMe passes but setWebhook is throttled: the row goes again.
    fake_telegram.throttle["setWebhook"] = 5
    r = await create(client, tenant, hub, "Telegram", {"botToken": token})
    assert r.status_code == 503 and codes(r) == [703] and token not in r.text
    r = await create(client, tenant, hub, "Telegram", {})
    assert r.status_code == 400 and codes(r) != [702]
    r = await client.get(f"/api/v1/integrations/hubs/{hub}", headers=tenant.portal)
    listed = r.json()
    assert (listed.get("results") if isinstance(listed, dict) else listed) in ([], None)
    # And once Telegram answers again, the same bot attaches (nothing half-stored).
    r = await create(client, tenant, hub, "Telegram", {"botToken": token})
    assert r.status_code == 200, r.text
    assert caplog.records and token not in caplog.text and unknown not in caplog.text


async def test_webhook_secret_token_is_required(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_telegram: FakeTelegram,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    bot = await telegram_integration(client, tenant, hub, fake_telegram)
    await direct_agent(ctx, tenant, hub, receiver)
    body = orjson.dumps({"update_id": 1, **text_update("hi")})
    path = f"/inbound/telegram/v1/{bot.id}"
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        r = await client.post(path, content=body, headers=headers)
        assert r.status_code == 403 and codes(r) == [120], r.text
        assert "X-Telegram-Bot-Api-Secret-Token" in r.text
    assert await conversation_count(ctx, bot.id) == 0
    secret = fake_telegram.bots[bot.token].secret_token
    r = await client.post(path, content=b"{no", headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    assert r.status_code == 400 and codes(r) == [5000]
    r = await client.post(f"/inbound/telegram/v1/{uuid.uuid4()}", content=body)
    assert r.status_code == 404
    assert receiver.at("agent") == []


async def test_messages_become_customer_activities_once(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_telegram: FakeTelegram,
) -> None:
    bot, _, cid = await scene(client, ctx, tenant, receiver, fake_telegram)
    first = receiver.at("agent")[0]
    assert first.activity["message"] == {"type": "text", "text": "hi"}
    assert first.activity["sender"]["channelType"] == "Telegram"
    async with ctx.db.read() as s:
        conversation = await s.get(Conversation, uuid.UUID(cid))
        assert conversation is not None and conversation.binding == str(CHAT)
        profile = orjson.loads(conversation.properties)["profile"]
    assert profile["first name"] == "Ada" and profile["last name"] == "Lovelace"
    assert profile["user name"] == "ada" and profile["full name"] == "Ada Lovelace"

    # Telegram re-sends an update it had no answer for: accepted once.
    again = {"update_id": 555, **text_update("once")}
    for _ in range(2):
        r = await fake_telegram.deliver(client, bot.token, again, PUBLIC)
        assert r.status_code == 200
    await wait_for(lambda: len(receiver.at("agent")) == 2, what="the second message")
    # Another chat is another conversation.
    await fake_telegram.deliver(client, bot.token, text_update("yo", chat=CHAT + 1), PUBLIC)
    await wait_for(lambda: len(receiver.at("agent")) == 3, what="the other chat")
    assert await conversation_count(ctx, bot.id) == 2
    texts = [x.activity["message"].get("text") for x in receiver.at("agent")]
    assert texts == ["hi", "once", "yo"]


async def test_media_reach_agents_as_links(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_telegram: FakeTelegram,
) -> None:
    bot, _, _ = await scene(client, ctx, tenant, receiver, fake_telegram)
    fake_telegram.add_file("small", "photos/file_1.jpg", b"small")
    fake_telegram.add_file("big", "photos/file_2.jpg", b"\xff\xd8big-jpeg")
    fake_telegram.add_file("doc", "documents/file_3.pdf", b"%PDF-1.4")
    fake_telegram.add_file("voice", "voice/file_4.oga", b"OggS")
    photo = [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90,
              "file_size": 5},
             {"file_id": "big", "file_unique_id": "b", "width": 800, "height": 800,
              "file_size": 11}]  # fmt: skip
    updates = [
        text_update("", photo=photo, caption="my cat"),
        text_update("", document={"file_id": "doc", "file_unique_id": "d",
                                  "file_name": "invoice.pdf", "mime_type": "application/pdf"}),
        text_update("", voice={"file_id": "voice", "file_unique_id": "v", "duration": 2,
                               "mime_type": "audio/ogg"}),
        text_update("", location={"latitude": 45.5, "longitude": -73.6}),
        text_update("", contact={"phone_number": "+15145550000", "first_name": "Bob"}),
        text_update("", video={"file_id": "nope", "file_unique_id": "x", "duration": 1}),
    ]  # fmt: skip
    for update in updates:
        assert (await fake_telegram.deliver(client, bot.token, update, PUBLIC)).status_code == 200
    await wait_for(lambda: len(receiver.at("agent")) == 7, what="six media messages")
    image, doc, voice, place, card, video = [
        x.activity["message"] for x in receiver.at("agent")[1:]
    ]
    assert image["type"] == "image" and image["title"] == "my cat"
    assert image["url"].startswith(f"{PUBLIC}/media/v1/") and "big" not in image["url"]
    assert doc["type"] == "attachment" and doc["label"] == "invoice.pdf"
    assert doc["mimeType"] == "application/pdf"
    assert voice["type"] == "audio" and voice["mimeType"] == "audio/ogg"
    assert place == {"type": "location", "latitude": 45.5, "longitude": -73.6}
    assert card["type"] == "contact" and card["title"] == "Bob"
    assert card["properties"] == [{"key": "phone", "value": "+15145550000", "type": "phone"}]

    r = await client.get(image["url"][len(PUBLIC) :])
    assert r.status_code == 200 and r.content == b"\xff\xd8big-jpeg"
    assert r.headers["content-type"] == "image/jpeg"
    [got] = [c for c in fake_telegram.sent(bot.token, "getFile")]
    assert got.params == {"file_id": "big"}
    r = await client.get(doc["url"][len(PUBLIC) :])
    assert r.status_code == 200 and r.content == b"%PDF-1.4"
    assert r.headers["content-type"] == "application/pdf"
    r = await client.get(video["url"][len(PUBLIC) :])  # Telegram no longer has it
    assert r.status_code == 404 and codes(r) == [5600]


async def test_replies_are_rendered_as_bot_api_calls(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_telegram: FakeTelegram,
) -> None:
    bot, agent, cid = await scene(client, ctx, tenant, receiver, fake_telegram)
    image = "https://e.com/p.jpg"
    messages: list[dict[str, Any]] = [
        {"type": "text", "text": "Pick", "actions": [
            {"type": "reply", "title": "Yes", "payload": "Y"},
            {"type": "reply", "title": "No", "payload": "N"}]},
        {"type": "text", "text": "Menu", "actions": [
            {"type": "postback", "title": "Buy", "payload": "BUY-42"},
            {"type": "reply", "title": "Later", "payload": "LATER"},
            {"type": "link", "title": "Site", "url": "https://e.com"}]},
        {"type": "image", "url": image, "title": "A photo"},
        {"type": "video", "url": "https://e.com/v.mp4"},
        {"type": "audio", "url": "https://e.com/a.mp3"},
        {"type": "attachment", "url": "https://e.com/f.pdf", "label": "Invoice"},
        {"type": "location", "latitude": 1.5, "longitude": 2.5},
        {"type": "contact", "title": "Shop", "properties": [
            {"key": "phone", "value": "+15550001", "type": "phone"}]},
        {"type": "card", "title": "Hat", "subtitle": "Red", "imageUrl": image, "actions": [
            {"type": "postback", "title": "Order", "payload": "ORDER"}]},
        {"type": "carousel", "items": [{"title": "One", "imageUrl": image},
                                       {"title": "Two", "content": "no picture"}]},
        {"type": "text", "text": "x" * 5000},
    ]  # fmt: skip
    for message in messages:
        await reply(client, tenant, cid, agent, message)
    r = await client.post(
        f"/inbound/business/v1/direct/activity/{cid}",
        json={"type": "event", "sender": {"integrationId": agent},
              "event": {"type": "typing_on"}},
        headers=tenant.engine,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    sends = ("sendMessage", "sendPhoto", "sendVideo", "sendAudio", "sendDocument",
             "sendLocation", "sendContact", "sendChatAction")  # fmt: skip
    await wait_for(lambda: len(fake_telegram.sent(bot.token, *sends)) == 14, what="14 calls")
    calls = fake_telegram.sent(bot.token, *sends)
    assert all(c.params["chat_id"] in (CHAT, str(CHAT)) for c in calls)
    replies, menu, photo, video, audio, doc, place, contact, card, one, two, a, b, typing = [
        (c.method, c.params) for c in calls
    ]
    assert replies[1]["reply_markup"] == {
        "keyboard": [[{"text": "Yes"}], [{"text": "No"}]],
        "one_time_keyboard": True,
        "resize_keyboard": True,
    }
    rows = menu[1]["reply_markup"]["inline_keyboard"]
    assert [r[0]["text"] for r in rows] == ["Buy", "Later", "Site"]
    assert rows[2][0] == {"text": "Site", "url": "https://e.com"}
    assert all(len(r[0]["callback_data"].encode()) <= 64 for r in rows[:2])
    assert "BUY-42" not in rows[0][0]["callback_data"]
    assert photo == ("sendPhoto", {"chat_id": str(CHAT), "photo": image, "caption": "A photo"})
    assert video[0] == "sendVideo" and audio[0] == "sendAudio"
    assert doc == ("sendDocument", {"chat_id": str(CHAT), "document": "https://e.com/f.pdf",
                                    "caption": "Invoice"})  # fmt: skip
    assert place == ("sendLocation", {"chat_id": str(CHAT), "latitude": 1.5, "longitude": 2.5})
    assert contact[0] == "sendContact" and contact[1]["phone_number"] == "+15550001"
    assert card[0] == "sendPhoto" and card[1]["caption"] == "Hat\nRed"
    assert card[1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Order"
    assert one[0] == "sendPhoto" and one[1]["caption"] == "One"
    assert two == ("sendMessage", {"chat_id": str(CHAT), "text": "Two\nno picture"})
    assert a[0] == b[0] == "sendMessage"
    assert len(a[1]["text"]) == 4096 and a[1]["text"] + b[1]["text"] == "x" * 5000
    assert typing == ("sendChatAction", {"chat_id": str(CHAT), "action": "typing"})

    # Pressing inline buttons: the postback or reply they were rendered from, answered.
    for n, expected in ((0, ("postback", "Buy", "BUY-42")), (1, ("reply", "Later", "LATER"))):
        press = {"callback_query": {"id": f"cq{n}", "from": USER, "data":
                 rows[n][0]["callback_data"], "chat_instance": "1",
                 "message": {"message_id": 9, "date": 0, "chat": {"id": CHAT}}}}  # fmt: skip
        r = await fake_telegram.deliver(client, bot.token, press, PUBLIC)
        assert r.status_code == 200
        await wait_for(lambda n=n: len(receiver.at("agent")) == 2 + n, what="the press")  # type: ignore[misc]
        kind, title, payload = expected
        assert receiver.at("agent")[-1].activity["message"] == {
            "type": "text",
            "text": title,
            "actions": [{"type": kind, "title": title, "payload": payload}],
        }
        await wait_for(
            lambda n=n: any(  # type: ignore[misc]
                c.params == {"callback_query_id": f"cq{n}"}
                for c in fake_telegram.sent(bot.token, "answerCallbackQuery")
            ),
            what="answerCallbackQuery",
        )
    # A reply keyboard press arrives as its title: the reply with its payload.
    await fake_telegram.deliver(client, bot.token, text_update("No"), PUBLIC)
    await wait_for(lambda: len(receiver.at("agent")) == 4, what="the keyboard press")
    assert receiver.at("agent")[-1].activity["message"]["actions"] == [
        {"type": "reply", "title": "No", "payload": "N"}
    ]
    # Other events have no Telegram form: delivered without a call.
    await client.post(
        f"/inbound/business/v1/direct/activity/{cid}",
        json={"type": "event", "sender": {"integrationId": agent}, "event": {"type": "seen"}},
        headers=tenant.engine,
    )

    async def all_delivered() -> bool:
        rows = await deliveries_to(ctx, bot.id)
        return len(rows) == 13 and all(r.status == "delivered" for r in rows)

    await wait_for_async(all_delivered)
    assert len(fake_telegram.sent(bot.token, *sends)) == 14


async def test_blocked_and_unknown_chats_fail_at_once_and_429_waits(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_telegram: FakeTelegram,
) -> None:
    bot, agent, cid = await scene(client, ctx, tenant, receiver, fake_telegram)
    fake_telegram.throttle["sendMessage"] = 2
    await reply(client, tenant, cid, agent, {"type": "text", "text": "patience"})
    await wait_for(lambda: len(fake_telegram.sent(bot.token, "sendMessage")) == 1, what="retry")
    [(_, throttled_at)] = fake_telegram.throttled
    assert fake_telegram.sent(bot.token, "sendMessage")[0].at - throttled_at >= 2.0
    [row] = await deliveries_to(ctx, bot.id)
    await wait_for_async(lambda: _status(ctx, bot.id, 0, "delivered"))
    async with ctx.db.read() as s:
        row = await s.get(type(row), row.id)
    assert row is not None and row.attempts == 2

    for chats, status, words in (
        (fake_telegram.blocked, 403, "bot was blocked by the user"),
        (fake_telegram.unknown, 400, "chat not found"),
    ):
        chats.add(str(CHAT))
        await reply(client, tenant, cid, agent, {"type": "text", "text": "hello?"})
        n = len(await deliveries_to(ctx, bot.id)) - 1
        await wait_for_async(lambda n=n: _status(ctx, bot.id, n, "failed"))  # type: ignore[misc]
        failed = (await deliveries_to(ctx, bot.id))[n]
        assert failed.attempts == 1 and failed.last_status_code == status
        assert failed.last_error is not None and words in failed.last_error
        assert bot.token not in failed.last_error
        chats.clear()


async def _status(ctx: AppContext, receiver_id: str, n: int, status: str) -> bool:
    rows = await deliveries_to(ctx, receiver_id)
    return len(rows) > n and rows[n].status == status


async def test_pause_resume_and_delete_move_the_webhook(
    client: httpx.AsyncClient, tenant: TenantCreds, fake_telegram: FakeTelegram
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    bot = await telegram_integration(client, tenant, hub, fake_telegram)
    url = f"/api/v1/integrations/{bot.id}"
    state = fake_telegram.bots[bot.token]
    assert state.webhook_url
    r = await client.post(url, json={"statusId": 3002}, headers=tenant.portal)
    if r.status_code == 405:
        r = await client.put(url, json={"statusId": 3002}, headers=tenant.portal)
    assert r.status_code == 200, r.text
    assert state.webhook_url == "" and fake_telegram.sent(bot.token)[-1].method == "deleteWebhook"
    fake_telegram.throttle["setWebhook"] = 1  # resuming fails: it stays paused
    r = await client.put(url, json={"statusId": 3000}, headers=tenant.portal)
    assert r.status_code == 503 and codes(r) == [703]
    assert (await client.get(url, headers=tenant.portal)).json()["statusId"] == 3002
    r = await client.put(url, json={"statusId": 3000}, headers=tenant.portal)
    assert r.status_code == 200 and state.webhook_url.endswith(bot.id)
    r = await client.delete(url, headers=tenant.portal)
    assert r.status_code in (200, 204)
    assert state.webhook_url == "" and fake_telegram.sent(bot.token)[-1].method == "deleteWebhook"


async def test_long_polling_in_process(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_telegram: FakeTelegram,
) -> None:
    """Without a public URL the bot is polled (this session's engine is one poller)."""
    hub = (await make_hub(client, tenant))["hubId"]
    await direct_agent(ctx, tenant, hub, receiver)
    bot_id, token = new_token()
    fake_telegram.add_bot(token, bot_id, "poll_bot")
    local = replace(ctx, settings=ctx.settings.model_copy(update={"public_url": None}))
    created = await integrations_service.create(
        local,
        uuid.UUID(tenant.tenant_id),
        uuid.UUID(hub),
        JsonBody.of(
            {"channelId": "Telegram", "name": "poll", "configuration": {"botToken": token}}
        ),
    )
    iid = created["integrationId"]
    assert created["configuration"]["updates"] == "polling"
    assert [c.method for c in fake_telegram.sent(token)] == ["deleteWebhook"]
    state = fake_telegram.bots[token]
    pushed = [fake_telegram.push(token, text_update(f"m{n}")) for n in range(3)]
    await wait_for(lambda: len(receiver.at("agent")) == 3, what="three polled messages")
    assert [x.activity["message"]["text"] for x in receiver.at("agent")] == ["m0", "m1", "m2"]

    async def offset_stored() -> bool:
        async with ctx.db.read() as s:
            poll = await s.get(TelegramPoll, uuid.UUID(iid))
        return poll is not None and poll.next_offset == pushed[-1]["update_id"] + 1

    await wait_for_async(offset_stored)
    assert state.max_polling == 1
    # Paused: the poller stops and lets go of the lease.
    r = await client.put(
        f"/api/v1/integrations/{iid}", json={"statusId": 3002}, headers=tenant.portal
    )
    assert r.status_code == 200, r.text

    async def released() -> bool:
        async with ctx.db.read() as s:
            poll = (
                await s.execute(
                    select(TelegramPoll).where(TelegramPoll.integration_id == uuid.UUID(iid))
                )
            ).scalar_one()
        return poll.owner is None

    await wait_for_async(released)
    polls = state.polls
    fake_telegram.push(token, text_update("while paused"))
    await wait_for(lambda: state.polling_now == 0, what="no poll in flight")
    assert state.polls == polls and len(receiver.at("agent")) == 3
    r = await client.put(
        f"/api/v1/integrations/{iid}", json={"statusId": 3000}, headers=tenant.portal
    )
    assert r.status_code == 200, r.text
    await wait_for(lambda: len(receiver.at("agent")) == 4, what="the update kept while paused")
    r = await client.delete(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code in (200, 204)  # and this session's poller stops with it


@pytest.mark.parametrize("text", ["a" * 4096, "a" * 4097, ("word " * 2000).strip()])
def test_split_text_keeps_every_character(text: str) -> None:
    from unihub.channels.telegram.adapter import split_text

    pieces = split_text(text)
    assert all(0 < len(p) <= 4096 for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


async def test_old_buttons_are_purged(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_telegram: FakeTelegram,
) -> None:
    from datetime import timedelta

    from unihub.channels.telegram.models import TelegramButton
    from unihub.channels.telegram.tasks import BUTTONS_KEPT, purge_buttons
    from unihub.core.timestamps import utcnow

    bot, agent, cid = await scene(client, ctx, tenant, receiver, fake_telegram)
    await reply(client, tenant, cid, agent, {"type": "text", "text": "Go", "actions": [
        {"type": "postback", "title": "Go", "payload": "GO"}]})  # fmt: skip
    await wait_for(lambda: bool(fake_telegram.sent(bot.token, "sendMessage")), what="the send")
    stmt = select(TelegramButton).where(TelegramButton.integration_id == uuid.UUID(bot.id))
    assert await purge_buttons(ctx, utcnow()) >= 0
    async with ctx.db.read() as s:
        assert len((await s.execute(stmt)).scalars().all()) == 1
    await purge_buttons(ctx, utcnow() + BUTTONS_KEPT + timedelta(seconds=1))
    async with ctx.db.read() as s:
        assert (await s.execute(stmt)).scalars().all() == []
