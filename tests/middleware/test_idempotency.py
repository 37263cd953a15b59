"""`Idempotency-Key` on creating POSTs: replay, conflict, concurrency, per-client scope."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.at_rest import stored_bytes
from tests.conftest import TenantCreds, codes
from unihub.core.context import AppContext


def keyed(creds: TenantCreds, key: str) -> dict[str, str]:
    return {**creds.portal, "Idempotency-Key": key}


async def total(client: httpx.AsyncClient, creds: TenantCreds) -> int:
    r = await client.get("/api/v1/hubs", headers=creds.portal)
    count: int = r.json()["total"]
    return count


async def test_same_key_same_body_replays_first_answer(
    client: httpx.AsyncClient, tenant: TenantCreds
):
    key = str(uuid.uuid4())
    body = {"name": "once", "description": "d"}
    first = await client.post("/api/v1/hubs", headers=keyed(tenant, key), json=body)
    again = await client.post("/api/v1/hubs", headers=keyed(tenant, key), json=body)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert await total(client, tenant) == 1


async def test_same_key_other_body_is_400(client: httpx.AsyncClient, tenant: TenantCreds):
    key = str(uuid.uuid4())
    ok = await client.post(
        "/api/v1/hubs", headers=keyed(tenant, key), json={"name": "a", "description": "d"}
    )
    assert ok.status_code == 200
    r = await client.post(
        "/api/v1/hubs", headers=keyed(tenant, key), json={"name": "b", "description": "d"}
    )
    assert r.status_code == 400
    assert codes(r) == [113]
    assert await total(client, tenant) == 1


async def test_concurrent_duplicates_create_once(client: httpx.AsyncClient, tenant: TenantCreds):
    key = str(uuid.uuid4())
    body = {"name": "racing", "description": "d"}
    answers = await asyncio.gather(
        *(client.post("/api/v1/hubs", headers=keyed(tenant, key), json=body) for _ in range(8))
    )
    assert {r.status_code for r in answers} == {200}
    assert len({r.json()["hubId"] for r in answers}) == 1
    assert await total(client, tenant) == 1


async def test_keys_are_scoped_per_client(
    client: httpx.AsyncClient, tenant: TenantCreds, other_tenant: TenantCreds
):
    key = str(uuid.uuid4())
    body = {"name": "shared-key", "description": "d"}
    a = await client.post("/api/v1/hubs", headers=keyed(tenant, key), json=body)
    b = await client.post("/api/v1/hubs", headers=keyed(other_tenant, key), json=body)
    assert a.status_code == b.status_code == 200
    assert a.json()["hubId"] != b.json()["hubId"]
    assert "idempotent-replayed" not in b.headers


async def test_validation_answer_is_replayed_and_nothing_created(
    client: httpx.AsyncClient, tenant: TenantCreds
):
    key = str(uuid.uuid4())
    first = await client.post("/api/v1/hubs", headers=keyed(tenant, key), json={"name": "x"})
    again = await client.post("/api/v1/hubs", headers=keyed(tenant, key), json={"name": "x"})
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert await total(client, tenant) == 0


async def test_unauthenticated_request_does_not_burn_the_key(
    client: httpx.AsyncClient, tenant: TenantCreds
):
    key = str(uuid.uuid4())
    body = {"name": "after-401", "description": "d"}
    r = await client.post(
        "/api/v1/hubs", headers={"Authorization": "Bearer nope", "Idempotency-Key": key}, json=body
    )
    assert r.status_code == 401
    r = await client.post("/api/v1/hubs", headers=keyed(tenant, key), json=body)
    assert r.status_code == 200 and "idempotent-replayed" not in r.headers


async def test_malformed_key_is_400(client: httpx.AsyncClient, tenant: TenantCreds):
    r = await client.post(
        "/api/v1/hubs", headers=keyed(tenant, "k" * 300), json={"name": "n", "description": "d"}
    )
    assert r.status_code == 400
    assert codes(r) == [114]


async def test_without_key_every_post_creates(client: httpx.AsyncClient, tenant: TenantCreds):
    for i in range(2):
        r = await client.post(
            "/api/v1/hubs", headers=tenant.portal, json={"name": f"n{i}", "description": "d"}
        )
        assert r.status_code == 200
    assert await total(client, tenant) == 2


async def test_secrets_in_replayed_answers_are_not_stored_in_clear(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
):
    """A create's answer can be the only copy of a secret: the stored replay is encrypted."""
    key = str(uuid.uuid4())
    url = f"/api/v1/tenants/clients/{tenant.portal_client_id}/tokens"
    first = await client.post(url, headers=keyed(tenant, key), json={"name": "ci"})
    again = await client.post(url, headers=keyed(tenant, key), json={"name": "ci"})
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()  # the replay still shows the secret, once more
    secrets = [first.json()["token"]]

    hub = await client.post(
        "/api/v1/hubs", headers=tenant.portal, json={"name": "keys", "description": "d"}
    )
    for channel, configuration in (
        ("Direct", {"integrationType": "Bot"}),
        ("System", {"webhookUrl": "http://127.0.0.1:9/e", "events": ["message"]}),
    ):
        body = {"channelId": channel, "name": channel, "configuration": configuration}
        created = await client.post(
            f"/api/v1/integrations/hubs/{hub.json()['hubId']}",
            headers=keyed(tenant, str(uuid.uuid4())),
            json=body,
        )
        assert created.status_code == 200, created.text
        secrets.append(created.json()["configuration"]["privateSigningKey"])

    stored = await stored_bytes(ctx)
    assert tenant.portal_client_id.encode() in stored  # the dump is real
    for secret in secrets:
        assert secret.encode() not in stored
