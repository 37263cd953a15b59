from __future__ import annotations

from types import GenericAlias
from typing import Any

from fastapi import APIRouter, Request, Response

from unihub.commands import service
from unihub.commands.repository import C
from unihub.commands.service import RESPONSE, TRANSFER, CommandKind
from unihub.core.auth import PortalCaller
from unihub.core.errors import COMMON_ERRORS, error_responses
from unihub.core.openapi import json_body
from unihub.core.responses import JSON
from unihub.core.validation import JsonBody, parse_guid

router = APIRouter(prefix="/api/v1/commands", tags=["commands"])

_DELETED: dict[int | str, dict[str, Any]] = {200: {"description": "Deleted; empty body"}}
_ERRORS = error_responses(400, 404, *COMMON_ERRORS)


def _add_routes(kind: CommandKind[C]) -> None:
    """The five routes of one command kind; `name=` keeps the OpenAPI operation ids."""
    noun, base, out = kind.noun, f"/{kind.path}", kind.out_schema

    @router.post(
        base + "/{hubId}",
        name=f"create_{noun}",
        response_model=out,
        responses=_ERRORS,
        openapi_extra=json_body(kind.create_schema),
        summary=f"Create a {noun} command in a hub",
    )
    async def create(hubId: str, request: Request, caller: PortalCaller) -> Response:
        hub_id = parse_guid(str(hubId), "hubId")
        body = JsonBody(await request.body())
        return JSON(await service.create(caller.ctx, kind, caller.tenant_id, hub_id, body))

    @router.put(
        base + "/{commandId}",
        name=f"update_{noun}",
        response_model=out,
        responses=_ERRORS,
        openapi_extra=json_body(kind.update_schema),
        summary=f"Update a {noun} command (absent properties stay unchanged)",
    )
    async def update(commandId: str, request: Request, caller: PortalCaller) -> Response:
        command_id = parse_guid(str(commandId), "commandId")
        body = JsonBody(await request.body())
        return JSON(await service.update(caller.ctx, kind, caller.tenant_id, command_id, body))

    @router.delete(
        base + "/{commandId}",
        name=f"delete_{noun}",
        responses={**_DELETED, **_ERRORS},
        summary=f"Delete a {noun} command",
    )
    async def delete(commandId: str, caller: PortalCaller) -> Response:
        command_id = parse_guid(str(commandId), "commandId")
        await service.delete(caller.ctx, kind, caller.tenant_id, command_id)
        return Response(status_code=200)

    @router.get(
        base + "/{commandId}",
        name=f"get_{noun}",
        response_model=out,
        responses=_ERRORS,
        summary=f"Get a {noun} command",
    )
    async def get(commandId: str, caller: PortalCaller) -> Response:
        command_id = parse_guid(str(commandId), "commandId")
        return JSON(await service.get(caller.ctx, kind, caller.tenant_id, command_id))

    @router.get(
        base + "/hub/{hubId}",
        name=f"list_{noun}s",
        response_model=GenericAlias(list, (out,)),
        responses=_ERRORS,
        summary=f"List a hub's {noun} commands (creation order)",
    )
    async def list_for_hub(hubId: str, caller: PortalCaller) -> Response:
        hub_id = parse_guid(str(hubId), "hubId")
        return JSON(await service.list_for_hub(caller.ctx, kind, caller.tenant_id, hub_id))


_add_routes(TRANSFER)
_add_routes(RESPONSE)
