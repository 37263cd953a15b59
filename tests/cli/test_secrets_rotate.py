"""Key rotation as an operator does it (docs/deployment.md, "Key rotation"): a database
populated under the old key, the new key put first in UNIHUB_SECRET_KEYS, the real
`unihub secrets rotate` run as a process while a server is up, then the old key dropped, and
every integration still working end to end against the fake providers."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import unihub.models
from tests.api.test_integrations import create
from tests.conftest import TenantCreds, codes, get_token, new_tenant
from tests.engine.conftest import receiver, receiver_server
from tests.engine.factories import make_hub, make_integration
from tests.engine.receiver import Receiver, wait_for
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.providers.helpers import reply, send_sms, twilio_integration
from tests.providers.test_telegram import PUBLIC, telegram_integration, text_update
from unihub.app import create_app
from unihub.core.config import Settings
from unihub.core.context import AppContext
from unihub.core.database import Database
from unihub.core.migrate import upgrade
from unihub.core.rotation import encrypted_columns
from unihub.core.security import SecretBox
from unihub.hubs.models import Hub

__all__ = ["receiver", "receiver_server"]

SRC = str(Path(__file__).resolve().parents[2] / "src")
OLD = "old-key-" + uuid.uuid4().hex
NEW = "new-key-" + uuid.uuid4().hex
SUMMARY = re.compile(
    r"secrets rotate: (\d+) encrypted values in 4 columns: (\d+) re-encrypted, "
    r"(\d+) already under the newest key, (\d+) changed meanwhile, (\d+) undecryptable"
)


@dataclass
class Summary:
    seen: int
    rotated: int
    current: int
    changed: int
    undecryptable: int


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> Summary:
        found = SUMMARY.search(self.stderr)
        assert found, self.stderr
        return Summary(*(int(g) for g in found.groups()))


async def _fresh_database(name: str) -> str | None:
    """None on SQLite (a file in the test's data dir); on PostgreSQL a database of its own:
    the rotation re-encrypts every row, so it must never run on the suite's shared one."""
    shared = os.environ.get("UNIHUB_TEST_DATABASE_URL")
    if not shared:
        return None
    base, db = shared.rsplit("/", 1)
    full = f"{db}_{name}"
    await _admin(f'DROP DATABASE IF EXISTS "{full}" WITH (FORCE)', f'CREATE DATABASE "{full}"')
    return f"{base}/{full}"


async def _admin(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(os.environ["UNIHUB_PG_ADMIN_URL"])
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class Deployment:
    """One database and data dir; processes started with whichever keys a step needs."""

    base: dict[str, Any]

    def settings(self, **keys: str) -> Settings:
        return Settings(**(self.base | {"secret_key": None, "secret_keys": None} | keys))

    @asynccontextmanager
    async def serving(self, **keys: str) -> AsyncIterator[tuple[AppContext, httpx.AsyncClient]]:
        settings = self.settings(**keys)
        await asyncio.to_thread(upgrade, settings)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
                yield app.state.ctx, client
        await app.state.ctx.db.dispose()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNIHUB_")}
        env |= {"UNIHUB_ENV_FILE": "", "PYTHONPATH": SRC}
        env["UNIHUB_DATA_DIR"] = str(self.base["data_dir"])
        if self.base["database_url"]:
            env["UNIHUB_DATABASE_URL"] = self.base["database_url"]
        return env | extra

    async def start_rotate(self, keys: str, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "unihub.cli",
            "secrets",
            "rotate",
            *args,
            env=self.env(UNIHUB_SECRET_KEYS=keys),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def rotate(self, keys: str, *args: str) -> Run:
        proc = await self.start_rotate(keys, *args)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode is not None
        run = Run(proc.returncode, out.decode(), err.decode())
        for key in (OLD, NEW, "lost-key", "wrong-key"):
            assert key not in run.stdout + run.stderr  # keys are never printed
        return run

    def database(self) -> Database:
        return Database(self.settings(secret_key=NEW).resolved_database_url)


@pytest.fixture
async def deployment(
    settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Deployment]:
    """The session's settings (fake providers, public URL), on a database of the test's own."""
    name = re.sub(r"[^a-z0-9]", "", request.node.name.lower())[-30:]
    url = await _fresh_database(name)
    yield Deployment(settings.model_dump() | {"data_dir": tmp_path / "data", "database_url": url})
    if url:
        await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def stored_values(db: Database) -> list[tuple[str, bytes]]:
    """Every encrypted value in the database, as (table.column, token)."""
    out: list[tuple[str, bytes]] = []
    async with db.read() as s:
        for c in encrypted_columns(unihub.models.Base.metadata):
            for (value,) in (await s.execute(select(c.column).where(c.column.is_not(None)))).all():
                out.append((c.name, value.encode() if isinstance(value, str) else bytes(value)))
    return out


def decryptable(values: list[tuple[str, bytes]], key: str) -> int:
    box = SecretBox(key)
    n = 0
    for _, token in values:
        try:
            box.decrypt_bytes(token)
        except ValueError:
            continue
        n += 1
    return n


async def direct_agent(
    client: httpx.AsyncClient, t: TenantCreds, hub: str, r: Receiver, name: str = "agent"
) -> Any:
    config = {"integrationType": "Agent", "webhookUrl": r.url(name)}
    made = await create(client, t, hub, "Direct", config)
    assert made.status_code == 200, made.text
    agent = made.json()
    r.trust(agent["configuration"]["publicSigningKey"], agent["configuration"]["privateSigningKey"])
    return agent


async def test_rotation_keeps_every_integration_working(
    deployment: Deployment,
    receiver: Receiver,
    fake_twilio: FakeTwilio,
    fake_telegram: FakeTelegram,
) -> None:
    customer = "+15551239876"
    fake_telegram.add_file("cat", "photos/cat.jpg", b"\xff\xd8cat")
    photo = [{"file_id": "cat", "file_unique_id": "c", "width": 9, "height": 9}]

    # 1. A deployment that has run for a while under the old key.
    async with deployment.serving(secret_key=OLD) as (ctx, client):
        t = await new_tenant(ctx, client, "rotating")
        hub = (await make_hub(client, t))["hubId"]
        tw = await twilio_integration(client, t, hub, fake_twilio)
        bot = await telegram_integration(client, t, hub, fake_telegram)
        agent = await direct_agent(client, t, hub, receiver)
        r = await send_sms(client, tw, {"From": customer, "Body": "hi", "MessageSid": "SMa"})
        assert r.status_code == 200, r.text
        await wait_for(lambda: len(receiver.at("agent")) == 1, what="the SMS")
        r = await fake_telegram.deliver(client, bot.token, text_update("hi"), PUBLIC)
        assert r.status_code == 200, r.text
        await wait_for(lambda: len(receiver.at("agent")) == 2, what="the Telegram message")
        r = await fake_telegram.deliver(client, bot.token, text_update("", photo=photo), PUBLIC)
        assert r.status_code == 200, r.text
        await wait_for(lambda: len(receiver.at("agent")) == 3, what="the photo")
        sms_cid, tg_cid, _ = (x.body["conversationId"] for x in receiver.at("agent"))
        assert sms_cid != tg_cid
        media = receiver.at("agent")[2].activity["message"]["url"].removeprefix(PUBLIC)
        assert (await client.get(media)).content == b"\xff\xd8cat"
        idem = {"Idempotency-Key": "rotate-1", **t.portal}
        first = await client.post(
            "/api/v1/hubs", json={"name": "idem", "description": "d"}, headers=idem
        )
        assert first.status_code == 200, first.text
    db = deployment.database()
    try:
        before = await stored_values(db)
        # Twilio's and Telegram's credentials, the Direct agent's private signing key, the
        # token signing key, one idempotent answer.
        assert {name for name, _ in before} == {
            "integrations.secrets",
            "integrations.private_signing_key",
            "signing_keys.private_key",
            "idempotency_keys.body",
        }
        assert decryptable(before, OLD) == len(before)

        # 2. The new key first, the old one after it; processes restarted; then the rotation,
        # while a server runs and writes under the new key.
        async with deployment.serving(secret_keys=f"{NEW},{OLD}") as (ctx, client):
            again = await client.post(
                "/api/v1/hubs", json={"name": "idem", "description": "d"}, headers=idem
            )
            assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
            assert again.json() == first.json()
            assert (await client.get(media)).content == b"\xff\xd8cat"  # an old link works
            await direct_agent(client, t, hub, receiver, "later")  # under the new key

            run = await deployment.rotate(f"{NEW},{OLD}", "--batch-size", "2")
            assert run.returncode == 0, run.stderr
            assert run.stdout == ""
            s = run.summary
            assert s.seen == len(before) + 1 and s.rotated == len(before)
            assert (s.current, s.changed, s.undecryptable) == (1, 0, 0)
            r = await client.get(f"/api/v1/integrations/{tw.id}", headers=t.portal)
            assert r.status_code == 200, r.text

        after = await stored_values(db)
        assert decryptable(after, NEW) == len(after) and decryptable(after, OLD) == 0
        # A second run finds nothing left to do.
        s = (await deployment.rotate(f"{NEW},{OLD}")).summary
        assert (s.rotated, s.current, s.undecryptable) == (0, len(after), 0)
    finally:
        await db.dispose()

    # 3. The old key dropped: everything works with the new key alone.
    async with deployment.serving(secret_key=NEW) as (ctx, client):
        # The token signing key: old tokens verify, new ones are issued.
        assert (await client.get("/api/v1/hubs", headers=t.portal)).status_code == 200
        fresh = await get_token(client, t.engine_client_id, t.engine_secret)
        engine = {"Authorization": f"Bearer {fresh}"}
        # Credentials read back as they were.
        r = await client.get(f"/api/v1/integrations/{agent['integrationId']}", headers=t.portal)
        got = r.json()["configuration"]
        assert got["privateSigningKey"] == agent["configuration"]["privateSigningKey"]
        receiver.received.clear()

        # Twilio: the inbound signature is checked with the stored auth token, the webhook
        # to the agent is signed with its stored private key, the reply uses the credentials.
        r = await send_sms(
            client, tw, {"From": customer, "Body": "still there?", "MessageSid": "SMb"}
        )
        assert r.status_code == 200, r.text
        r = await send_sms(client, tw, {"From": customer, "Body": "x"}, signature="forged")
        assert r.status_code == 403 and codes(r) == [120], r.text
        # Telegram: the webhook's secret token, then a reply through the bot token.
        r = await fake_telegram.deliver(client, bot.token, text_update("me too"), PUBLIC)
        assert r.status_code == 200, r.text
        for name in ("agent", "later"):  # the integration made during the rotation too
            await wait_for(lambda n=name: len(receiver.at(n)) == 2, what=f"both at {name}")
            texts = {x.activity["message"]["text"] for x in receiver.at(name)}
            assert texts == {"still there?", "me too"}
        assert receiver.rejected == 0
        sent_before = len(fake_twilio.sent)
        t_engine = TenantCreds(**(t.__dict__ | {"engine_token": fresh}))
        await reply(
            client, t_engine, sms_cid, agent["integrationId"], {"type": "text", "text": "yes"}
        )
        await reply(
            client, t_engine, tg_cid, agent["integrationId"], {"type": "text", "text": "ok"}
        )
        await wait_for(lambda: len(fake_twilio.sent) == sent_before + 1, what="the SMS reply")
        assert fake_twilio.sent[-1] == {"To": customer, "From": tw.phone, "Body": "yes"}
        await wait_for(
            lambda: any(c.params.get("text") == "ok" for c in fake_telegram.sent(bot.token)),
            what="the Telegram reply",
        )
        assert (await client.get("/api/v1/hubs", headers=engine)).status_code == 403

        # Documented consequences of dropping the old key (docs/deployment.md): a media link
        # made under it is gone (404), and a retry of an idempotent request first made under
        # it is refused as another request (113) rather than replayed; nothing is created.
        r = await client.get(media)
        assert r.status_code == 404 and codes(r) == [5600]
        r = await client.post(
            "/api/v1/hubs", json={"name": "idem", "description": "d"}, headers=idem
        )
        assert r.status_code == 400 and codes(r) == [113], r.text
        async with ctx.db.read() as session:
            named = select(func.count()).select_from(Hub).where(Hub.name == "idem")
            assert (await session.execute(named)).scalar_one() == 1


async def _populate(deployment: Deployment, n: int, key: str = OLD) -> tuple[str, str]:
    """A tenant (so a token signing key) and `n` Direct integrations, under `key`."""
    async with deployment.serving(secret_key=key) as (ctx, client):
        t = await new_tenant(ctx, client, "many")
        hub = (await make_hub(client, t))["hubId"]
        for _ in range(n):
            await make_integration(ctx.db, ctx.box, t.tenant_id, hub)
    return t.tenant_id, hub


async def test_an_interrupted_rotation_resumes(deployment: Deployment) -> None:
    await _populate(deployment, 40)
    db = deployment.database()
    try:
        total = len(await stored_values(db))
        assert total == 41
        # One value per batch, a pause between batches; killed (SIGKILL: no clean-up at all)
        # once a few values are under the new key.
        proc = await deployment.start_rotate(f"{NEW},{OLD}", "--batch-size", "1", "--pause", "0.2")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while decryptable(await stored_values(db), NEW) < 3:
            assert proc.returncode is None and loop.time() < deadline
            await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        values = await stored_values(db)
        done = decryptable(values, NEW)
        assert 3 <= done < total
        # Every value is under exactly one of the keys: nothing half-written.
        assert done + decryptable(values, OLD) == total

        run = await deployment.rotate(f"{NEW},{OLD}")
        assert run.returncode == 0, run.stderr
        s = run.summary
        assert (s.seen, s.rotated, s.current, s.undecryptable) == (total, total - done, done, 0)
        assert decryptable(await stored_values(db), NEW) == total
    finally:
        await db.dispose()


async def test_undecryptable_values_are_reported_and_kept(deployment: Deployment) -> None:
    tenant_id, hub = await _populate(deployment, 3)
    # One more integration whose key nobody has any more.
    db = deployment.database()
    try:
        lost = (await make_integration(db, SecretBox("lost-key"), tenant_id, hub)).id
        lost_value = dict(await _private_keys(db))[lost]

        # Only a wrong key: every value is reported, none is touched, exit 1.
        run = await deployment.rotate("wrong-key")
        assert run.returncode == 1
        assert run.summary.undecryptable == run.summary.seen == 5
        assert "add the key they were encrypted with to UNIHUB_SECRET_KEYS" in run.stderr
        assert decryptable(await stored_values(db), OLD) == 4

        # The right keys but one value under a lost key: the others are rotated.
        run = await deployment.rotate(f"{NEW},{OLD}", "--batch-size", "2")
        assert run.returncode == 1
        s = run.summary
        assert (s.rotated, s.current, s.undecryptable) == (4, 0, 1)
        assert (
            f"undecryptable: integrations.private_signing_key (id={uuid.UUID(lost)})" in run.stderr
        )
        assert dict(await _private_keys(db))[lost] == lost_value  # kept as it was
        assert decryptable(await stored_values(db), NEW) == 4
    finally:
        await db.dispose()


async def _private_keys(db: Database) -> list[tuple[str, str]]:
    from unihub.integrations.models import Integration

    async with db.read() as s:
        rows = (await s.execute(select(Integration.id, Integration.private_signing_key))).all()
    return [(str(i), str(k)) for i, k in rows]


@pytest.mark.parametrize(
    ("keys", "single", "message"),
    [
        ("a-key,,b-key", None, "UNIHUB_SECRET_KEYS: entry 2 of 3 is empty"),
        ("a-key,", None, "UNIHUB_SECRET_KEYS: entry 2 of 2 is empty"),
        ("a-key,b-key", "b-key", "UNIHUB_SECRET_KEY is set and is not the first (newest)"),
    ],
)
async def test_malformed_key_lists_are_refused(
    deployment: Deployment, keys: str, single: str | None, message: str
) -> None:
    extra = {"UNIHUB_SECRET_KEY": single} if single else {}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "unihub.cli", "secrets", "rotate",
        env=deployment.env(UNIHUB_SECRET_KEYS=keys, **extra),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 2 and out == b""
    assert message in err.decode() and "Traceback" not in err.decode()
    assert b"a-key" not in err and b"b-key" not in err
