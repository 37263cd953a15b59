"""Provider webhook paths. Providers call them, so they take no bearer token: each request is
authenticated by its provider's signature (`inbound.signatures`). They are left out of the
OpenAPI document: they speak the providers' formats, not the engine's (docs/channels.md)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from unihub.core.auth import Context
from unihub.core.responses import JSON
from unihub.core.validation import parse_guid
from unihub.delivery.engine import engine_of
from unihub.inbound import service

router = APIRouter(tags=["provider webhooks"], include_in_schema=False)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def public_url(request: Request, configured: str | None) -> str:
    """The URL the provider called and signed: `UNIHUB_PUBLIC_URL` + path and query when set
    (behind a proxy), else the URL as this server received it (scheme and Host header)."""
    if not configured:
        return str(request.url)
    query = request.url.query
    return configured.rstrip("/") + request.url.path + (f"?{query}" if query else "")


@router.post("/inbound/twilio/v1/sms/{integrationId}")
async def twilio_sms(integrationId: str, request: Request, ctx: Context) -> Response:
    iid = parse_guid(str(integrationId), "integrationId")
    raw = await request.body()
    params = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    await service.twilio_sms(
        ctx,
        engine_of(request),
        iid,
        public_url(request, ctx.settings.public_url),
        params,
        request.headers.get("x-twilio-signature", ""),
    )
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.get("/inbound/messenger/v1/{integrationId}")
async def messenger_verify(integrationId: str, request: Request, ctx: Context) -> Response:
    iid = parse_guid(str(integrationId), "integrationId")
    challenge = await service.messenger_verify(ctx, iid, request.query_params)
    return PlainTextResponse(challenge)


@router.post("/inbound/messenger/v1/{integrationId}")
async def messenger_events(integrationId: str, request: Request, ctx: Context) -> Response:
    iid = parse_guid(str(integrationId), "integrationId")
    raw = await request.body()
    signature = request.headers.get("x-hub-signature-256")
    await service.messenger_events(ctx, engine_of(request), iid, raw, signature)
    return PlainTextResponse("EVENT_RECEIVED")


@router.post("/inbound/slack/v1/events")
async def slack_events(request: Request, ctx: Context) -> Response:
    raw = await request.body()
    answer = await service.slack_events(
        ctx,
        engine_of(request),
        raw,
        request.headers.get("x-slack-request-timestamp"),
        request.headers.get("x-slack-signature"),
    )
    return JSON(answer)
