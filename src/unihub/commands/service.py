"""Transfer and response command rules: names unique per hub ignoring case, partial updates,
response payloads validated with the activity schemas the engine sends them with."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from unihub.commands import repository as repo
from unihub.commands.models import ResponseCommand, TransferCommand
from unihub.commands.repository import C
from unihub.commands.schemas import (
    ResponseCreate,
    ResponseOut,
    ResponseUpdate,
    TransferCreate,
    TransferOut,
    TransferUpdate,
    check_responses,
)
from unihub.core.context import AppContext
from unihub.core.database import is_foreign_key_violation, is_unique_violation
from unihub.core.errors import ApiError, ErrorItem, bad_request, not_found
from unihub.core.schemas import ApiModel
from unihub.core.timestamps import utcnow
from unihub.core.validation import (
    JsonBody,
    get_ignoring_case,
    validate_model,
    validate_model_into,
)
from unihub.hubs import service as hubs_service

P = TypeVar("P", bound=ApiModel)


def name_key(name: str) -> str:
    return name.casefold()


def _blank_to_none(value: str | None) -> str | None:
    return value or None


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class CommandKind(Generic[C]):
    """What differs between transfer and response commands; the rules they share (hub and
    existence checks, name uniqueness, partial updates) take one of these."""

    model: type[C]
    label: str  # "Transfer command", in error descriptions
    noun: str  # "transfer", in route names and summaries
    path: str  # "transfers", the URL segment
    create_schema: type[ApiModel]
    update_schema: type[ApiModel]
    out_schema: type[ApiModel]
    unique: tuple[str, str]  # (constraint, column) of the per-hub name_key uniqueness
    wire: Callable[[C], dict[str, Any]]
    # Body -> column values of a new command (without ids, name_key and timestamps).
    new_values: Callable[[dict[str, Any]], dict[str, Any]]
    # Stored command and body -> changed column values (without name_key and `modified`).
    changed_values: Callable[[C, dict[str, Any]], dict[str, Any]]
    # The stored columns `changed_values` reads: an update is written only while they hold
    # what it was validated against.
    validated_against: tuple[str, ...] = ()

    def not_found(self, command_id: uuid.UUID) -> ApiError:
        # The reference has no command-specific code: 105 is its generic "resource not found".
        return not_found(105, f"{self.label} '{command_id}' was not found.")

    def duplicate(self, name: str) -> ApiError:
        # 600 ("Name already exists"), as for hubs: the reference has no command-specific code.
        return bad_request(600, f"{self.label} named '{name}' already exists in this hub.")

    def is_duplicate(self, exc: IntegrityError) -> bool:
        constraint, column = self.unique
        return is_unique_violation(exc, constraint, column)

    def basis(self, command: C) -> tuple[Any, ...]:
        return tuple(getattr(command, column) for column in self.validated_against)


# --------------------------------------------------------------------------- transfer


def transfer_wire(c: TransferCommand) -> dict[str, Any]:
    out: dict[str, Any] = {"commandId": str(c.id), "hubId": str(c.hub_id), "name": c.name}
    if c.description is not None:
        out["description"] = c.description
    out["url"] = c.url
    out["linkDescription"] = c.link_description
    out["mountDelay"] = c.mount_delay
    return out


def _new_transfer(body: dict[str, Any]) -> dict[str, Any]:
    data = validate_model(TransferCreate, body)
    return {
        "name": data.name,
        "description": _blank_to_none(data.description),
        "url": data.url,
        "link_description": data.link_description,
        "mount_delay": data.mount_delay or 0,
    }


def _changed_transfer(command: TransferCommand, body: dict[str, Any]) -> dict[str, Any]:
    values = validate_model(TransferUpdate, body).changes()
    if "description" in values:
        values["description"] = _blank_to_none(values["description"])
    if "mount_delay" in values:
        values["mount_delay"] = values["mount_delay"] or 0
    return values


TRANSFER: CommandKind[TransferCommand] = CommandKind(
    model=TransferCommand,
    label="Transfer command",
    noun="transfer",
    path="transfers",
    create_schema=TransferCreate,
    update_schema=TransferUpdate,
    out_schema=TransferOut,
    unique=("uq_transfer_commands_hub_id", "transfer_commands.name_key"),
    wire=transfer_wire,
    new_values=_new_transfer,
    changed_values=_changed_transfer,
)


# --------------------------------------------------------------------------- response


def response_summary(c: ResponseCommand) -> dict[str, Any]:
    """The command without ids and payloads (also what `::x --list` shows in a chat)."""
    out: dict[str, Any] = {"name": c.name}
    if c.category is not None:
        out["category"] = c.category
    if c.description is not None:
        out["description"] = c.description
    out["integrationTypeId"] = c.integration_type
    out["type"] = c.type
    return out


def response_wire(c: ResponseCommand) -> dict[str, Any]:
    return {
        "commandId": str(c.id),
        "hubId": str(c.hub_id),
        **response_summary(c),
        "responses": c.responses,
    }


def _with_responses(
    model: type[P],
    data: dict[str, Any],
    stored_type: str | None = None,
    stored_responses: list[dict[str, Any]] | None = None,
) -> tuple[P, list[dict[str, Any]] | None]:
    """The command's properties and its responses in wire form, or one 400 listing every
    problem of both (the elements are checked even when another property is wrong)."""
    errors: list[ErrorItem] = []
    parsed = validate_model_into(model, data, errors)
    sent_type = get_ignoring_case(data, "type")
    kind = sent_type or stored_type
    responses = get_ignoring_case(data, "responses")
    if responses is None and sent_type is not None:
        # A new type must fit the responses already stored.
        responses = stored_responses
    wire: list[dict[str, Any]] | None = None
    if responses is not None:
        wire, element_errors = check_responses(kind, responses)
        errors.extend(element_errors)
    if errors or parsed is None:
        raise ApiError(400, errors)
    return parsed, wire


def _new_response(body: dict[str, Any]) -> dict[str, Any]:
    parsed, wire = _with_responses(ResponseCreate, body)
    return {
        "name": parsed.name,
        "category": _blank_to_none(parsed.category),
        "description": _blank_to_none(parsed.description),
        "integration_type": parsed.integration_type_id,
        "type": parsed.type,
        "responses": wire or [],  # never empty once ResponseCreate passed
    }


def _changed_response(command: ResponseCommand, body: dict[str, Any]) -> dict[str, Any]:
    parsed, wire = _with_responses(ResponseUpdate, body, command.type, command.responses)
    values: dict[str, Any] = {}
    for key, value in parsed.changes().items():
        if key in ("category", "description"):
            values[key] = _blank_to_none(value)
        elif key == "integration_type_id":
            values["integration_type"] = value
        elif key in ("name", "type"):
            values[key] = value
    if wire is not None:
        values["responses"] = wire
    return values


RESPONSE: CommandKind[ResponseCommand] = CommandKind(
    model=ResponseCommand,
    label="Response command",
    noun="response",
    path="responses",
    create_schema=ResponseCreate,
    update_schema=ResponseUpdate,
    out_schema=ResponseOut,
    unique=("uq_response_commands_hub_id", "response_commands.name_key"),
    wire=response_wire,
    new_values=_new_response,
    changed_values=_changed_response,
    validated_against=("type", "responses"),
)


# --------------------------------------------------------------------------- shared rules


async def require(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, command_id: uuid.UUID
) -> C:
    """The tenant's command of `kind`, or its 404/105: read before the body is judged."""
    async with ctx.db.read() as s:
        command = await repo.get(s, kind.model, tenant_id, command_id)
    if command is None:
        raise kind.not_found(command_id)
    return command


