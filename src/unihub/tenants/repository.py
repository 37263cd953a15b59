"""Tenant, client and secret queries, on an `AsyncSession`: the CLI and the tests create
tenants inside sessions of their own. The exception is `find_secret_for_login`, which takes
the `Database`: the token endpoint needs one point read and no session (`fetch_first`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from unihub.core.database import Database
from unihub.tenants.models import ApiClient, ClientSecret, RevokedSecret, Tenant


async def add_tenant(s: AsyncSession, name: str) -> Tenant:
    tenant = Tenant(id=uuid.uuid4(), name=name)
    s.add(tenant)
    await s.flush()
    return tenant


async def any_tenant(s: AsyncSession) -> bool:
    return (await s.execute(select(Tenant.id).limit(1))).first() is not None


# PostgreSQL's two-key advisory locks: "unih" (as delivery/owners.py), then "boot".
_BOOTSTRAP_LOCK = {"a": 0x756E6968, "b": 0x626F6F74}


async def lock_bootstrap(s: AsyncSession) -> None:
    """Serialise "is there a tenant yet? then create the default one" between processes
    starting together, until the transaction ends (PostgreSQL: a transaction advisory lock;
    SQLite: the write transaction already holds the database's write lock)."""
    if s.get_bind().dialect.name == "postgresql":
        await s.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), _BOOTSTRAP_LOCK)


async def list_tenants(s: AsyncSession) -> list[tuple[Tenant, list[ApiClient]]]:
    """Every tenant with its clients, oldest first (then by id, so the order is stable)."""
    tenants = (await s.execute(select(Tenant).order_by(Tenant.created, Tenant.id))).scalars()
    clients: dict[uuid.UUID, list[ApiClient]] = {}
    for client in (await s.execute(select(ApiClient).order_by(ApiClient.client_id))).scalars():
        clients.setdefault(client.tenant_id, []).append(client)
    return [(t, clients.get(t.id, [])) for t in tenants]


def add_client(
    s: AsyncSession, tenant_id: uuid.UUID, client_id: str, resource: str, name: str
) -> None:
    s.add(ApiClient(client_id=client_id, tenant_id=tenant_id, resource=resource, name=name))


async def add_secret(
    s: AsyncSession,
    client_id: str,
    name: str,
    secret_hash: str,
    prefix: str,
    expiration: datetime | None,
) -> ClientSecret:
    row = ClientSecret(
        client_id=client_id,
        name=name,
        secret_hash=secret_hash,
        prefix=prefix,
        expiration=expiration,
    )
    s.add(row)
    await s.flush()
    return row


async def find_secret_for_login(
    db: Database, client_id: str, secret_hash: str
) -> Row[int, datetime | None, uuid.UUID, str, bool] | None:
    """(secret id, expiration, tenant id, resource, enabled) of a client's secret, or None."""
    stmt = (
        select(
            ClientSecret.id,
            ClientSecret.expiration,
            ApiClient.tenant_id,
            ApiClient.resource,
            ApiClient.enabled,
        )
        .join(ApiClient, ApiClient.client_id == ClientSecret.client_id)
        .where(ClientSecret.secret_hash == secret_hash, ClientSecret.client_id == client_id)
    )
    return cast(
        "Row[int, datetime | None, uuid.UUID, str, bool] | None", await db.fetch_first(stmt)
    )


async def get_client(s: AsyncSession, client_id: str) -> ApiClient | None:
    return await s.get(ApiClient, client_id)


async def get_tenant_client(
    s: AsyncSession, tenant_id: uuid.UUID, client_id: str
) -> ApiClient | None:
    stmt = select(ApiClient).where(
        ApiClient.client_id == client_id, ApiClient.tenant_id == tenant_id
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def lock_client(s: AsyncSession, client_id: str) -> None:
    """A row lock (PostgreSQL) on the client until the transaction ends: it serialises
    changes to the client's secrets. On SQLite the write transaction already holds the
    database write lock (BEGIN IMMEDIATE)."""
    stmt = select(ApiClient.client_id).where(ApiClient.client_id == client_id)
    await s.execute(stmt.with_for_update())


async def list_secrets(s: AsyncSession, client_id: str) -> list[ClientSecret]:
    stmt = select(ClientSecret).where(ClientSecret.client_id == client_id).order_by(ClientSecret.id)
    return list((await s.execute(stmt)).scalars())


async def remove_secret(s: AsyncSession, secret: ClientSecret) -> None:
    await s.delete(secret)
    await s.flush()


def add_revocation(s: AsyncSession, secret_id: int) -> None:
    s.add(RevokedSecret(secret_id=secret_id))
