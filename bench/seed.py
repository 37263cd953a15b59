"""Data the scenarios need, written straight to the database (fast) or through the API."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import insert

from unihub.core.database import Database
from unihub.core.timestamps import utcnow
from unihub.hubs import repository as hubs_repo
from unihub.hubs.models import Hub
from unihub.tenants import service as tenants_service

BATCH = 5_000


async def _seed_tenant_with_hubs(url: str, count: int) -> dict[str, str]:
    db = Database(url)
    try:
        async with db.write() as s:
            created = await tenants_service.create_tenant(s, "bench-list")
        tenant_id = uuid.UUID(created["tenantId"])
        start = utcnow() - timedelta(days=1)
        for first in range(0, count, BATCH):
            rows = []
            for i in range(first, min(first + BATCH, count)):
                at = start + timedelta(microseconds=i)
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant_id,
                        "name": f"seed-{i:06d}",
                        "name_key": f"seed-{i:06d}",
                        "description": "seeded for the list benchmark",
                        "close_dormant_conversation": None,
                        "status_id": 2000,
                        "created": at,
                        "modified": at,
                    }
                )
            async with db.write() as s:
                await s.execute(insert(Hub), rows)
        await db.transact(lambda s: hubs_repo.recount(s, tenant_id))
        portal = created["clients"]["portal"]
        return {"client_id": portal["clientId"], "client_secret": portal["clientSecret"]}
    finally:
        await db.dispose()


def tenant_with_hubs(url: str, count: int) -> dict[str, str]:
    """A new tenant holding `count` hubs; returns its portal client credentials."""
    return asyncio.run(_seed_tenant_with_hubs(url, count))


def token(base_url: str, client_id: str, client_secret: str) -> str:
    r = httpx.post(
        base_url + "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    r.raise_for_status()
    value: str = r.json()["access_token"]
    return value


def hub(base_url: str, bearer: str, name: str) -> str:
    r = httpx.post(
        base_url + "/api/v1/hubs",
        json={"name": name, "description": "benchmark hub"},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    r.raise_for_status()
    value: str = r.json()["hubId"]
    return value
