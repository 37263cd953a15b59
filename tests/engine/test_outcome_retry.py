"""A delivery outcome that cannot be written while the database is briefly away is written once
it is back: the row is not sent twice, and its conversation's next activity does not wait for
the lease to run out.

Before, the failed write was only logged: the row stayed leased and was sent again, either
when the lease ran out (30 s by default, holding the conversation's later activities back
meanwhile: issue 17's webhooks ~28 s late) or, as here where the outage also ends the
process's owner lock, when the process took back its own lease. This test failed on that code
with the first activity received twice.

PostgreSQL only: the outage is real (the database refuses connections and its sessions are
ended), which SQLite has no way to do to a process holding the file open. The lease is ten
minutes, so running out of it cannot deliver within the test's bounds.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import httpx
import pytest

import unihub.models  # noqa: F401 - every table, for the factories' ORM writes
from tests.engine.factories import hub_with_agent
from tests.engine.procs import server_env, start_server
from tests.engine.receiver import Receiver, wait_for
from tests.engine.test_processes import CUSTOMER, _cli, _kill_database, _token
from unihub.core.config import Settings
from unihub.core.database import Database
from unihub.core.security import SecretBox, secret_key_material

NAME = "unihub_outcome_retry"


async def _refuse_connections(refuse: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(os.environ["UNIHUB_PG_ADMIN_URL"])
    try:
        await conn.execute(f'ALTER DATABASE "{NAME}" WITH ALLOW_CONNECTIONS {not refuse}')
        if refuse:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", NAME
            )
    finally:
        await conn.close()


async def test_an_outcome_written_after_an_outage_keeps_the_conversation_moving(
    tmp_path: Path, receiver: Receiver
) -> None:
    database_url = await _kill_database(tmp_path, NAME)
    if database_url is None:
        pytest.skip("needs PostgreSQL: SQLite cannot be taken away from a running process")
    env = server_env(tmp_path, database_url, UNIHUB_DELIVERY_LEASE_S="600")
    creds = await _cli(env, "tenants", "create", "--name", "outage")
    settings = Settings(data_dir=tmp_path, database_url=database_url, secret_key="test-secret-key")
    db = Database(settings.resolved_database_url)
    box = SecretBox(secret_key_material(settings))
    receiver.gate = threading.Event()
    server = await start_server(env)
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            portal = await _token(http, creds["clients"]["portal"])
            engine = await _token(http, creds["clients"]["engine"])
            customer, _ = await hub_with_agent(http, portal, db, box, creds["tenantId"], receiver)
            await db.dispose()  # the test's own connections must not outlive the outage
            r = await http.post(
                "/api/v1/conversations/establish",
                headers=engine,
                json={"integrationId": customer.id, "binding": "o", "channelType": "Direct"},
            )
            cid = r.json()["conversationId"]
            accepted = []
            for text in ("first", "second"):
                r = await http.post(
                    CUSTOMER.format(cid),
                    headers=engine,
                    json={"type": "message", "message": {"type": "text", "text": text}},
                )
                assert r.status_code == 200, r.text
                accepted.append(r.json()["eventId"])

        await wait_for(lambda: receiver.arrived >= 1, what="the first webhook in flight")
        await _refuse_connections(True)
        receiver.gate.set()  # answered 200 while the server cannot reach its database
        await asyncio.sleep(1.5)
        await _refuse_connections(False)
        await wait_for(
            lambda: len(receiver.at("agent")) >= 2, timeout_s=20, what="the second webhook"
        )
        await asyncio.sleep(0.5)  # a duplicate, if any, would follow at once
    finally:
        server.stop()
        await _refuse_connections(False)
        await db.dispose()

    received = [item.activity["eventId"] for item in receiver.at("agent")]
    assert received == accepted  # in order, each once
