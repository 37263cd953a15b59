from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from unihub.core.auth import Context
from unihub.core.errors import PUBLIC_ERRORS, bad_request, error_responses
from unihub.core.responses import JSON
from unihub.core.validation import parse_guid
from unihub.webchat import assets, demo, service

router = APIRouter(tags=["engine"])


class WebChatToken(BaseModel):
    access_token: str
    token_type: str
    expires_in: int  # minutes, as the reference's .NET client reads it
    scope: str


class WebChatConfig(BaseModel):
    integrationId: str
    channelType: str
    statusId: int
    active: bool
    start: list[dict[str, Any]]


def _page_origin(request: Request) -> str | None:
    h = request.headers
    return service.page_origin(
        h.get("origin"), h.get("sec-fetch-site"), request.url.scheme, h.get("host")
    )


@router.get(
    "/api/v1/integrations/web-chat/token/{integrationId}",
    operation_id="webchat_get_token",
    response_model=WebChatToken,
    responses=error_responses(403, 404, *PUBLIC_ERRORS),
    summary="A one-hour token for a WebChat visitor (the Origin must be an allowed origin; "
    "every answer, errors included, carries CORS headers)",
)
async def webchat_token(integrationId: str, request: Request, ctx: Context) -> Response:
    # CORS headers: webchat.cors (a 200 only ever reaches an allowed origin).
    iid = parse_guid(str(integrationId), "integrationId")
    return JSON(await service.issue_token(ctx, iid, _page_origin(request)))


@router.get(
    "/api/v1/integrations/web-chat/config/{integrationId}",
    operation_id="webchat_get_config",
    response_model=WebChatConfig,
    responses=error_responses(403, 404, *PUBLIC_ERRORS),
    summary="What the WebChat component shows before a conversation exists (allowed Origins "
    "only; every answer, errors included, carries CORS headers)",
)
async def webchat_config(integrationId: str, request: Request, ctx: Context) -> Response:
    iid = parse_guid(str(integrationId), "integrationId")
    integration = await service.visited(ctx, iid, _page_origin(request))
    return JSON(service.public_config(integration))


@router.get(
    f"/webchat/{assets.SCRIPT}",
    operation_id="webchat_get_script",
    responses={
        200: {"content": {"text/javascript": {}}, "description": "The component's script."},
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
        **error_responses(*PUBLIC_ERRORS),
    },
    response_class=Response,
    summary="The <hubster-webchat> component (ETag, Cache-Control, gzip when accepted)",
)
async def webchat_script(request: Request) -> Response:
    script = assets.asset()
    headers = {
        "ETag": script.etag,
        "Cache-Control": assets.CACHE_CONTROL,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # A public script embedded by other sites (also with `crossorigin`, SRI or COEP).
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if assets.etag_matches(request.headers.get("if-none-match"), script.etag):
        return Response(status_code=304, headers=headers)
    body = script.body
    if assets.accepts_gzip(request.headers.get("accept-encoding")):
        body = script.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=script.media_type, headers=headers)


@router.get(
    demo.PATH,
    operation_id="webchat_get_demo",
    responses={
        200: {"content": {"text/html": {}}, "description": "The demo page."},
        **error_responses(*PUBLIC_ERRORS),
    },
    response_class=Response,
    summary="A demo page embedding <hubster-webchat> for a WebChat integration (strict CSP; "
    "the integration's allowedOrigins must include this server's host)",
)
async def webchat_demo(
    request: Request,
    integrationId: Annotated[
        str | None, Query(description="The WebChat integration's id (required)")
    ] = None,
) -> Response:
    if integrationId is None or not integrationId.strip():
        raise bad_request(200, "Query parameter 'integrationId' is required.")
    iid = parse_guid(integrationId, "integrationId")
    nonce = demo.new_nonce()
    headers = {
        "Content-Security-Policy": demo.policy(nonce, request.headers.get("host")),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    body = demo.page(iid, nonce, request.url.hostname)
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)
