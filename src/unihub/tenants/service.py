"""Tenants and their API clients (portal and engine), each created with a first secret."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from unihub.core.context import AppContext
from unihub.core.errors import ApiError, ErrorItem, bad_request, forbidden, not_found
from unihub.core.security import hash_secret, new_client_secret, secret_prefix
from unihub.core.timestamps import format_ts, utcnow
from unihub.core.tokens import ENGINE_SCOPE, PORTAL_SCOPE
from unihub.core.validation import JsonBody, validate_model
from unihub.tenants import repository as repo
from unihub.tenants.models import ApiClient, ClientSecret
from unihub.tenants.schemas import SecretCreate

_SCOPES = {"portal": PORTAL_SCOPE, "engine": ENGINE_SCOPE}
_MAX_SECRET_ID = 2**31 - 1

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


async def bootstrap_tenant(s: AsyncSession) -> dict[str, Any] | None:
    """On a database without tenants: the default one, as `create_tenant` answers; else None.
    Processes starting together create it once."""
    await repo.lock_bootstrap(s)
    if await repo.any_tenant(s):
        return None
    return await create_tenant(s, "default")


async def list_tenants_cli(s: AsyncSession) -> list[dict[str, Any]]:
    """`unihub tenants list`: ids, names, creation times and client ids; never secrets."""
    return [
        {
            "tenantId": str(tenant.id),
            "name": tenant.name,
            "createdAt": format_ts(tenant.created),
            "clients": {
                resource: {"clientId": client.client_id}
                for resource in RESOURCES
                for client in clients
                if client.resource == resource
            },
        }
        for tenant, clients in await repo.list_tenants(s)
    ]


async def add_secret_cli(s: AsyncSession, client_id: str, name: str) -> dict[str, Any] | None:
    if await repo.get_client(s, client_id) is None:
        return None
    secret_id, plaintext = await create_secret(s, client_id, name)
    return {"clientId": client_id, "id": secret_id, "name": name, "token": plaintext}


# --------------------------------------------------------------------------- Portal API


def _client_not_found(client_id: str) -> ApiError:
    # The reference has no "client not found" code; 105 is its generic "resource not found".
    return not_found(105, f"Client '{client_id}' was not found.")


def _secret_not_found(secret_id: int) -> ApiError:
    return not_found(105, f"Client token '{secret_id}' was not found.")


def _is_live(secret: ClientSecret, now: datetime) -> bool:
    return secret.expiration is None or secret.expiration > now


def _secret_wire(secret: ClientSecret, token: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": secret.id, "name": secret.name, "token": token}
    if secret.expiration is not None:
        out["expiration"] = format_ts(secret.expiration)
    return out


def _client_wire(client: ApiClient, secrets: list[ClientSecret]) -> dict[str, Any]:
    tenant = str(client.tenant_id)
    return {
        "tenantId": tenant,
        "clientId": client.client_id,
        "name": client.name,
        "enabled": client.enabled,
        "allowedScopes": [_SCOPES[client.resource]],
        "claims": [{"type": "role", "value": "admin"}, {"type": "tenant", "value": tenant}],
        # Only the stored prefix exists: the secret itself is never kept.
        "secrets": [_secret_wire(x, f"{x.prefix}...") for x in secrets],
    }


def parse_secret_id(value: str) -> int:
    """The `tokenId` path segment: a positive integer, else 400/210."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= _MAX_SECRET_ID:
        raise bad_request(
            210, f"Parameter 'tokenId' must be a positive integer, got '{value[:64]}'."
        )
    return int(text)


async def require(ctx: AppContext, tenant_id: uuid.UUID, client_id: str) -> ApiClient:
    """The tenant's API client, or 404/105: read before the body is judged."""
    async with ctx.db.read() as s:
        client = await repo.get_tenant_client(s, tenant_id, client_id)
    if client is None:
        raise _client_not_found(client_id)
    return client


async def get_client(ctx: AppContext, tenant_id: uuid.UUID, client_id: str) -> dict[str, Any]:
    client = await require(ctx, tenant_id, client_id)
    async with ctx.db.read() as s:
        secrets = await repo.list_secrets(s, client_id)
    return _client_wire(client, secrets)


async def add_secret(
    ctx: AppContext, tenant_id: uuid.UUID, client_id: str, body: JsonBody
) -> dict[str, Any]:
    """A new secret; the answer is the only place its plaintext ever appears."""
    await require(ctx, tenant_id, client_id)
    data = validate_model(SecretCreate, body.object())
    if data.expiration is not None and data.expiration <= utcnow():
        raise ApiError(
            400,
            ErrorItem(
                207,
                f"Property 'expiration' must be in the future, got '{format_ts(data.expiration)}'.",
            ),
        )
    plaintext = new_client_secret()
    async with ctx.db.write() as s:
        row = await repo.add_secret(
            s,
            client_id,
            data.name,
            hash_secret(plaintext),
            secret_prefix(plaintext),
            data.expiration,
        )
    return _secret_wire(row, plaintext)


async def delete_secret(
    ctx: AppContext, tenant_id: uuid.UUID, client_id: str, secret_id: int
) -> None:
    """Delete and revoke a secret, unless it is the client's last one that still works.

    The client row is locked for the whole transaction, so two concurrent deletes of a
    client's last two secrets cannot both pass the check.
    """
    await require(ctx, tenant_id, client_id)
    async with ctx.db.write() as s:
        await repo.lock_client(s, client_id)
        secrets = await repo.list_secrets(s, client_id)
        target = next((x for x in secrets if x.id == secret_id), None)
        if target is None:
            raise _secret_not_found(secret_id)
        now = utcnow()
        others_live = any(_is_live(x, now) for x in secrets if x.id != secret_id)
        if _is_live(target, now) and not others_live:
            raise forbidden(
                110,
                f"Client token '{secret_id}' is the last valid secret of client "
                f"'{client_id}' and cannot be deleted; add another one first.",
            )
        await repo.remove_secret(s, target)
        # Tokens already minted with it are refused by every process within the cache TTL.
        repo.add_revocation(s, secret_id)
    ctx.revocations.mark_revoked_locally(secret_id)
