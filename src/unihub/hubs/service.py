"""Hub rules: names unique per tenant ignoring case, partial updates, cascade on delete."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from unihub.core.context import AppContext
from unihub.core.database import is_unique_violation
from unihub.core.errors import ApiError, bad_request, not_found
from unihub.core.pagination import PageParams, page_body
from unihub.core.timestamps import format_ts, utcnow
from unihub.core.validation import JsonBody, validate_model
from unihub.hubs import repository as repo
from unihub.hubs.models import Hub
from unihub.hubs.schemas import HubCreate, HubUpdate

_FIELD_COLUMNS = {
    "name": "name",
    "description": "description",
    "close_dormant_conversation": "close_dormant_conversation",
    "status_id": "status_id",
}


def to_wire(hub: Hub | Row[Any]) -> dict[str, Any]:
    """The wire shape, from an ORM hub or a plain row of the hubs table (same attribute names)."""
    out: dict[str, Any] = {
        "hubId": str(hub.id),
        "tenantId": str(hub.tenant_id),
        "name": hub.name,
        "description": hub.description,
    }
    if hub.close_dormant_conversation is not None:
        out["closeDormantConversation"] = hub.close_dormant_conversation
    out["statusId"] = hub.status_id
    out["created"] = format_ts(hub.created)
    out["modified"] = format_ts(hub.modified)
    return out


def hub_not_found(hub_id: uuid.UUID) -> ApiError:
    return not_found(699, f"Hub '{hub_id}' was not found.")


def _duplicate(name: str) -> ApiError:
    return bad_request(600, f"A hub named '{name}' already exists.")


def _name_key(name: str) -> str:
    return name.casefold()


async def create(ctx: AppContext, tenant_id: uuid.UUID, body: JsonBody) -> dict[str, Any]:
    data = validate_model(HubCreate, body.object())
    now = utcnow()
    hub = Hub(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=data.name,
        name_key=_name_key(data.name),
        description=data.description,
        close_dormant_conversation=data.close_dormant_conversation or None,
        status_id=data.status_id,
        created=now,
        modified=now,
    )
    try:
        await ctx.db.transact(lambda s: repo.add(s, hub))
    except IntegrityError as exc:
        if is_unique_violation(exc, "uq_hubs_tenant_id", "hubs.name_key"):
            raise _duplicate(data.name) from None
        raise
    return to_wire(hub)


async def get(ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> dict[str, Any]:
    return to_wire(await require(ctx, tenant_id, hub_id))


async def require(ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Row[Any]:
    """The tenant's hub (a row), or 404/699; other domains call this before reading a body."""
    hub = await repo.get_row(ctx.db, tenant_id, hub_id)
    if hub is None:
        raise hub_not_found(hub_id)
    return hub


async def update(
    ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID, body: JsonBody
) -> dict[str, Any]:
    """The hub is read first so that a bad body on a missing hub answers 404, and the body is
    judged before the write transaction, which then holds SQLite's one writer the least."""
    current = await require(ctx, tenant_id, hub_id)
    changes = validate_model(HubUpdate, body.object()).changes()
    values = {_FIELD_COLUMNS[k]: v for k, v in changes.items()}
    if "close_dormant_conversation" in values and not values["close_dormant_conversation"]:
        values["close_dormant_conversation"] = None  # 0 and null both mean "never"
    if "name" in values:
        values["name_key"] = _name_key(values["name"])
    if not values:
        return to_wire(current)
    values["modified"] = utcnow()
    try:
        hub = await ctx.db.transact(lambda s: repo.update_fields(s, tenant_id, hub_id, values))
    except IntegrityError as exc:
        if is_unique_violation(exc, "uq_hubs_tenant_id", "hubs.name_key"):
            raise _duplicate(str(values.get("name"))) from None
        raise
    if hub is None:  # deleted since it was read
        raise hub_not_found(hub_id)
    return to_wire(hub)


# Work other domains attach to a hub's deletion, run in its transaction (the engine closes
# the hub's open conversations: they outlive their hub, closed). Registered by the app, so
# hubs imports none of the domains above it.
HubDeleted = Callable[[AsyncSession, uuid.UUID, datetime], Awaitable[object]]
_on_delete: list[HubDeleted] = []


def on_delete(hook: HubDeleted) -> None:
    if hook not in _on_delete:
        _on_delete.append(hook)


async def delete(ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> None:
    async with ctx.db.write() as s:
        if not await s.run_sync(lambda sync: repo.remove(sync, tenant_id, hub_id)):
            raise hub_not_found(hub_id)
        now = utcnow()
        for hook in _on_delete:
            await hook(s, hub_id, now)


async def list_page(ctx: AppContext, tenant_id: uuid.UUID, params: PageParams) -> dict[str, Any]:
    total, hubs = await repo.page(ctx.db, tenant_id, params.offset, params.page_size)
    return page_body(params, total, [to_wire(h) for h in hubs])
