"""Transfer and response command rules: names unique per hub ignoring case, partial updates,
response payloads validated with the activity schemas the engine sends them with."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from unihub.commands import repository as repo
from unihub.commands.models import ResponseCommand, TransferCommand
from unihub.commands.repository import C
from unihub.commands.schemas import (
    ResponseCreate,
    ResponseUpdate,
    TransferCreate,
    TransferUpdate,
    check_responses,
    raw_value,
)
from unihub.core.context import AppContext
from unihub.core.database import Base, is_unique_violation, utcnow
from unihub.core.errors import ApiError, ErrorItem, bad_request, not_found
from unihub.core.schemas import ApiModel
from unihub.core.validation import parse_json_object, validate_model
from unihub.hubs import repository as hubs_repo
from unihub.hubs.service import hub_not_found

P = TypeVar("P", bound=ApiModel)

_KIND: dict[type[Base], str] = {
    TransferCommand: "Transfer command",
    ResponseCommand: "Response command",
}
_UNIQUE: dict[type[Base], tuple[str, str]] = {
    TransferCommand: ("uq_transfer_commands_hub_id", "transfer_commands.name_key"),
    ResponseCommand: ("uq_response_commands_hub_id", "response_commands.name_key"),
}


def name_key(name: str) -> str:
    return name.casefold()


def _not_found(model: type[Base], command_id: uuid.UUID) -> ApiError:
    # The reference has no command-specific code: 105 is its generic "resource not found".
    return not_found(105, f"{_KIND[model]} '{command_id}' was not found.")


def _duplicate(model: type[Base], name: str) -> ApiError:
    # 600 ("Name already exists"), as for hubs: the reference has no command-specific code.
    return bad_request(600, f"{_KIND[model]} named '{name}' already exists in this hub.")


def _is_duplicate(model: type[Base], exc: IntegrityError) -> bool:
    constraint, column = _UNIQUE[model]
    return is_unique_violation(exc, constraint, column)


def transfer_wire(c: TransferCommand) -> dict[str, Any]:
    out: dict[str, Any] = {"commandId": str(c.id), "hubId": str(c.hub_id), "name": c.name}
    if c.description is not None:
        out["description"] = c.description
    out["url"] = c.url
    out["linkDescription"] = c.link_description
    out["mountDelay"] = c.mount_delay
    return out


def response_wire(c: ResponseCommand) -> dict[str, Any]:
    out: dict[str, Any] = {"commandId": str(c.id), "hubId": str(c.hub_id), "name": c.name}
    if c.category is not None:
        out["category"] = c.category
    if c.description is not None:
        out["description"] = c.description
    out["integrationTypeId"] = c.integration_type
    out["type"] = c.type
    out["responses"] = c.responses
    return out


def _blank_to_none(value: str | None) -> str | None:
    return value or None


# --------------------------------------------------------------------------- shared


async def _require_hub(s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> None:
    if await hubs_repo.get(s, tenant_id, hub_id) is None:
        raise hub_not_found(hub_id)


async def get(
    ctx: AppContext,
    model: type[C],
    tenant_id: uuid.UUID,
    command_id: uuid.UUID,
) -> dict[str, Any]:
    async with ctx.db.read() as s:
        command = await repo.get(s, model, tenant_id, command_id)
    if command is None:
        raise _not_found(model, command_id)
    return _wire(command)


async def delete(
    ctx: AppContext,
    model: type[C],
    tenant_id: uuid.UUID,
    command_id: uuid.UUID,
) -> None:
    async with ctx.db.write() as s:
        if not await repo.remove(s, model, tenant_id, command_id):
            raise _not_found(model, command_id)


async def list_for_hub(
    ctx: AppContext,
    model: type[C],
    tenant_id: uuid.UUID,
    hub_id: uuid.UUID,
) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        await _require_hub(s, tenant_id, hub_id)
        commands = await repo.list_for_hub(s, model, hub_id)
    return [_wire(c) for c in commands]


def _wire(command: TransferCommand | ResponseCommand) -> dict[str, Any]:
    if isinstance(command, TransferCommand):
        return transfer_wire(command)
    return response_wire(command)


# --------------------------------------------------------------------------- transfer


async def create_transfer(
    ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID, raw: bytes
) -> dict[str, Any]:
    try:
        async with ctx.db.write() as s:
            await _require_hub(s, tenant_id, hub_id)
            data = validate_model(TransferCreate, parse_json_object(raw))
            now = utcnow()
            command = TransferCommand(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                hub_id=hub_id,
                name=data.name,
                name_key=name_key(data.name),
                description=_blank_to_none(data.description),
                url=data.url,
                link_description=data.link_description,
                mount_delay=data.mount_delay or 0,
                created=now,
                modified=now,
            )
            await repo.add(s, command)
    except IntegrityError as exc:
        if _is_duplicate(TransferCommand, exc):
            raise _duplicate(TransferCommand, data.name) from None
        raise
    return transfer_wire(command)


async def update_transfer(
    ctx: AppContext, tenant_id: uuid.UUID, command_id: uuid.UUID, raw: bytes
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    try:
        async with ctx.db.write() as s:
            command = await repo.get(s, TransferCommand, tenant_id, command_id)
            if command is None:
                raise _not_found(TransferCommand, command_id)
            changes = validate_model(TransferUpdate, parse_json_object(raw)).changes()
            values = dict(changes)
            if "description" in values:
                values["description"] = _blank_to_none(values["description"])
            if "mount_delay" in values:
                values["mount_delay"] = values["mount_delay"] or 0
            if "name" in values:
                values["name_key"] = name_key(values["name"])
            if values:
                values["modified"] = utcnow()
                await repo.update_fields(s, command, values)
    except IntegrityError as exc:
        if _is_duplicate(TransferCommand, exc):
            raise _duplicate(TransferCommand, str(changes.get("name"))) from None
        raise
    return transfer_wire(command)


# --------------------------------------------------------------------------- response


def _with_responses(
    model: type[P],
    data: dict[str, Any],
    stored_type: str | None = None,
    stored_responses: list[dict[str, Any]] | None = None,
) -> tuple[P, list[dict[str, Any]] | None]:
    """The command's properties and its responses in wire form, or one 400 listing every
    problem of both (the elements are checked even when another property is wrong)."""
    errors: list[ErrorItem] = []
    parsed: P | None = None
    try:
        parsed = validate_model(model, data)
    except ApiError as exc:
        errors.extend(exc.errors)
    kind = raw_value(data, "type") or stored_type
    responses = raw_value(data, "responses")
    if responses is None and raw_value(data, "type") is not None:
        # A new type must fit the responses already stored.
        responses = stored_responses
    wire: list[dict[str, Any]] | None = None
    if responses is not None:
        wire, element_errors = check_responses(kind, responses)
        errors.extend(element_errors)
    if errors or parsed is None:
        raise ApiError(400, errors)
    return parsed, wire


async def create_response(
    ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID, raw: bytes
) -> dict[str, Any]:
    try:
        async with ctx.db.write() as s:
            await _require_hub(s, tenant_id, hub_id)
            parsed, wire = _with_responses(ResponseCreate, parse_json_object(raw))
            now = utcnow()
            command = ResponseCommand(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                hub_id=hub_id,
                name=parsed.name,
                name_key=name_key(parsed.name),
                category=_blank_to_none(parsed.category),
                description=_blank_to_none(parsed.description),
                integration_type=parsed.integration_type_id,
                type=parsed.type,
                responses=wire or [],  # never empty once ResponseCreate passed
                created=now,
                modified=now,
            )
            await repo.add(s, command)
    except IntegrityError as exc:
        if _is_duplicate(ResponseCommand, exc):
            raise _duplicate(ResponseCommand, parsed.name) from None
        raise
    return response_wire(command)


async def update_response(
    ctx: AppContext, tenant_id: uuid.UUID, command_id: uuid.UUID, raw: bytes
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    try:
        async with ctx.db.write() as s:
            command = await repo.get(s, ResponseCommand, tenant_id, command_id)
            if command is None:
                raise _not_found(ResponseCommand, command_id)
            parsed, wire = _with_responses(
                ResponseUpdate, parse_json_object(raw), command.type, command.responses
            )
            changes = parsed.changes()
            values: dict[str, Any] = {}
            for key, value in changes.items():
                if key in ("category", "description"):
                    values[key] = _blank_to_none(value)
                elif key == "integration_type_id":
                    values["integration_type"] = value
                elif key == "name":
                    values["name"] = value
                    values["name_key"] = name_key(value)
                elif key == "type":
                    values["type"] = value
            if wire is not None:
                values["responses"] = wire
            if values:
                values["modified"] = utcnow()
                await repo.update_fields(s, command, values)
    except IntegrityError as exc:
        if _is_duplicate(ResponseCommand, exc):
            raise _duplicate(ResponseCommand, str(changes.get("name"))) from None
        raise
    return response_wire(command)


# --------------------------------------------------------------------------- engine


async def find_response_command(
    session: AsyncSession, hub_id: uuid.UUID, name: str
) -> ResponseCommand | None:
    """The hub's response command called `name` (ignoring case), for `::name` in a chat."""
    return await repo.find_by_name(session, ResponseCommand, hub_id, name_key(name.strip()))


async def list_response_commands(session: AsyncSession, hub_id: uuid.UUID) -> list[ResponseCommand]:
    """The hub's response commands in creation order (for `::x --list`)."""
    return await repo.list_for_hub(session, ResponseCommand, hub_id)
