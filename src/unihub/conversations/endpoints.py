from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from unihub.activities.schemas import Activity, DirectInboundActivity
from unihub.conversations import accept, history, service, switchboard
from unihub.conversations.schemas import (
    ActivityAccepted,
    ControlChanged,
    ControlRequest,
    ConversationOut,
    EstablishedOut,
    EstablishOut,
    EstablishRequest,
)
from unihub.core.auth import EngineCaller, EngineOrWebChatCaller
from unihub.core.errors import COMMON_ERRORS, error_responses
from unihub.core.openapi import json_body
from unihub.core.responses import JSON
from unihub.core.validation import JsonBody, parse_event_cursor, parse_guid
from unihub.delivery.engine import EngineRuntime, engine_of

router = APIRouter(tags=["engine"])
Engine = Annotated[EngineRuntime, Depends(engine_of)]


@router.post(
    "/api/v1/conversations/establish",
    operation_id="conversations_establish",
    response_model=EstablishOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    openapi_extra=json_body(EstablishRequest),
    summary="Establish a conversation (the open one of the same binding is returned)",
)
async def establish(request: Request, caller: EngineOrWebChatCaller, engine: Engine) -> Response:
    # A WebChat token establishes only on its own integration (how the widget gets a chat).
    body = JsonBody(await request.body())
    return JSON(
        await service.establish(
            caller.ctx, engine, caller.tenant_id, body, caller.principal.integration_id
        )
    )


@router.get(
    "/api/v1/conversations/hubs/{hubId}/established",
    operation_id="conversations_list_established",
    response_model=list[EstablishedOut],
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="A hub's open conversations, most recently active first (at most 1,000)",
)
async def hub_established(
    hubId: str,
    caller: EngineCaller,
    controlledBy: Annotated[
        str | None,
        Query(description="bot, agents (waiting for an agent), agent, or an integration id"),
    ] = None,
) -> Response:
    hub_id = parse_guid(str(hubId), "hubId")
    controlled_by = switchboard.parse_controlled_by(controlledBy)
    return JSON(await service.hub_established(caller.ctx, caller.tenant_id, hub_id, controlled_by))


@router.get(
    "/api/v1/conversations/{conversationId}/established",
    operation_id="conversations_get_established",
    response_model=EstablishedOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="An established conversation (the .NET client's GetEstablished)",
)
async def get_established(conversationId: str, caller: EngineOrWebChatCaller) -> Response:
    cid = parse_guid(str(conversationId), "conversationId")
    only = caller.principal.integration_id
    return JSON(await service.get_established(caller.ctx, caller.tenant_id, cid, only))


@router.get(
    "/api/v1/conversations/{conversationId}",
    operation_id="conversations_get",
    response_model=ConversationOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="Get a conversation",
)
async def get_conversation(conversationId: str, caller: EngineCaller) -> Response:
    cid = parse_guid(str(conversationId), "conversationId")
    return JSON(await service.get(caller.ctx, caller.tenant_id, cid))


@router.post(
    "/api/v1/conversations/{conversationId}/control",
    operation_id="conversations_control",
    response_model=ControlChanged,
    responses=error_responses(400, 404, 409, *COMMON_ERRORS),
    openapi_extra=json_body(ControlRequest),
    summary="Take over, hand over or release a conversation (docs/switchboard.md)",
)
async def control_conversation(
    conversationId: str, request: Request, caller: EngineCaller, engine: Engine
) -> Response:
    cid = parse_guid(str(conversationId), "conversationId")
    body = JsonBody(await request.body())
    return JSON(await switchboard.act(caller.ctx, engine, caller.tenant_id, cid, body))


@router.post(
    "/api/v1/conversations/{conversationId}/close",
    operation_id="conversations_close",
    response_model=ConversationOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="Close a conversation (idempotent); its binding then opens a new one (engine "
    "token, or a WebChat token for its own conversations)",
)
async def close_conversation(conversationId: str, caller: EngineOrWebChatCaller) -> Response:
    # A WebChat visitor closes its own conversation (the component's sessionTTL): another
    # integration's is 404, as an unknown one.
    cid = parse_guid(str(conversationId), "conversationId")
    only = caller.principal.integration_id
    return JSON(await service.close(caller.ctx, caller.tenant_id, cid, only))


@router.get(
    "/api/v1/interactions/activities/{conversationId}",
    operation_id="activities_list",
    response_model=list[Activity],
    responses=error_responses(400, 404, *COMMON_ERRORS),
    summary="A conversation's activities for one side, after a given eventId (leid)",
)
async def get_activities(
    conversationId: str,
    caller: EngineOrWebChatCaller,
    type: Annotated[str, Query(description="Customer, Agent or Bot")],
    leid: Annotated[str | None, Query(description="Only activities with a larger eventId")] = None,
) -> Response:
    cid = parse_guid(str(conversationId), "conversationId")
    side = history.parse_side(type)
    after = parse_event_cursor(leid)
    only = caller.principal.integration_id  # WebChat tokens: own conversations, customer side
    return JSON(await history.activities(caller.ctx, caller.tenant_id, cid, side, after, only))


async def _post(
    conversationId: str, request: Request, caller: EngineCaller, engine: Engine
) -> Response:
    cid = parse_guid(str(conversationId), "conversationId")
    body = JsonBody(await request.body())
    return JSON(await accept.post_activity(caller.ctx, engine, caller.tenant_id, cid, body))


async def _post_customer(
    conversationId: str,
    request: Request,
    caller: EngineOrWebChatCaller,
    engine: Engine,
) -> Response:
    # Customer paths also take a WebChat token: its own conversations, as their customer.
    cid = parse_guid(str(conversationId), "conversationId")
    body = JsonBody(await request.body())
    only = caller.principal.integration_id
    return JSON(await accept.post_activity(caller.ctx, engine, caller.tenant_id, cid, body, only))


for _path, _id, _summary, _handler in (
    (
        "/inbound/customer/v1/direct/activity/{conversationId}",
        "activities_send",
        "Send an activity (Direct)",
        _post_customer,
    ),
    (
        "/inbound/business/v1/direct/activity/{conversationId}",
        "activities_send_business",
        "Send an activity (Direct; path of the .NET client for agents and bots)",
        _post,
    ),
    (
        "/inbound/customer/v1/web-chat/{conversationId}",
        "activities_send_webchat",
        "Send an activity as a WebChat customer (WebChat token or engine token)",
        _post_customer,
    ),
):
    router.add_api_route(
        _path,
        _handler,
        methods=["POST"],
        response_model=ActivityAccepted,
        responses=error_responses(400, 404, *COMMON_ERRORS),
        openapi_extra=json_body(DirectInboundActivity),
        summary=_summary,
        name=_path,
        operation_id=_id,
    )