@contextmanager
def _constraints(
    kind: CommandKind[C], values: dict[str, Any], hub_id: uuid.UUID | None = None
) -> Iterator[None]:
    """Constraint violations as answers: the per-hub name taken is 400/600 naming
    `values["name"]`; with `hub_id` (a create), a hub deleted since its check is its 404."""
    try:
        yield
    except IntegrityError as exc:
        if kind.is_duplicate(exc):
            raise kind.duplicate(str(values.get("name"))) from None
        if hub_id is not None and is_foreign_key_violation(exc):
            raise hubs_service.hub_not_found(hub_id) from None
        raise


async def create(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, hub_id: uuid.UUID, body: JsonBody
) -> dict[str, Any]:
    await hubs_service.require(ctx, tenant_id, hub_id)
    values = kind.new_values(body.object())
    now = utcnow()
    command = kind.model(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        hub_id=hub_id,
        name_key=name_key(values["name"]),
        created=now,
        modified=now,
        **values,
    )
    with _constraints(kind, values, hub_id):
        async with ctx.db.write() as s:
            await repo.add(s, command)
    return kind.wire(command)


async def update(
    ctx: AppContext,
    kind: CommandKind[C],
    tenant_id: uuid.UUID,
    command_id: uuid.UUID,
    body: JsonBody,
) -> dict[str, Any]:
    """The body is judged against the command as read, outside the write transaction; an
    update that changed what it was judged against in between makes it read and judge again."""
    stored = await require(ctx, kind, tenant_id, command_id)
    data = body.object()
    while True:
        values = kind.changed_values(stored, data)
        if "name" in values:
            values["name_key"] = name_key(values["name"])
        if not values:
            return kind.wire(stored)
        values["modified"] = utcnow()
        with _constraints(kind, values):
            written = await _write_unless_changed(ctx, kind, stored, values)
        if written is not None:
            return kind.wire(written)
        stored = await require(ctx, kind, tenant_id, command_id)  # 404 once it is deleted


