from __future__ import annotations

from fastapi import APIRouter, Request, Response

from unihub.core.auth import PortalCaller
from unihub.core.errors import COMMON_ERRORS, error_responses
from unihub.core.openapi import json_body
from unihub.core.pagination import Page, Paging
from unihub.core.responses import JSON
from unihub.core.validation import JsonBody, parse_guid
from unihub.hubs import service
from unihub.hubs.schemas import HubCreate, HubOut, HubUpdate

router = APIRouter(prefix="/api/v1/hubs", tags=["hubs"])


@router.post(
    "",
    response_model=HubOut,
    responses=error_responses(400, *COMMON_ERRORS),
    openapi_extra=json_body(HubCreate),
    summary="Create a hub",
)
async def create_hub(request: Request, caller: PortalCaller) -> Response:
    body = JsonBody(await request.body())
    return JSON(await service.create(caller.ctx, caller.tenant_id, body))


@router.put(
    "/{hubId}",
    response_model=HubOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    openapi_extra=json_body(HubUpdate),
    summary="Update a hub (absent properties stay unchanged)",
)
async def update_hub(hubId: str, request: Request, caller: PortalCaller) -> Response:
    hub_id = parse_guid(str(hubId), "hubId")
    body = JsonBody(await request.body())
    return JSON(await service.update(caller.ctx, caller.tenant_id, hub_id, body))


@router.delete(
    "/{hubId}",
    responses={
        200: {"description": "Deleted; empty body"},
        **error_responses(400, 404, *COMMON_ERRORS),
    },
    summary="Delete a hub with its integrations and commands",
)
async def delete_hub(hubId: str, caller: PortalCaller) -> Response:
    await service.delete(caller.ctx, caller.tenant_id, parse_guid(str(hubId), "hubId"))
    return Response(status_code=200)


@router.get(
    "/{hubId}",
    response_model=HubOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="Get a hub",
)
async def get_hub(hubId: str, caller: PortalCaller) -> Response:
    hub_id = parse_guid(str(hubId), "hubId")
    return JSON(await service.get(caller.ctx, caller.tenant_id, hub_id))


@router.get(
    "",
    response_model=Page[HubOut],
    responses=error_responses(400, *COMMON_ERRORS),
    summary="List the tenant's hubs, a page at a time",
)
async def list_hubs(paging: Paging, caller: PortalCaller) -> Response:
    return JSON(await service.list_page(caller.ctx, caller.tenant_id, paging))
