"""Helpers the Portal API tests share."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import TenantCreds


async def new_hub(client: httpx.AsyncClient, t: TenantCreds) -> str:
    """A fresh hub of tenant `t` (unique name); its id."""
    r = await client.post(
        "/api/v1/hubs",
        json={"name": f"hub-{uuid.uuid4().hex[:8]}", "description": "api test"},
        headers=t.portal,
    )
    assert r.status_code == 200, r.text
    hub_id: str = r.json()["hubId"]
    return hub_id
