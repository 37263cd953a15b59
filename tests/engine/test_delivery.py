"""The outbox: order per (conversation, receiver), the reference retry schedule driven by an
injectable clock, exhausted deliveries listed for the tenant, and dormant closing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select

from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub, make_integration
from tests.engine.receiver import Receiver, wait_for
from unihub.conversations.service import close_dormant
from unihub.core.context import AppContext
from unihub.core.timestamps import utcnow
from unihub.delivery.engine import EngineRuntime
from unihub.delivery.models import Delivery

CUSTOMER = "/inbound/customer/v1/direct/activity/{}"


async def _pair(
    client: httpx.AsyncClient, ctx: AppContext, t: TenantCreds, receiver: Receiver, **hub: object
) -> tuple[str, str, str]:
    h = await make_hub(client, t, **hub)
    customer = await make_integration(ctx.db, ctx.box, t.tenant_id, h["hubId"])
    agent = await make_integration(
        ctx.db,
        ctx.box,
        t.tenant_id,
        h["hubId"],
        integration_type="Agent",
        webhook_url=receiver.url("agent"),
    )
    receiver.trust(agent.public_key, agent.private_key)
    return h["hubId"], customer.id, agent.id


async def _open(
    client: httpx.AsyncClient, t: TenantCreds, integration_id: str, binding: str
) -> str:
    r = await client.post(
        "/api/v1/conversations/establish",
        json={"integrationId": integration_id, "binding": binding, "channelType": "Direct"},
        headers=t.engine,
    )
    cid: str = r.json()["conversationId"]
    return cid


async def test_in_order_per_conversation_under_concurrency(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    _, customer, _ = await _pair(client, ctx, tenant, receiver)
    convs = [await _open(client, tenant, customer, f"b{i}") for i in range(3)]

    async def burst(cid: str) -> list[int]:
        ids = []
        for n in range(15):
            r = await client.post(
                CUSTOMER.format(cid),
                json={"type": "message", "message": {"type": "text", "text": str(n)}},
                headers=tenant.engine,
            )
            assert r.status_code == 200, r.text
            ids.append(r.json()["eventId"])
        return ids

    sent = await asyncio.gather(*(burst(c) for c in convs))
    await wait_for(lambda: len(receiver.at("agent")) == 45, what="45 webhooks")
    for cid, ids in zip(convs, sent, strict=True):
        got = [x.activity for x in receiver.at("agent") if x.body["conversationId"] == cid]
        assert [a["eventId"] for a in got] == ids
        assert [a["message"]["text"] for a in got] == [str(n) for n in range(15)]
    assert len({x.delivery_id for x in receiver.at("agent")}) == 45


async def test_retry_schedule_then_failed_listing(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    other_tenant: TenantCreds,
    receiver: Receiver,
    engine: EngineRuntime,
) -> None:
    _, customer, agent = await _pair(client, ctx, tenant, receiver)
    cid = await _open(client, tenant, customer, "retry")
    receiver.fail_status = 503
    try:
        await _retry_schedule(client, ctx, tenant, other_tenant, receiver, engine, cid, agent)
    finally:
        engine.clock.offset = timedelta(0)


async def _retry_schedule(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    other_tenant: TenantCreds,
    receiver: Receiver,
    engine: EngineRuntime,
    cid: str,
    agent: str,
) -> None:
    r = await client.post(
        CUSTOMER.format(cid),
        json={"type": "message", "message": {"type": "text", "text": "first"}},
        headers=tenant.engine,
    )
    first_event = r.json()["eventId"]
    await client.post(
        CUSTOMER.format(cid),
        json={"type": "message", "message": {"type": "text", "text": "second"}},
        headers=tenant.engine,
    )

    async def row() -> Delivery:
        async with ctx.db.read() as s:
            stmt = select(Delivery).where(
                Delivery.conversation_id.in_([__import__("uuid").UUID(cid)]),
                Delivery.event_id == first_event,
            )
            return (await s.execute(stmt)).scalar_one()

    # The first try fails and is retried at once, without any clock moving; then 2, 4, 6, 8
    # and 10 minutes after each failure.
    await wait_for_async(lambda: attempts_is(row, 2))
    for n, gap in enumerate((2, 4, 6, 8, 10), start=2):
        await wait_for_async(lambda n=n: attempts_is(row, n))
        d = await row()
        assert d.status == "pending" and d.leased_until is None
        wait = d.next_attempt_at - engine.clock.now()
        assert timedelta(minutes=gap) - timedelta(seconds=5) < wait <= timedelta(minutes=gap)
        assert d.last_status_code == 503 and "503" in (d.last_error or "")
        # The second activity waits behind the first: never out of order.
        assert receiver.hits == n
        engine.clock.advance(timedelta(minutes=gap))
        engine.wake.set()
    await wait_for_async(lambda: status_is(row, "failed"))
    assert (await row()).attempts == 7

    r = await client.get("/api/v1/deliveries/failed", headers=tenant.engine)
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 1
    item = page["results"][0]
    assert item["integrationId"] == agent and item["conversationId"] == cid
    assert item["eventId"] == first_event and item["attempts"] == 7
    assert item["lastStatusCode"] == 503 and item["failedDateTime"].endswith("Z")
    other = await client.get("/api/v1/deliveries/failed", headers=other_tenant.engine)
    assert other.json()["total"] == 0
    bad = await client.get("/api/v1/deliveries/failed?pageSize=0", headers=tenant.engine)
    assert bad.status_code == 400 and "ENG" in bad.json()["errors"][0]["description"]
    assert codes(bad)

    # With the head given up, the next activity goes out once the receiver recovers.
    receiver.fail_status = None
    engine.clock.advance(timedelta(minutes=2))  # its own first try may have failed meanwhile
    engine.wake.set()
    await wait_for(lambda: len(receiver.at("agent")) == 1, what="second activity")
    assert receiver.at("agent")[0].activity["message"]["text"] == "second"


async def attempts_is(get: object, n: int) -> bool:
    d = await get()  # type: ignore[operator]
    return bool(d.attempts >= n and d.leased_until is None)  # attempt over, outcome recorded


async def status_is(get: object, status: str) -> bool:
    return (await get()).status == status  # type: ignore[operator, no-any-return]


async def wait_for_async(make: object, timeout_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await make():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_dormant_conversations_close(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    _, customer, _ = await _pair(client, ctx, tenant, receiver, closeDormantConversation=3)
    _, never_customer, _ = await _pair(client, ctx, tenant, receiver)
    idle = await _open(client, tenant, customer, "idle")
    busy = await _open(client, tenant, customer, "busy")
    forever = await _open(client, tenant, never_customer, "forever")
    now = utcnow()

    await close_dormant(ctx, now + timedelta(days=2, hours=23))
    for cid in (idle, busy, forever):
        got = await client.get(f"/api/v1/conversations/{cid}", headers=tenant.engine)
        assert got.json()["status"] == "open"

    # Activity two days in keeps `busy` alive past the three-day mark of `idle`.
    async with ctx.db.write() as s:
        from unihub.conversations.models import Conversation

        conv = await s.get(Conversation, __import__("uuid").UUID(busy))
        assert conv is not None
        conv.last_activity_at = now + timedelta(days=2)
    assert await close_dormant(ctx, now + timedelta(days=3, minutes=1)) >= 1
    status = {}
    for cid in (idle, busy, forever):
        got = await client.get(f"/api/v1/conversations/{cid}", headers=tenant.engine)
        status[cid] = got.json()["status"]
    assert status == {idle: "closed", busy: "open", forever: "open"}
    again = await _open(client, tenant, customer, "idle")
    assert again != idle
