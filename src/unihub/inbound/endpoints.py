"""Provider webhook paths. Providers call them, so they take no bearer token: each request is
authenticated by its provider's signature, checked by the channel's adapter before anything
is read or stored (403, code 120). They are left out of the OpenAPI document: they speak the
providers' formats, not the engine's (docs/channels.md).

What passes becomes ordinary engine calls: establish the conversation for the customer's
binding, then accept each message through `conversations.accept`, so every engine rule
(paused hubs and integrations, audience, outbox, commands) applies exactly as for the Direct
inbound paths.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.background import BackgroundTask

from unihub.channels.base import Account, Inbound, InboundRequest
from unihub.channels.errors import Rejected, SignatureInvalid
from unihub.channels.messenger.adapter import verify_subscription
from unihub.channels.registry import LINE, MESSENGER, SLACK, TELEGRAM, TWILIO
from unihub.channels.telegram.adapter import parse_update
from unihub.channels.types import ChannelId
from unihub.conversations import accept
from unihub.conversations import service as conversations
from unihub.core.auth import Context
from unihub.core.context import AppContext
from unihub.core.errors import ApiError, ErrorItem, bad_request, forbidden, not_found
from unihub.core.responses import JSON
from unihub.core.validation import JsonBody, parse_guid
from unihub.delivery.engine import EngineRuntime, get_engine
from unihub.integrations import loaded as integrations
from unihub.integrations.loaded import LoadedIntegration

log = logging.getLogger("unihub.inbound")

router = APIRouter(tags=["provider webhooks"], include_in_schema=False)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SIGNATURE_INVALID = 120


def public_url(request: Request, configured: str | None) -> str:
    """The URL the provider called and signed: `UNIHUB_PUBLIC_URL` + path and query when set
    (behind a proxy), else the URL as this server received it (scheme and Host header)."""
    if not configured:
        return str(request.url)
    query = request.url.query
    return configured.rstrip("/") + request.url.path + (f"?{query}" if query else "")


async def _inbound_request(request: Request, ctx: AppContext, form: bool = False) -> InboundRequest:
    raw = await request.body()
    params = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)) if form else {}
    return InboundRequest(
        url=public_url(request, ctx.settings.public_url),
        headers=request.headers,
        body=raw,
        form=params,
    )


async def _account(
    ctx: AppContext, channel: ChannelId, integration_id: uuid.UUID
) -> tuple[LoadedIntegration, Account]:
    async with ctx.db.read() as s:
        integration = await integrations.load_for_provider(s, channel, integration_id)
    if integration is None:
        raise not_found(
            6000, f"Integration '{integration_id}' does not exist or is not a {channel.name} one."
        )
    return integration, integration.account(ctx.box)


def _refused(exc: SignatureInvalid) -> ApiError:
    return forbidden(SIGNATURE_INVALID, str(exc))


async def _accept_all(
    ctx: AppContext,
    engine: EngineRuntime,
    integration: LoadedIntegration,
    messages: list[Inbound],
    *,
    keep_going: bool,
) -> list[tuple[Inbound, ApiError]]:
    """Each message into its conversation. `keep_going`: a refusal (closed conversation,
    paused hub) is logged and the rest still accepted: providers re-send a failed webhook
    for hours, and the refusal would not change. Returns the refusals."""
    refused: list[tuple[Inbound, ApiError]] = []
    for message in messages:
        try:
            await _accept_one(ctx, engine, integration, message)
        except ApiError as exc:
            if not keep_going:
                raise
            log.warning("%s message for %s refused: %s", integration.channel_name,
                        integration.id, _first(exc))  # fmt: skip
            refused.append((message, exc))
    return refused


async def _accept_one(
    ctx: AppContext, engine: EngineRuntime, integration: LoadedIntegration, message: Inbound
) -> None:
    conversation_id = message.conversation_id
    if conversation_id is None:
        request: dict[str, object] = {
            "integrationId": str(integration.id),
            "binding": message.binding,
            "channelType": integration.channel_name,
        }
        if message.properties:
            request["properties"] = message.properties
        established = await conversations.establish(
            ctx, engine, integration.tenant_id, JsonBody.of(request)
        )
        conversation_id = uuid.UUID(established["conversationId"])
    for n, node in enumerate(message.nodes):
        body: dict[str, object] = {"type": message.kind, message.kind: node}
        if message.external_id:
            body["externalId"] = message.external_id if n == 0 else f"{message.external_id}:{n}"
        if message.sender_id is not None:
            body["sender"] = {"integrationId": str(message.sender_id)}
        receipt = f"{message.receipt}:{n}" if message.receipt else None
        await accept.post_activity(
            ctx, engine, integration.tenant_id, conversation_id, JsonBody.of(body), receipt=receipt
        )


def _first(exc: ApiError) -> str:
    item: ErrorItem | None = exc.errors[0] if exc.errors else None
    return f"{item.code}: {item.description}" if item else str(exc.status)


@router.post("/inbound/twilio/v1/sms/{integrationId}")
async def twilio_sms(integrationId: str, request: Request, ctx: Context) -> Response:
    iid = parse_guid(str(integrationId), "integrationId")
    integration, account = await _account(ctx, ChannelId.TwilioSMS, iid)
    try:
        messages = await TWILIO.receive(
            ctx, await _inbound_request(request, ctx, form=True), account
        )
    except SignatureInvalid as exc:
        raise _refused(exc) from None
    except Rejected as exc:
        raise bad_request(5001, str(exc)) from None
    await _accept_all(ctx, get_engine(request), integration, messages, keep_going=False)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.get("/inbound/messenger/v1/{integrationId}")
async def messenger_verify(integrationId: str, request: Request, ctx: Context) -> Response:
    iid = parse_guid(str(integrationId), "integrationId")
    _, account = await _account(ctx, ChannelId.Messenger, iid)
    try:
        return PlainTextResponse(verify_subscription(account, request.query_params))
    except SignatureInvalid as exc:
        raise _refused(exc) from None


@router.post("/inbound/messenger/v1/{integrationId}")
async def messenger_events(integrationId: str, request: Request, ctx: Context) -> Response:
    iid = parse_guid(str(integrationId), "integrationId")
    integration, account = await _account(ctx, ChannelId.Messenger, iid)
    try:
        messages = await MESSENGER.receive(ctx, await _inbound_request(request, ctx), account)
    except SignatureInvalid as exc:
        raise _refused(exc) from None
    except Rejected as exc:
        raise bad_request(5000, str(exc)) from None
    await _accept_all(ctx, get_engine(request), integration, messages, keep_going=True)
    return PlainTextResponse("EVENT_RECEIVED")


@router.post("/inbound/line/v1/{integrationId}")
async def line_events(integrationId: str, request: Request, ctx: Context) -> Response:
    """LINE waits briefly for the answer: nothing here calls LINE, the events are only
    stored (a database outage answers 503 and LINE redelivers)."""
    iid = parse_guid(str(integrationId), "integrationId")
    integration, account = await _account(ctx, ChannelId.Line, iid)
    try:
        messages = await LINE.receive(ctx, await _inbound_request(request, ctx), account)
    except SignatureInvalid as exc:
        raise _refused(exc) from None
    except Rejected as exc:
        raise bad_request(5000, str(exc)) from None
    await _accept_all(ctx, get_engine(request), integration, messages, keep_going=True)
    return JSON({})


@router.post("/inbound/slack/v1/events")
async def slack_events(request: Request, ctx: Context) -> Response:
    inbound = await _inbound_request(request, ctx)
    try:
        what = SLACK.events_request(ctx, inbound)
    except SignatureInvalid as exc:
        raise _refused(exc) from None
    except Rejected as exc:
        raise bad_request(5000, str(exc)) from None
    if what.challenge is not None:
        return JSON({"challenge": what.challenge})
    if what.team_id is not None and what.event is not None:
        async with ctx.db.read() as s:
            integration = await integrations.load_by_inbound_id(s, ChannelId.Slack, what.team_id)
        if integration is not None:
            account = integration.account(ctx.box)
            messages = await SLACK.replies(ctx, what.event, account)
            refused = await _accept_all(
                ctx, get_engine(request), integration, messages, keep_going=True
            )
            if refused:
                # An agent who can only type learns why in the thread, after Slack's ack.
                notices = [(m.conversation_id, _first(exc)) for m, exc in refused]
                return JSON({"ok": True}, background=BackgroundTask(_tell, ctx, account, notices))
    return JSON({"ok": True})


async def _tell(
    ctx: AppContext, account: Account, notices: list[tuple[uuid.UUID | None, str]]
) -> None:
    for conversation_id, text in notices:
        if conversation_id is not None:
            await SLACK.tell(ctx, account, conversation_id, text)


@router.post("/inbound/telegram/v1/{integrationId}")
async def telegram_update(integrationId: str, request: Request, ctx: Context) -> Response:
    iid = parse_guid(str(integrationId), "integrationId")
    integration, account = await _account(ctx, ChannelId.Telegram, iid)
    try:
        TELEGRAM.check_secret(await _inbound_request(request, ctx), account)
        update = await TELEGRAM.read_update(ctx, account, parse_update(await request.body()))
    except SignatureInvalid as exc:
        raise _refused(exc) from None
    except Rejected as exc:
        raise bad_request(5000, str(exc)) from None
    await _accept_all(ctx, get_engine(request), integration, update.messages, keep_going=True)
    if update.callback_query_id is not None:
        answer = BackgroundTask(TELEGRAM.answer_callback, ctx, account, update.callback_query_id)
        return JSON({}, background=answer)
    return JSON({})
