"""Telegram long polling across real `unihub serve` processes: one poller per bot however
many processes run, and a SIGKILLed poller's bot taken over with nothing lost or doubled."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from tests.engine.factories import make_integration
from tests.engine.procs import Server, server_env, start_server
from tests.engine.receiver import wait_for
from tests.engine.test_delivery import wait_for_async
from tests.engine.test_processes import _cli, _kill_database, _token
from tests.fakes.telegram import FakeTelegram
from unihub.activities.models import StoredActivity
from unihub.channels.telegram.models import TelegramPoll
from unihub.conversations.models import Conversation
from unihub.core.config import Settings
from unihub.core.database import Database
from unihub.core.security import SecretBox, secret_key_material


def _text_update(text: str) -> dict[str, Any]:
    user = {"id": 4242, "is_bot": False, "first_name": "Poll"}
    return {"message": {"message_id": 1, "date": 0, "from": user,
                        "chat": {"id": 4242, "type": "private"}, "text": text}}  # fmt: skip


async def _texts(db: Database, integration_id: uuid.UUID) -> list[str]:
    stmt = (
        select(StoredActivity.body)
        .join(Conversation, Conversation.id == StoredActivity.conversation_id)
        .where(Conversation.integration_id == integration_id)
        .order_by(StoredActivity.event_id)
    )
    async with db.read() as s:
        bodies = (await s.execute(stmt)).scalars().all()
    out = []
    for body in bodies:
        data = orjson.loads(body)
        message = data.get("message") if isinstance(data, dict) else None
        if isinstance(message, dict) and isinstance(message.get("text"), str):
            out.append(message["text"])
    return out


async def _poll(db: Database, integration_id: uuid.UUID) -> TelegramPoll | None:
    async with db.read() as s:
        return await s.get(TelegramPoll, integration_id)


def _pid(poll: TelegramPoll | None) -> int | None:
    if poll is None or not poll.holder:
        return None
    return int(poll.holder.rsplit(":", 1)[1])


async def test_one_poller_across_processes_and_sigkill_takeover(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    database_url = await _kill_database(tmp_path, "unihub_tg_polling")
    env = server_env(
        tmp_path,
        database_url,
        UNIHUB_TELEGRAM_API_URL=fake_telegram.base_url,
        UNIHUB_TELEGRAM_POLL_TIMEOUT_S="1",
        UNIHUB_TELEGRAM_POLL_LEASE_S="3",
        UNIHUB_PROVIDER_TIMEOUT_S="2",
    )
    creds = await _cli(env, "tenants", "create", "--name", "tg")
    db = Database(database_url or f"sqlite+aiosqlite:///{(tmp_path / 'unihub.db').resolve()}")
    servers: list[Server] = []
    try:
        servers = [await start_server(env), await start_server(env)]
        bot_id, token = 5550001, "5550001:AApolling" + uuid.uuid4().hex
        bot = fake_telegram.add_bot(token, bot_id, "poll_bot")
        async with httpx.AsyncClient(base_url=servers[0].base_url) as http:
            portal = await _token(http, creds["clients"]["portal"])
            r = await http.post(
                "/api/v1/hubs", json={"name": "tg", "description": "tg"}, headers=portal
            )
            hub_id = r.json()["hubId"]
            # Customer activities need someone to hear them.
            box = SecretBox(secret_key_material(Settings(secret_key="test-secret-key")))
            await make_integration(db, box, creds["tenantId"], hub_id, integration_type="Agent")
            r = await http.post(
                f"/api/v1/integrations/hubs/{hub_id}",
                json={"channelId": "Telegram", "name": "bot", "configuration": {"botToken": token}},
                headers=portal,
            )
            assert r.status_code == 200, r.text
            assert r.json()["configuration"]["updates"] == "polling"
            iid = uuid.UUID(r.json()["integrationId"])

        # Both processes run a poller; exactly one polls the bot.
        first = [fake_telegram.push(token, _text_update(f"a{n}")) for n in range(5)]
        await wait_for_async(lambda: _has(db, iid, 5), timeout_s=60)
        holder = _pid(await _poll(db, iid))
        assert holder in {s.proc.pid for s in servers}
        polls = bot.polls
        await wait_for(lambda: bot.polls >= polls + 3, what="a few more polls")
        assert bot.max_polling == 1 and _pid(await _poll(db, iid)) == holder

        # SIGKILL the poller right after it got a batch, before it could confirm it.
        [victim] = [s for s in servers if s.proc.pid == holder]
        [survivor] = [s for s in servers if s is not victim]
        killed: list[list[int]] = []

        def kill(ids: list[int]) -> None:
            if not killed:
                killed.append(ids)
                os.kill(holder, signal.SIGKILL)

        fake_telegram.on_batch = kill
        second = [fake_telegram.push(token, _text_update(f"b{n}")) for n in range(20)]
        await wait_for(lambda: victim.proc.poll() is not None, timeout_s=30, what="the kill")
        fake_telegram.on_batch = None
        last = second[-1]["update_id"]

        async def caught_up() -> bool:
            poll = await _poll(db, iid)
            return poll is not None and poll.next_offset == last + 1

        await wait_for_async(caught_up, timeout_s=60)
        assert _pid(await _poll(db, iid)) == survivor.proc.pid
        texts = await _texts(db, iid)
        expected = [f"a{n}" for n in range(5)] + [f"b{n}" for n in range(20)]
        assert sorted(texts) == sorted(expected)  # each update accepted exactly once
        assert texts[:5] == expected[:5]
        # The cut-off batch was handed out again to the survivor (nothing confirmed lost).
        assert killed and all(bot.served[i] >= 2 for i in killed[0])
        assert {u["update_id"] for u in first + second} <= set(bot.served)
    finally:
        fake_telegram.on_batch = None
        for server in servers:
            server.stop()
        await db.dispose()


async def _has(db: Database, iid: uuid.UUID, n: int) -> bool:
    return len(await _texts(db, iid)) >= n
