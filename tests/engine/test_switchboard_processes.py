"""The switchboard across real `unihub serve` processes: a handover that survives SIGKILL, two
simultaneous takeovers on two processes (one wins, the other gets 409), and a takeover on one
process routing the customer's next message accepted by another (docs/switchboard.md)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import unihub.hubs.models  # noqa: F401  (integrations.hub_id's table, without the app)
from tests.conftest import TenantCreds, codes
from tests.engine.factories import MadeIntegration, make_hub, make_integration
from tests.engine.procs import Server, server_env, start_server
from tests.engine.receiver import Receiver, wait_for
from unihub.core.config import Settings
from unihub.core.context import AppContext
from unihub.core.database import Database
from unihub.core.security import SecretBox, secret_key_material

CUSTOMER = "/inbound/customer/v1/direct/activity/{}"
CONTROL = "/api/v1/conversations/{}/control"
PG = bool(os.environ.get("UNIHUB_TEST_DATABASE_URL"))
MULTI = pytest.mark.skipif(not PG, reason="several processes share PostgreSQL (LISTEN/NOTIFY)")
NAMES = ("customer", "bot", "agent_a", "agent_b")


@dataclass
class Scene:
    hub_id: str
    customer: MadeIntegration
    bot: MadeIntegration
    agent_a: MadeIntegration
    agent_b: MadeIntegration

    @property
    def business(self) -> dict[str, MadeIntegration]:
        return {"bot": self.bot, "agent_a": self.agent_a, "agent_b": self.agent_b}


async def _scene(
    db: Database, box: SecretBox, tenant_id: str, hub_id: str, receiver: Receiver
) -> Scene:
    """A customer, then a bot (the oldest active bot: every conversation starts with it), then
    two agents, all with webhooks to the receiver (hook names are scoped by the hub)."""
    made: dict[str, MadeIntegration] = {}
    for name in NAMES:
        kind = "Customer" if name == "customer" else "Bot" if name == "bot" else "Agent"
        made[name] = await make_integration(
            db,
            box,
            tenant_id,
            hub_id,
            integration_type=kind,
            webhook_url=receiver.url(f"{hub_id}-{name}"),
        )
        receiver.trust(made[name].public_key, made[name].private_key)
    return Scene(hub_id, **made)


def _got(receiver: Receiver, sc: Scene, name: str, event_id: int) -> list[dict[str, Any]]:
    """The activities with `event_id` delivered to integration `name` of the scene."""
    return [
        r.activity for r in receiver.at(f"{sc.hub_id}-{name}") if r.activity["eventId"] == event_id
    ]


async def _establish(http: httpx.AsyncClient, engine: dict[str, str], sc: Scene) -> str:
    r = await http.post(
        "/api/v1/conversations/establish",
        json={
            "integrationId": sc.customer.id,
            "binding": f"sb-{uuid.uuid4().hex[:10]}",
            "channelType": "Direct",
        },
        headers=engine,
    )
    assert r.status_code == 200, r.text
    cid: str = r.json()["conversationId"]
    return cid


async def _say(http: httpx.AsyncClient, engine: dict[str, str], cid: str, text: str) -> int:
    r = await http.post(
        CUSTOMER.format(cid),
        json={"type": "message", "message": {"type": "text", "text": text}},
        headers=engine,
    )
    assert r.status_code == 200, r.text
    event_id: int = r.json()["eventId"]
    return event_id


async def _control(
    http: httpx.AsyncClient, engine: dict[str, str], cid: str, **body: Any
) -> httpx.Response:
    return await http.post(CONTROL.format(cid), json=body, headers=engine)


async def _conversation(
    http: httpx.AsyncClient, engine: dict[str, str], cid: str
) -> dict[str, Any]:
    r = await http.get(f"/api/v1/conversations/{cid}", headers=engine)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _history(
    http: httpx.AsyncClient, engine: dict[str, str], cid: str, side: str
) -> list[dict[str, Any]]:
    r = await http.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": side}, headers=engine
    )
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()
    return out


def _control_events(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        a
        for a in history
        if a["type"] == "event" and (a.get("event") or {}).get("type") == "control"
    ]


def _assert_controller_only(
    receiver: Receiver, sc: Scene, event_id: int, holder: str, others: tuple[str, ...]
) -> None:
    """`holder` got `event_id` as the controller; the agents in `others` as standby copies
    addressed to the holder."""
    (main,) = _got(receiver, sc, holder, event_id)
    assert "standby" not in main, main
    assert main["recipient"]["integrationId"] == sc.business[holder].id
    for name in others:
        (copy,) = _got(receiver, sc, name, event_id)
        assert copy["standby"] is True, copy
        assert copy["recipient"]["integrationId"] == sc.business[holder].id


# --------------------------------------------------------------------------- SIGKILL


async def _fresh_database() -> tuple[str | None, str | None]:
    """SQLite: None (the process's data directory holds the file). PostgreSQL: a new database
    of its own, (url, name)."""
    if not PG:
        return None, None
    admin = os.environ.get("UNIHUB_PG_ADMIN_URL")
    if not admin:
        pytest.skip("UNIHUB_PG_ADMIN_URL is not set")
    import asyncpg

    name = f"unihub_sbproc_kill_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", name


async def _drop_database(name: str | None) -> None:
    if name is None:
        return
    import asyncpg

    conn = await asyncpg.connect(os.environ["UNIHUB_PG_ADMIN_URL"])
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "unihub.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    result: dict[str, Any] = orjson.loads(out)
    return result


async def _token(http: httpx.AsyncClient, client: dict[str, str]) -> dict[str, str]:
    r = await http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": client["clientSecret"],
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_handover_survives_sigkill(tmp_path: Path, receiver: Receiver) -> None:
    database_url, database_name = await _fresh_database()
    env = server_env(tmp_path, database_url, UNIHUB_DELIVERY_LEASE_S="3")
    db: Database | None = None
    servers: list[Server] = []
    try:
        creds = await _cli(env, "tenants", "create", "--name", "sb-kill")
        settings = Settings(
            data_dir=tmp_path, database_url=database_url, secret_key="test-secret-key"
        )
        db = Database(settings.resolved_database_url)
        box = SecretBox(secret_key_material(settings))

        servers.append(await start_server(env))
        async with httpx.AsyncClient(base_url=servers[0].base_url, timeout=30) as http:
            portal = await _token(http, creds["clients"]["portal"])
            engine = await _token(http, creds["clients"]["engine"])
            r = await http.post(
                "/api/v1/hubs", json={"name": "sb-kill", "description": "k"}, headers=portal
            )
            assert r.status_code == 200, r.text
            sc = await _scene(db, box, creds["tenantId"], r.json()["hubId"], receiver)
            cid = await _establish(http, engine, sc)

            first = await _say(http, engine, cid, "hello bot")
            await wait_for(
                lambda: all(_got(receiver, sc, n, first) for n in sc.business),
                what="the first message at the bot and its standby copies",
            )
            _assert_controller_only(receiver, sc, first, "bot", ("agent_a", "agent_b"))

            # From here on no webhook completes before the kill: the handover's control event
            # can only reach anyone through the outbox of the restarted process.
            receiver.gate = threading.Event()
            r = await _control(
                http,
                engine,
                cid,
                action="handover",
                integrationId=sc.bot.id,
                metadata={"reason": "customer asked for a human"},
            )
            servers[0].kill()
        receiver.gate.set()  # cut-off requests complete on the receiver's side only
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["changed"] is True and isinstance(answer["eventId"], int)
        assert answer["control"]["integrationType"] == "Agent"
        assert answer["control"]["integrationId"] is None
        handover = answer["eventId"]

        # Forget what the dead process sent: only the restarted one's deliveries count.
        await wait_for(lambda: receiver.hits == receiver.arrived, what="held requests")
        with receiver.lock:
            receiver.received.clear()

        servers.append(await start_server(env))
        async with httpx.AsyncClient(base_url=servers[1].base_url, timeout=30) as http:
            engine = await _token(http, creds["clients"]["engine"])
            await wait_for(
                lambda: all(_got(receiver, sc, n, handover) for n in NAMES),
                what="the handover event at every integration after the restart",
            )
            for name in sc.business:
                for event in _got(receiver, sc, name, handover):  # at least once
                    assert event["eventTrigger"] == "control:handover"
                    assert event["sender"]["integrationId"] == sc.bot.id
                    assert event["event"] == {
                        "type": "control",
                        "action": "handover",
                        "from": {"integrationId": sc.bot.id, "integrationType": "Bot"},
                        "to": {"integrationId": None, "integrationType": "Agent"},
                        "metadata": {"reason": "customer asked for a human"},
                    }
            for event in _got(receiver, sc, "customer", handover):
                assert "metadata" not in event["event"]  # the customer side: no metadata

            second = await _say(http, engine, cid, "hello humans")
            await wait_for(
                lambda: all(_got(receiver, sc, n, second) for n in ("agent_a", "agent_b")),
                what="the next message at both agents",
            )
            for name in ("agent_a", "agent_b"):
                (got,) = _got(receiver, sc, name, second)
                assert "standby" not in got, got  # the agents control it: no standby copy
                assert got["recipient"]["integrationId"] == sc.business[name].id
                assert got["message"] == {"type": "text", "text": "hello humans"}
            bot_side = [a["eventId"] for a in await _history(http, engine, cid, "Bot")]
            assert first in bot_side and handover in bot_side
            assert second not in bot_side  # the bot was no audience of it at all
            await asyncio.sleep(0.5)  # let a wrong delivery arrive, if there were one
            assert _got(receiver, sc, "bot", second) == []

            control = (await _conversation(http, engine, cid))["control"]
            assert control["integrationType"] == "Agent"
            assert control["integrationId"] is None
            assert receiver.rejected == 0
    finally:
        for server in servers:
            server.stop()
        if receiver.gate is not None:
            receiver.gate.set()
        if db is not None:
            await db.dispose()
        await _drop_database(database_name)


# --------------------------------------------------------------------------- two processes


@pytest.fixture(scope="module")
async def pair(settings: Settings) -> AsyncIterator[tuple[Server, Server]]:
    """Two more processes on the test session's PostgreSQL database."""
    env = server_env(settings.data_dir, settings.database_url)
    one, two = await asyncio.gather(start_server(env), start_server(env))
    try:
        yield one, two
    finally:
        one.stop()
        two.stop()


@pytest.fixture
async def clients(
    pair: tuple[Server, Server],
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=pair[0].base_url, timeout=30) as one,
        httpx.AsyncClient(base_url=pair[1].base_url, timeout=30) as two,
    ):
        for http in (one, two):  # open the connections before anything races on them
            assert (await http.get("/healthz")).status_code == 200
        yield one, two


