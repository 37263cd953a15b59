from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from unihub.commands import service
from unihub.commands.models import ResponseCommand, TransferCommand
from unihub.commands.schemas import (
    ResponseCreate,
    ResponseOut,
    ResponseUpdate,
    TransferCreate,
    TransferOut,
    TransferUpdate,
)
from unihub.core.auth import Context, PortalPrincipal
from unihub.core.errors import COMMON_ERRORS, error_responses
from unihub.core.openapi import json_body
from unihub.core.responses import JSON
from unihub.core.validation import parse_guid

router = APIRouter(prefix="/api/v1/commands", tags=["commands"])

_DELETED: dict[int | str, dict[str, Any]] = {200: {"description": "Deleted; empty body"}}


# --------------------------------------------------------------------------- transfer


@router.post(
    "/transfers/{hubId}",
    response_model=TransferOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    openapi_extra=json_body(TransferCreate),
    summary="Create a transfer command in a hub",
)
async def create_transfer(
    hubId: str, request: Request, principal: PortalPrincipal, ctx: Context
) -> Response:
    hub_id = parse_guid(str(hubId), "hubId")
    body = await request.body()
    return JSON(await service.create_transfer(ctx, principal.tenant_id, hub_id, body))


@router.put(
    "/transfers/{commandId}",
    response_model=TransferOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    openapi_extra=json_body(TransferUpdate),
    summary="Update a transfer command (absent properties stay unchanged)",
)
async def update_transfer(
    commandId: str, request: Request, principal: PortalPrincipal, ctx: Context
) -> Response:
    command_id = parse_guid(str(commandId), "commandId")
    body = await request.body()
    return JSON(await service.update_transfer(ctx, principal.tenant_id, command_id, body))


@router.delete(
    "/transfers/{commandId}",
    responses={**_DELETED, **error_responses(400, 404, *COMMON_ERRORS)},
    summary="Delete a transfer command",
)
async def delete_transfer(commandId: str, principal: PortalPrincipal, ctx: Context) -> Response:
    command_id = parse_guid(str(commandId), "commandId")
    await service.delete(ctx, TransferCommand, principal.tenant_id, command_id)
    return Response(status_code=200)


@router.get(
    "/transfers/{commandId}",
    response_model=TransferOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="Get a transfer command",
)
async def get_transfer(commandId: str, principal: PortalPrincipal, ctx: Context) -> Response:
    command_id = parse_guid(str(commandId), "commandId")
    return JSON(await service.get(ctx, TransferCommand, principal.tenant_id, command_id))


@router.get(
    "/transfers/hub/{hubId}",
    response_model=list[TransferOut],
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="List a hub's transfer commands (creation order)",
)
async def list_transfers(hubId: str, principal: PortalPrincipal, ctx: Context) -> Response:
    hub_id = parse_guid(str(hubId), "hubId")
    return JSON(await service.list_for_hub(ctx, TransferCommand, principal.tenant_id, hub_id))


# --------------------------------------------------------------------------- response


@router.post(
    "/responses/{hubId}",
    response_model=ResponseOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    openapi_extra=json_body(ResponseCreate),
    summary="Create a response command in a hub",
)
async def create_response(
    hubId: str, request: Request, principal: PortalPrincipal, ctx: Context
) -> Response:
    hub_id = parse_guid(str(hubId), "hubId")
    body = await request.body()
    return JSON(await service.create_response(ctx, principal.tenant_id, hub_id, body))


@router.put(
    "/responses/{commandId}",
    response_model=ResponseOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    openapi_extra=json_body(ResponseUpdate),
    summary="Update a response command (absent properties stay unchanged)",
)
async def update_response(
    commandId: str, request: Request, principal: PortalPrincipal, ctx: Context
) -> Response:
    command_id = parse_guid(str(commandId), "commandId")
    body = await request.body()
    return JSON(await service.update_response(ctx, principal.tenant_id, command_id, body))


@router.delete(
    "/responses/{commandId}",
    responses={**_DELETED, **error_responses(400, 404, *COMMON_ERRORS)},
    summary="Delete a response command",
)
async def delete_response(commandId: str, principal: PortalPrincipal, ctx: Context) -> Response:
    command_id = parse_guid(str(commandId), "commandId")
    await service.delete(ctx, ResponseCommand, principal.tenant_id, command_id)
    return Response(status_code=200)


@router.get(
    "/responses/{commandId}",
    response_model=ResponseOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="Get a response command",
)
async def get_response(commandId: str, principal: PortalPrincipal, ctx: Context) -> Response:
    command_id = parse_guid(str(commandId), "commandId")
    return JSON(await service.get(ctx, ResponseCommand, principal.tenant_id, command_id))


@router.get(
    "/responses/hub/{hubId}",
    response_model=list[ResponseOut],
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="List a hub's response commands (creation order)",
)
async def list_responses(hubId: str, principal: PortalPrincipal, ctx: Context) -> Response:
    hub_id = parse_guid(str(hubId), "hubId")
    return JSON(await service.list_for_hub(ctx, ResponseCommand, principal.tenant_id, hub_id))
