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
from unihub.core.database import is_unique_violation
from unihub.core.errors import ApiError, ErrorItem, bad_request, not_found
from unihub.core.schemas import ApiModel
from unihub.core.timestamps import utcnow
from unihub.core.validation import (
    get_ignoring_case,
    parse_json_object,
    validate_model,
    validate_model_into,
)
from unihub.hubs import repository as hubs_repo
from unihub.hubs.service import hub_not_found

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
    new_values: Callable[[bytes], dict[str, Any]]
    # Stored command and body -> changed column values (without name_key and `modified`).
    changed_values: Callable[[C, bytes], dict[str, Any]]

    def not_found(self, command_id: uuid.UUID) -> ApiError:
        # The reference has no command-specific code: 105 is its generic "resource not found".
        return not_found(105, f"{self.label} '{command_id}' was not found.")

    def duplicate(self, name: str) -> ApiError:
        # 600 ("Name already exists"), as for hubs: the reference has no command-specific code.
        return bad_request(600, f"{self.label} named '{name}' already exists in this hub.")

    def is_duplicate(self, exc: IntegrityError) -> bool:
        constraint, column = self.unique
        return is_unique_violation(exc, constraint, column)


# --------------------------------------------------------------------------- transfer


def transfer_wire(c: TransferCommand) -> dict[str, Any]:
    out: dict[str, Any] = {"commandId": str(c.id), "hubId": str(c.hub_id), "name": c.name}
    if c.description is not None:
        out["description"] = c.description
    out["url"] = c.url
    out["linkDescription"] = c.link_description
    out["mountDelay"] = c.mount_delay
    return out


def _new_transfer(raw: bytes) -> dict[str, Any]:
    data = validate_model(TransferCreate, parse_json_object(raw))
    return {
        "name": data.name,
        "description": _blank_to_none(data.description),
        "url": data.url,
        "link_description": data.link_description,
        "mount_delay": data.mount_delay or 0,
    }


def _changed_transfer(command: TransferCommand, raw: bytes) -> dict[str, Any]:
    values = validate_model(TransferUpdate, parse_json_object(raw)).changes()
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


def _new_response(raw: bytes) -> dict[str, Any]:
    parsed, wire = _with_responses(ResponseCreate, parse_json_object(raw))
    return {
        "name": parsed.name,
        "category": _blank_to_none(parsed.category),
        "description": _blank_to_none(parsed.description),
        "integration_type": parsed.integration_type_id,
        "type": parsed.type,
        "responses": wire or [],  # never empty once ResponseCreate passed
    }


def _changed_response(command: ResponseCommand, raw: bytes) -> dict[str, Any]:
    parsed, wire = _with_responses(
        ResponseUpdate, parse_json_object(raw), command.type, command.responses
    )
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
)


# --------------------------------------------------------------------------- shared rules


async def _require_hub(s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> None:
    if await hubs_repo.get(s, tenant_id, hub_id) is None:
        raise hub_not_found(hub_id)


@contextmanager
def _name_taken_is_600(kind: CommandKind[C], values: dict[str, Any]) -> Iterator[None]:
    """Turn the per-hub name uniqueness violation into 400/600 naming `values["name"]`."""
    try:
        yield
    except IntegrityError as exc:
        if kind.is_duplicate(exc):
            raise kind.duplicate(str(values.get("name"))) from None
        raise


async def create(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, hub_id: uuid.UUID, raw: bytes
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    with _name_taken_is_600(kind, values):
        async with ctx.db.write() as s:
            await _require_hub(s, tenant_id, hub_id)
            values.update(kind.new_values(raw))
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
            await repo.add(s, command)
    return kind.wire(command)


async def update(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, command_id: uuid.UUID, raw: bytes
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    with _name_taken_is_600(kind, values):
        async with ctx.db.write() as s:
            command = await repo.get(s, kind.model, tenant_id, command_id)
            if command is None:
                raise kind.not_found(command_id)
            values.update(kind.changed_values(command, raw))
            if "name" in values:
                values["name_key"] = name_key(values["name"])
            if values:
                values["modified"] = utcnow()
                await repo.update_fields(s, command, values)
    return kind.wire(command)


async def get(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, command_id: uuid.UUID
) -> dict[str, Any]:
    async with ctx.db.read() as s:
        command = await repo.get(s, kind.model, tenant_id, command_id)
    if command is None:
        raise kind.not_found(command_id)
    return kind.wire(command)


async def delete(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, command_id: uuid.UUID
) -> None:
    async with ctx.db.write() as s:
        if not await repo.remove(s, kind.model, tenant_id, command_id):
            raise kind.not_found(command_id)


async def list_for_hub(
    ctx: AppContext, kind: CommandKind[C], tenant_id: uuid.UUID, hub_id: uuid.UUID
) -> list[dict[str, Any]]:
    async with ctx.db.read() as s:
        await _require_hub(s, tenant_id, hub_id)
        commands = await repo.list_for_hub(s, kind.model, hub_id)
    return [kind.wire(c) for c in commands]


# --------------------------------------------------------------------------- engine


async def find_response_command(
    session: AsyncSession, hub_id: uuid.UUID, name: str
) -> ResponseCommand | None:
    """The hub's response command called `name` (ignoring case), for `::name` in a chat."""
    return await repo.find_by_name(session, ResponseCommand, hub_id, name_key(name.strip()))


async def list_response_commands(session: AsyncSession, hub_id: uuid.UUID) -> list[ResponseCommand]:
    """The hub's response commands in creation order (for `::x --list`)."""
    return await repo.list_for_hub(session, ResponseCommand, hub_id)
