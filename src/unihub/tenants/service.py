"""Tenants and their API clients (portal and engine), each created with a first secret."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from unihub.core.security import hash_secret, new_client_secret, secret_prefix
from unihub.tenants import repository as repo

RESOURCES = {
    "portal": "Portal API Client",
    "engine": "Engine API Client",
}


def client_id_for(resource: str, tenant_id: uuid.UUID) -> str:
    return f"unihub.{resource}.api.{tenant_id.hex}"


async def create_secret(
    s: AsyncSession, client_id: str, name: str, expiration: datetime | None = None
) -> tuple[int, str]:
    """A new secret for `client_id`; returns (id, plaintext) — the only time it is shown."""
    plaintext = new_client_secret()
    row = await repo.add_secret(
        s, client_id, name, hash_secret(plaintext), secret_prefix(plaintext), expiration
    )
    return row.id, plaintext


async def create_tenant(s: AsyncSession, name: str) -> dict[str, Any]:
    """The tenant, its two clients and their first secrets, in the CLI's JSON shape."""
    tenant = await repo.add_tenant(s, name)
    clients: dict[str, dict[str, str]] = {}
    for resource, label in RESOURCES.items():
        client_id = client_id_for(resource, tenant.id)
        repo.add_client(s, tenant.id, client_id, resource, f"{name} {label}")
        await s.flush()
        _, secret = await create_secret(s, client_id, "default")
        clients[resource] = {"clientId": client_id, "clientSecret": secret}
    return {"tenantId": str(tenant.id), "name": name, "clients": clients}


async def add_secret_cli(s: AsyncSession, client_id: str, name: str) -> dict[str, Any] | None:
    if await repo.get_client(s, client_id) is None:
        return None
    secret_id, plaintext = await create_secret(s, client_id, name)
    return {"clientId": client_id, "id": secret_id, "name": name, "token": plaintext}
