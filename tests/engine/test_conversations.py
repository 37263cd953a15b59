"""Establishing, reading and closing conversations (ENG003xxx/006xxx codes)."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub, make_integration
from unihub.core.context import AppContext

EST = "/api/v1/conversations/establish"


async def _customer(client: httpx.AsyncClient, ctx: AppContext, t: TenantCreds) -> tuple[str, str]:
    hub = await make_hub(client, t)
    made = await make_integration(ctx.db, ctx.box, t.tenant_id, hub["hubId"])
    return hub["hubId"], made.id


async def test_establish_returns_open_conversation_for_same_binding(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
) -> None:
    hub_id, integration_id = await _customer(client, ctx, tenant)
    body = {
        "integrationId": integration_id,
        "binding": "customer-42",
        "channelType": "Direct",
        "properties": {"profile": {"full name": "Ada", "phone": "416"}, "extra": {"a": "b"}},
    }
    r = await client.post(EST, json=body, headers=tenant.engine)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["isNew"] is True
    assert first["tenantId"] == tenant.tenant_id and first["hubId"] == hub_id
    assert first["integrationId"] == integration_id
    assert first["properties"]["profile"] == {
        "full name": "Ada",
        "phone": "416",
        "device": "Direct",
    }
    assert first["properties"]["extra"] == {"a": "b"}
    assert first["properties"]["additional"] == {}
    assert first["openedDateTime"].endswith("Z") and first["tokenId"]

    again = await client.post(EST, json={**body, "channelType": 2000}, headers=tenant.engine)
    assert again.status_code == 200
    assert again.json()["conversationId"] == first["conversationId"]
    assert again.json()["isNew"] is False

    got = await client.get(
        f"/api/v1/conversations/{first['conversationId']}", headers=tenant.engine
    )
    assert got.status_code == 200
    conv = got.json()
    assert conv["status"] == "open"
    assert conv["integration"]["integrationId"] == integration_id
    assert conv["integration"]["hub"]["hubId"] == hub_id
    assert conv["integration"]["channelId"] == "Direct"
    assert conv["integration"]["integrationTypeId"] == "Customer"

    closed = await client.post(
        f"/api/v1/conversations/{first['conversationId']}/close", headers=tenant.engine
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and "closedDateTime" in closed.json()

    # After closing, the same binding opens a new conversation.
    third = await client.post(EST, json=body, headers=tenant.engine)
    assert third.json()["isNew"] is True
    assert third.json()["conversationId"] != first["conversationId"]


async def test_default_profile(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
) -> None:
    _, integration_id = await _customer(client, ctx, tenant)
    r = await client.post(
        EST,
        json={"integrationId": integration_id, "binding": "b", "channelType": "direct"},
        headers=tenant.engine,
    )
    profile = r.json()["properties"]["profile"]
    assert profile["device"] == "Direct"
    assert isinstance(profile["full name"], str) and profile["full name"]


async def test_concurrent_establishes_share_one_conversation(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
) -> None:
    _, integration_id = await _customer(client, ctx, tenant)
    body = {"integrationId": integration_id, "binding": "race", "channelType": "Direct"}
    answers = await asyncio.gather(
        *(client.post(EST, json=body, headers=tenant.engine) for _ in range(8))
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len({a.json()["conversationId"] for a in answers}) == 1
    assert sum(a.json()["isNew"] for a in answers) == 1


async def test_establish_errors(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, other_tenant: TenantCreds
) -> None:
    _, integration_id = await _customer(client, ctx, tenant)
    r = await client.post(EST, content=b"", headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [3000]
    assert "ENG003000" in r.json()["errors"][0]["description"]
    # channelType may be left out (the .NET client's model has it nullable); integrationId not.
    r = await client.post(EST, json={"binding": "x"}, headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [3001]
    r = await client.post(
        EST,
        json={"integrationId": "nope", "binding": "x", "channelType": "Direct"},
        headers=tenant.engine,
    )
    assert r.status_code == 400 and codes(r) == [3002]
    missing = str(uuid.uuid4())
    r = await client.post(
        EST,
        json={"integrationId": missing, "binding": "x", "channelType": "Direct"},
        headers=tenant.engine,
    )
    assert r.status_code == 404 and codes(r) == [6000]
    # Another tenant's integration is as good as absent.
    r = await client.post(
        EST,
        json={"integrationId": integration_id, "binding": "x", "channelType": "Direct"},
        headers=other_tenant.engine,
    )
    assert r.status_code == 404 and codes(r) == [6000]
    r = await client.post(
        EST,
        json={"integrationId": integration_id, "binding": "x", "channelType": "Slack"},
        headers=tenant.engine,
    )
    assert r.status_code == 400 and codes(r) == [206]
    # Portal tokens are refused by the engine.
    r = await client.post(
        EST,
        json={"integrationId": integration_id, "binding": "x", "channelType": "Direct"},
        headers=tenant.portal,
    )
    assert r.status_code == 403 and codes(r) == [101]
    r = await client.get(f"/api/v1/conversations/{uuid.uuid4()}", headers=tenant.engine)
    assert r.status_code == 404 and codes(r) == [6500]
    r = await client.get("/api/v1/conversations/not-a-guid", headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [203]


async def test_paused_hub_and_integration(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
) -> None:
    hub = await make_hub(client, tenant, statusId=2002)
    made = await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub["hubId"])
    body = {"integrationId": made.id, "binding": "x", "channelType": "Direct"}
    r = await client.post(EST, json=body, headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [6503]
    hub2 = await make_hub(client, tenant)
    paused = await make_integration(
        ctx.db, ctx.box, tenant.tenant_id, hub2["hubId"], status_id=3002
    )
    r = await client.post(EST, json={**body, "integrationId": paused.id}, headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [6502]


async def test_deleting_a_hub_closes_its_conversations(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
) -> None:
    hub_id, integration_id = await _customer(client, ctx, tenant)
    r = await client.post(
        EST,
        json={"integrationId": integration_id, "binding": "x", "channelType": "Direct"},
        headers=tenant.engine,
    )
    cid = r.json()["conversationId"]
    assert (await client.delete(f"/api/v1/hubs/{hub_id}", headers=tenant.portal)).status_code == 200
    got = await client.get(f"/api/v1/conversations/{cid}", headers=tenant.engine)
    assert got.status_code == 200
    assert got.json()["status"] == "closed"
    assert "integration" not in got.json()