async def _session_scene(
    client: httpx.AsyncClient, ctx: AppContext, t: TenantCreds, receiver: Receiver
) -> Scene:
    hub = await make_hub(client, t)
    return await _scene(ctx.db, ctx.box, t.tenant_id, hub["hubId"], receiver)


@MULTI
async def test_simultaneous_takeovers_on_two_processes(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    one, two = clients
    sc = await _session_scene(client, ctx, tenant, receiver)
    wins = {sc.agent_a.id: 0, sc.agent_b.id: 0}
    for n in range(10):
        cid = await _establish(one, tenant.engine, sc)
        a = _control(one, tenant.engine, cid, action="takeover", integrationId=sc.agent_a.id)
        b = _control(two, tenant.engine, cid, action="takeover", integrationId=sc.agent_b.id)
        if n % 2 == 0:  # whichever starts first tends to win: let each start first as often
            ra, rb = await asyncio.gather(a, b)
        else:
            rb, ra = await asyncio.gather(b, a)
        statuses = sorted([ra.status_code, rb.status_code])
        assert statuses == [200, 409], (ra.text, rb.text)
        won, lost = (ra, rb) if ra.status_code == 200 else (rb, ra)
        winner = sc.agent_a.id if won is ra else sc.agent_b.id
        wins[winner] += 1

        answer = won.json()
        assert answer["changed"] is True and isinstance(answer["eventId"], int)
        assert answer["control"]["integrationId"] == winner
        assert answer["control"]["integrationType"] == "Agent"
        assert codes(lost) == [4012], lost.text
        assert winner in lost.json()["errors"][0]["description"], lost.text

        for http in (one, two):
            control = (await _conversation(http, tenant.engine, cid))["control"]
            assert control["integrationId"] == winner
            assert control["integrationType"] == "Agent"
        events = _control_events(await _history(two, tenant.engine, cid, "Agent"))
        assert len(events) == 1, events
        assert events[0]["eventId"] == answer["eventId"]
        assert events[0]["eventTrigger"] == "control:takeover"
        assert events[0]["event"]["to"] == {"integrationId": winner, "integrationType": "Agent"}
        assert events[0]["event"]["from"] == {"integrationId": sc.bot.id, "integrationType": "Bot"}
    assert sum(wins.values()) == 10


@MULTI
async def test_takeover_on_one_process_routes_the_next_message_on_another(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    one, two = clients
    sc = await _session_scene(client, ctx, tenant, receiver)
    rounds: list[tuple[str, int, int, str, str]] = []
    for n in range(3):
        holder, other = ("agent_a", "agent_b") if n % 2 == 0 else ("agent_b", "agent_a")
        cid = await _establish(two, tenant.engine, sc)
        before = await _say(two, tenant.engine, cid, f"before {n}")
        r = await _control(
            one, tenant.engine, cid, action="takeover", integrationId=sc.business[holder].id
        )
        assert r.status_code == 200, r.text
        assert r.json()["control"]["integrationId"] == sc.business[holder].id
        after = await _say(two, tenant.engine, cid, f"after {n}")
        rounds.append((cid, before, after, holder, other))

    def all_delivered() -> bool:
        return all(
            _got(receiver, sc, name, event_id)
            for _, before, after, holder, other in rounds
            for name, event_id in (
                ("bot", before),
                ("agent_a", before),
                ("agent_b", before),
                (holder, after),
                (other, after),
            )
        )

    await wait_for(all_delivered, what="every message at its controller and standby agents")
    await asyncio.sleep(0.5)  # let a wrong delivery arrive, if there were one
    for cid, before, after, holder, other in rounds:
        _assert_controller_only(receiver, sc, before, "bot", ("agent_a", "agent_b"))
        _assert_controller_only(receiver, sc, after, holder, (other,))
        assert _got(receiver, sc, "bot", after) == []
        bot_side = [a["eventId"] for a in await _history(one, tenant.engine, cid, "Bot")]
        assert before in bot_side and after not in bot_side
    assert receiver.rejected == 0