async def _write_unless_changed(
    ctx: AppContext, kind: CommandKind[C], stored: C, values: dict[str, Any]
) -> C | None:
    """The command with `values` written, or None (nothing written) when it was deleted or
    its `validated_against` columns changed since `stored` was read."""
    async with ctx.db.write() as s:
        # Locked (PostgreSQL) until commit, so no update lands between this check and ours.
        command = await repo.get(s, kind.model, stored.tenant_id, stored.id, lock=True)
        if command is None or kind.basis(command) != kind.basis(stored):
            return None
        await repo.update_fields(s, command, values)
    return command


async def get(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, command_id: uuid.UUID
) -> dict[str, Any]:
    return kind.wire(await require(ctx, kind, tenant_id, command_id))


async def delete(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, command_id: uuid.UUID
) -> None:
    async with ctx.db.write() as s:
        if not await repo.remove(s, kind.model, tenant_id, command_id):
            raise kind.not_found(command_id)


async def list_for_hub(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, hub_id: uuid.UUID
) -> list[dict[str, Any]]:
    await hubs_service.require(ctx, tenant_id, hub_id)
    async with ctx.db.read() as s:
        commands = await repo.list_for_hub(s, kind.model, hub_id)
    return [kind.wire(c) for c in commands]


# --------------------------------------------------------------------------- engine


async def find_response_command(
    session: AsyncSession, hub_id: uuid.UUID, name: str
) -> ResponseCommand | None:
    """The hub's response command called `name` (ignoring case), for `::name` in a chat."""
    return await repo.find_by_name(session, ResponseCommand, hub_id, name_key(name.strip()))


async def find_transfer_command(
    session: AsyncSession, hub_id: uuid.UUID, name: str
) -> TransferCommand | None:
    """The hub's transfer command called `name` (ignoring case), for `::trans -n name`."""
    return await repo.find_by_name(session, TransferCommand, hub_id, name_key(name.strip()))


async def list_response_commands(session: AsyncSession, hub_id: uuid.UUID) -> list[ResponseCommand]:
    """The hub's response commands in creation order (for `::x --list`)."""
    return await repo.list_for_hub(session, ResponseCommand, hub_id)
