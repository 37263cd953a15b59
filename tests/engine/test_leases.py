"""Outbox leases across real processes: a killed process's leases are taken back at once by
its successor, a live process's never.

The lease is set to ten minutes here, so only taking leases back (not their running out)
can deliver within the test's bounds.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

import unihub.models  # noqa: F401 - every table, for the ORM queries here
from tests.engine.factories import hub_with_agent
from tests.engine.procs import Server, server_env, start_server
from tests.engine.receiver import Receiver, wait_for
from tests.engine.test_processes import CUSTOMER, _cli, _kill_database, _token
from unihub.core.config import Settings
from unihub.core.database import Database
from unihub.core.security import SecretBox, secret_key_material
from unihub.delivery.models import Delivery

LONG_LEASE = {"UNIHUB_DELIVERY_LEASE_S": "600"}
MESSAGES = 5


@dataclass
class Scene:
    env: dict[str, str]
    db: Database
    conversation_id: str
    accepted: list[int]


async def _scene(
    tmp: Path, name: str, receiver: Receiver, *, witness: bool = False
) -> tuple[Scene, Server, Server | None]:
    """A server whose only receiver hangs (the gate), with MESSAGES accepted activities.
    `witness`: a second live process, started before anything is posted, so the time the
    first delivery hangs (bounded by the 10 s webhook timeout) starts only once both run."""
    database_url = await _kill_database(tmp, name)
    env = server_env(tmp, database_url, **LONG_LEASE)
    creds = await _cli(env, "tenants", "create", "--name", name)
    settings = Settings(data_dir=tmp, database_url=database_url, secret_key="test-secret-key")
    db = Database(settings.resolved_database_url)
    box = SecretBox(secret_key_material(settings))
    receiver.gate = threading.Event()
    server = await start_server(env)
    other = None
    try:
        other = await start_server(env) if witness else None
        scene = await _fill(server, creds, db, box, receiver, env)
    except BaseException:
        server.kill()  # never leave a server polling the test database
        if other is not None:
            other.kill()
        await db.dispose()
        raise
    return scene, server, other


async def _fill(
    server: Server,
    creds: dict[str, Any],
    db: Database,
    box: SecretBox,
    receiver: Receiver,
    env: dict[str, str],
) -> Scene:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        portal = await _token(http, creds["clients"]["portal"])
        engine = await _token(http, creds["clients"]["engine"])
        customer, _ = await hub_with_agent(http, portal, db, box, creds["tenantId"], receiver)
        r = await http.post(
            "/api/v1/conversations/establish",
            headers=engine,
            json={"integrationId": customer.id, "binding": "b", "channelType": "Direct"},
        )
        cid = r.json()["conversationId"]
        accepted = []
        for n in range(MESSAGES):
            r = await http.post(
                CUSTOMER.format(cid),
                headers=engine,
                json={"type": "message", "message": {"type": "text", "text": str(n)}},
            )
            assert r.status_code == 200, r.text
            accepted.append(r.json()["eventId"])
    await wait_for(lambda: receiver.arrived >= 1, what="the first delivery in flight")
    return Scene(env, db, cid, accepted)


async def _leases(db: Database, cid: str) -> dict[uuid.UUID, uuid.UUID | None]:
    async with db.read() as s:
        rows = await s.execute(
            select(Delivery.id, Delivery.leased_by).where(
                Delivery.conversation_id == uuid.UUID(cid), Delivery.leased_until.is_not(None)
            )
        )
        return {row.id: row.leased_by for row in rows}


def _delivered_in_order(receiver: Receiver, scene: Scene) -> None:
    firsts: list[int] = []
    for item in receiver.at("agent"):
        if item.activity["eventId"] not in firsts:
            firsts.append(item.activity["eventId"])
    assert firsts == scene.accepted


async def test_a_restarted_process_takes_back_its_predecessors_leases_at_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    scene, first, _ = await _scene(tmp_path, "unihub_leases_restart", receiver)
    try:
        held = await _leases(scene.db, scene.conversation_id)
        assert len(held) == 1 and None not in held.values()  # leased, and by whom
        first.kill()
    finally:
        first.stop()
    assert receiver.gate is not None
    receiver.gate.set()  # the cut-off request ends on the receiver's side only
    restarted = await start_server(scene.env)
    try:
        # Ten minutes of lease left: only a take-back delivers these within the bound.
        await wait_for(
            lambda: len({x.delivery_id for x in receiver.at("agent")}) == MESSAGES,
            timeout_s=60,
            what="every delivery after the restart",
        )
    finally:
        restarted.stop()
        await scene.db.dispose()
    _delivered_in_order(receiver, scene)


async def test_a_live_process_leases_are_never_taken(tmp_path: Path, receiver: Receiver) -> None:
    scene, first, second = await _scene(tmp_path, "unihub_leases_live", receiver, witness=True)
    assert second is not None
    try:
        before = await _leases(scene.db, scene.conversation_id)
        # Two take-back rounds of the other process (TAKE_BACK_EVERY = 2 s) while the held
        # webhook is still in flight (it times out 10 s after it started, which was after
        # both processes were up: a slow start cannot eat into this window).
        await asyncio.sleep(4.5)
        assert await _leases(scene.db, scene.conversation_id) == before
        assert receiver.arrived == 1  # nobody sent the leased row a second time
        assert receiver.gate is not None
        receiver.gate.set()
        await wait_for(
            lambda: len(receiver.at("agent")) == MESSAGES, timeout_s=60, what="every delivery"
        )
        await asyncio.sleep(0.5)
        ids = [x.delivery_id for x in receiver.at("agent")]
        assert len(ids) == len(set(ids)) == MESSAGES  # each exactly once
    finally:
        first.stop()
        second.stop()
        await scene.db.dispose()
    _delivered_in_order(receiver, scene)
