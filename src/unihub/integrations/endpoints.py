from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from unihub.channels.types import ChannelId, channel_from
from unihub.core.auth import PortalCaller
from unihub.core.errors import COMMON_ERRORS, ApiError, error_responses
from unihub.core.openapi import json_body
from unihub.core.pagination import Page, Paging
from unihub.core.responses import JSON
from unihub.core.validation import JsonBody, parse_guid
from unihub.integrations import service
from unihub.integrations.schemas import (
    IntegrationCreate,
    IntegrationOut,
    IntegrationUpdate,
    SlackAuthorizeOut,
)

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


@router.get(
    "/slack/authorize",
    response_model=SlackAuthorizeOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="Start a Slack install: the authorize URL and its single-use nonce (10 minutes)",
)
async def slack_authorize(
    caller: PortalCaller,
    hubId: Annotated[str, Query(description="The hub the Slack integration will belong to")],
) -> Response:
    hub_id = parse_guid(hubId, "hubId")
    return JSON(await service.slack_authorize(caller.ctx, caller.tenant_id, hub_id))


@router.post(
    "/hubs/{hubId}",
    response_model=IntegrationOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    openapi_extra=json_body(IntegrationCreate),
    summary="Create an integration in a hub (or, when the id names an integration, update it)",
)
async def create_integration(hubId: str, request: Request, caller: PortalCaller) -> Response:
    target = parse_guid(hubId, "hubId")
    body = JsonBody(await request.body())
    return JSON(await service.create_or_update(caller.ctx, caller.tenant_id, target, body))


@router.put(
    "/{integrationId}",
    response_model=IntegrationOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    openapi_extra=json_body(IntegrationUpdate),
    summary="Update an integration (configuration, when given, is replaced whole)",
)
async def update_integration(
    integrationId: str, request: Request, caller: PortalCaller
) -> Response:
    integration_id = parse_guid(integrationId, "integrationId")
    body = JsonBody(await request.body())
    return JSON(await service.update(caller.ctx, caller.tenant_id, integration_id, body))


@router.get(
    "/hubs/{hubId}/{channelType}",
    response_model=list[IntegrationOut],
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="A hub's integrations of one channel type (name any case, or number)",
)
async def list_by_channel(hubId: str, channelType: str, caller: PortalCaller) -> Response:
    hub_id = parse_guid(hubId, "hubId")
    channel = channel_from(int(channelType) if channelType.isdigit() else channelType)
    if channel is None:
        allowed = ", ".join(f"{c.name} ({c.value})" for c in ChannelId)
        raise ApiError.one(
            400,
            206,
            f"Value '{channelType[:64]}' of 'channelType' is not a channel type; "
            f"allowed: {allowed}.",
        )
    return JSON(await service.list_by_channel(caller.ctx, caller.tenant_id, hub_id, channel))


@router.get(
    "/{integrationId}",
    response_model=IntegrationOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="Get an integration",
)
async def get_integration(integrationId: str, caller: PortalCaller) -> Response:
    integration_id = parse_guid(integrationId, "integrationId")
    return JSON(await service.get(caller.ctx, caller.tenant_id, integration_id))


@router.delete(
    "/{integrationId}",
    responses={
        200: {"description": "Deleted; empty body"},
        **error_responses(400, 404, *COMMON_ERRORS),
    },
    summary="Delete an integration",
)
async def delete_integration(integrationId: str, caller: PortalCaller) -> Response:
    await service.delete(caller.ctx, caller.tenant_id, parse_guid(integrationId, "integrationId"))
    return Response(status_code=200)


@router.get(
    "",
    response_model=Page[IntegrationOut],
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="List the tenant's integrations, optionally of one hub, a page at a time",
)
async def list_integrations(
    paging: Paging,
    caller: PortalCaller,
    hubId: Annotated[str | None, Query(description="Only this hub's integrations")] = None,
) -> Response:
    hub_id = parse_guid(hubId, "hubId") if hubId is not None else None
    return JSON(await service.list_page(caller.ctx, caller.tenant_id, hub_id, paging))
