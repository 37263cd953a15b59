"""The Integrations API: local channels (WebChat, Direct, System), rules and isolation."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import TenantCreds, codes
from unihub.core.context import AppContext

KEY = re.compile(r"^[0-9A-F]{32}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

WEBCHAT = {"allowedOrigins": ["localhost", "Hubster.io"]}
DIRECT = {"integrationType": "Agent", "webhookUrl": "https://hooks.example.com/unihub"}
SYSTEM = {"webhookUrl": "https://hooks.example.com/events", "events": ["message:customer"]}


async def new_hub(client: httpx.AsyncClient, t: TenantCreds) -> str:
    r = await client.post(
        "/api/v1/hubs",
        json={"name": f"hub-{uuid.uuid4().hex[:8]}", "description": "integrations"},
        headers=t.portal,
    )
    assert r.status_code == 200, r.text
    hub_id: str = r.json()["hubId"]
    return hub_id


async def create(
    client: httpx.AsyncClient,
    t: TenantCreds,
    hub_id: str,
    channel: Any,
    configuration: Any,
    **extra: Any,
) -> httpx.Response:
    body = {"channelId": channel, "name": f"int-{uuid.uuid4().hex[:8]}"}
    body |= {"configuration": configuration} | extra
    return await client.post(f"/api/v1/integrations/hubs/{hub_id}", json=body, headers=t.portal)


@pytest.fixture
async def hub(client: httpx.AsyncClient, tenant: TenantCreds) -> str:
    return await new_hub(client, tenant)


async def test_webchat_create_get_list_delete(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str
) -> None:
    start = [{"type": "Text", "text": "Welcome! How can we help?"}]
    r = await client.post(
        f"/api/v1/integrations/hubs/{hub}",
        json={
            "channelId": "webchat",
            "Name": " Website ",
            "configuration": {"AllowedOrigins": ["localhost", "Hubster.io"], "start": start},
        },
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["channelId"] == "WebChat"
    assert got["integrationTypeId"] == "Customer"
    assert got["name"] == "Website"
    assert got["hubId"] == hub and got["tenantId"] == tenant.tenant_id
    assert got["statusId"] == 3000
    assert "inboundId" not in got
    assert got["configuration"] == {
        "allowedOrigins": ["localhost", "hubster.io"],
        "echo": True,
        "start": [{"type": "text", "text": "Welcome! How can we help?"}],
    }
    assert TS.match(got["created"]) and got["created"] == got["modified"]
    iid = got["integrationId"]

    r = await client.get(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code == 200 and r.json() == got

    for channel_type in ("WebChat", "WEBCHAT", "106"):
        r = await client.get(
            f"/api/v1/integrations/hubs/{hub}/{channel_type}", headers=tenant.portal
        )
        assert r.status_code == 200, r.text
        assert r.json() == [got]
    r = await client.get(f"/api/v1/integrations/hubs/{hub}/Direct", headers=tenant.portal)
    assert r.json() == []

    r = await client.get("/api/v1/integrations", params={"hubId": hub}, headers=tenant.portal)
    assert r.status_code == 200
    assert r.json() == {"pageNumber": 0, "pageSize": 50, "total": 1, "results": [got]}

    r = await client.delete(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code == 200 and r.content == b""
    r = await client.get(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [799]
    r = await client.delete(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [799]
