"""Webhooks and DNS rebinding: the address checked is the address connected to.

A name that resolves to a public address when the webhook URL is saved and to 127.0.0.1
when the webhook is sent must not reach 127.0.0.1. Names are answered by a fake resolver
(the event loop's getaddrinfo) so no DNS query leaves the machine; the receiver is a real
HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from sqlalchemy import select

import unihub.models  # noqa: F401 - every table, for the ORM queries here
from tests.conftest import get_token
from tests.engine.factories import make_integration
from tests.engine.receiver import Receiver
from tests.engine.test_processes import _kill_database
from tests.middleware.conftest import ClientFactory, make_client  # noqa: F401 - fixture
from unihub.core.config import Settings
from unihub.core.http import webhook_client
from unihub.core.migrate import upgrade
from unihub.core.urlguard import RefusedAddress
from unihub.delivery.models import Delivery
from unihub.tenants import service as tenants_service

PUBLIC = "93.184.216.34"


@pytest.fixture
async def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`rebind.test` answers PUBLIC to the first lookup and 127.0.0.1 to every later one;
    the list records each answer given."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    answers: list[str] = []

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return await real(host, port, **kwargs)
        address = PUBLIC if not answers else "127.0.0.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return answers


async def test_the_webhook_session_refuses_private_addresses_at_connect(
    receiver: Receiver, rebinding_dns: list[str]
) -> None:
    port = int(receiver.base_url.rsplit(":", 1)[1])
    rebinding_dns.append(PUBLIC)  # the "validation" lookup happened already
    session = webhook_client(5.0, allow_private=False)
    try:
        with pytest.raises(aiohttp.ClientConnectorError) as info:
            await session.post(f"http://rebind.test:{port}/hooks/x", data=b"{}")
        assert isinstance(info.value.os_error, RefusedAddress)
    finally:
        await session.close()
    assert receiver.hits == receiver.rejected == 0  # nothing reached the receiver
    assert rebinding_dns[-1] == "127.0.0.1"

    allowed = webhook_client(5.0, allow_private=True)  # local development
    try:
        async with allowed.post(f"http://rebind.test:{port}/hooks/x", data=b"{}") as r:
            await r.read()
    finally:
        await allowed.close()
    assert receiver.rejected == 1  # it arrived (unsigned, so the receiver refused it)


async def test_a_name_rebound_to_loopback_after_validation_is_never_called(
    tmp_path: Path,
    make_client: ClientFactory,  # noqa: F811 - fixture
    receiver: Receiver,
    rebinding_dns: list[str],
) -> None:
    # A database of its own: no other worker (with private webhooks allowed) may send.
    url = await _kill_database(tmp_path, "unihub_rebinding")
    settings = Settings(data_dir=tmp_path, database_url=url, secret_key="test-secret-key")
    await asyncio.to_thread(upgrade, settings)
    client = await make_client(
        data_dir=tmp_path, database_url=settings.resolved_database_url, allow_private_webhooks=False
    )
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.db.write() as s:
        created_tenant = await tenants_service.create_tenant(s, "rebinding")
    tenant_id = created_tenant["tenantId"]
    clients = created_tenant["clients"]
    portal = await _bearer(client, clients["portal"])
    engine = await _bearer(client, clients["engine"])
    hub = await client.post("/api/v1/hubs", headers=portal, json={"name": "r", "description": "r"})
    hub_id = hub.json()["hubId"]
    port = int(receiver.base_url.rsplit(":", 1)[1])
    created = await client.post(
        f"/api/v1/integrations/hubs/{hub_id}",
        headers=portal,
        json={
            "channelId": "Direct",
            "name": "rebinding bot",
            "configuration": {
                "integrationType": "Bot",
                "webhookUrl": f"http://rebind.test:{port}/hooks/bot",
            },
        },
    )
    assert created.status_code == 200, created.text  # rebind.test was public at that moment
    assert rebinding_dns == [PUBLIC]

    customer = await make_integration(ctx.db, ctx.box, tenant_id, hub_id)
    r = await client.post(
        "/api/v1/conversations/establish",
        headers=engine,
        json={"integrationId": customer.id, "binding": "rebind", "channelType": "Direct"},
    )
    cid = r.json()["conversationId"]
    r = await client.post(
        f"/inbound/customer/v1/direct/activity/{cid}",
        headers=engine,
        json={"type": "message", "message": {"type": "text", "text": "hello"}},
    )
    assert r.status_code == 200, r.text

    async def attempted() -> Delivery | None:
        async with ctx.db.read() as s:
            row = (
                await s.execute(select(Delivery).where(Delivery.conversation_id == uuid.UUID(cid)))
            ).scalar_one_or_none()
        return row if row is not None and row.attempts >= 2 and row.leased_until is None else None

    found: list[Delivery] = []

    async def poll() -> None:
        while not found:
            row = await attempted()
            if row is not None:
                found.append(row)
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), 30)
    row = found[0]
    assert row.status == "pending"
    assert "is not a public internet address" in (row.last_error or "")
    assert "127.0.0.1" in (row.last_error or "")
    assert receiver.hits == receiver.rejected == 0  # the loopback receiver was never called
    await ctx.db.dispose()


async def _bearer(client: httpx.AsyncClient, creds: dict[str, str]) -> dict[str, str]:
    token = await get_token(client, creds["clientId"], creds["clientSecret"])
    return {"Authorization": f"Bearer {token}"}
