"""Provider webhooks into the engine: Twilio SMS, Messenger and Slack Events.

Providers cannot hold engine tokens, so these paths are authenticated by the provider's own
signature, checked before anything is read or stored (403, code 120). What passes is turned
into an ordinary engine call: establish the conversation for the sender's binding and accept
the activity through `conversations.service`, so every engine rule (paused hubs and
integrations, routing, outbox, commands) applies exactly as for the Direct inbound paths.
"""

from __future__ import annotations

import hmac
import html
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import select

from unihub.channels.models import SlackThread
from unihub.conversations import accept
from unihub.conversations import service as conversations
from unihub.core.context import AppContext
from unihub.core.errors import ApiError, ErrorItem, bad_request, forbidden, not_found
from unihub.delivery.engine import EngineRuntime
from unihub.inbound import signatures
from unihub.integrations.loaded import LoadedIntegration
from unihub.integrations.models import Integration
from unihub.integrations.types import ChannelId

log = logging.getLogger("unihub.inbound")

SIGNATURE_INVALID = 120
_SLACK_HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")
_MESSENGER_MEDIA = ("image", "video", "audio")


def _refused(provider: str) -> ApiError:
    return forbidden(
        SIGNATURE_INVALID, f"The {provider} signature of this request is missing or invalid."
    )


async def _integration(
    ctx: AppContext, integration_id: uuid.UUID, channel: ChannelId
) -> tuple[LoadedIntegration, dict[str, str]]:
    async with ctx.db.read() as s:
        row = await s.get(Integration, integration_id)
    if row is None or row.channel_id != int(channel):
        raise not_found(
            6000, f"Integration '{integration_id}' does not exist or is not a {channel.name} one."
        )
    stored = orjson.loads(ctx.box.decrypt(row.secrets)) if row.secrets else {}
    return LoadedIntegration.from_row(row), stored


async def _from_customer(
    ctx: AppContext,
    engine: EngineRuntime,
    integration: LoadedIntegration,
    binding: str,
    nodes: list[dict[str, Any]],
    external_id: str | None,
) -> str:
    """Establish (or reuse) the binding's conversation and accept each message as the
    customer's; returns the conversation id."""
    established = await conversations.establish(
        ctx,
        engine,
        integration.tenant_id,
        orjson.dumps(
            {
                "integrationId": str(integration.id),
                "binding": binding,
                "channelType": integration.channel_name,
            }
        ),
    )
    conversation_id = uuid.UUID(established["conversationId"])
    for n, node in enumerate(nodes):
        body: dict[str, Any] = {"type": "message", "message": node}
        if external_id:
            body["externalId"] = external_id if n == 0 else f"{external_id}:{n}"
        await accept.post_activity(
            ctx, engine, integration.tenant_id, conversation_id, orjson.dumps(body)
        )
    return str(conversation_id)


# --------------------------------------------------------------------------- Twilio SMS


async def twilio_sms(
    ctx: AppContext,
    engine: EngineRuntime,
    integration_id: uuid.UUID,
    url: str,
    params: Mapping[str, str],
    signature: str,
) -> None:
    integration, stored = await _integration(ctx, integration_id, ChannelId.TwilioSMS)
    if not signatures.twilio_valid(stored.get("authToken", ""), url, params, signature):
        raise _refused("Twilio")
    sender = params.get("From", "").strip()
    if not sender:
        raise bad_request(5001, "Twilio parameter 'From' is required.")
    nodes: list[dict[str, Any]] = []
    if params.get("Body", "").strip():
        nodes.append({"type": "text", "text": params["Body"]})
    try:
        media = int(params.get("NumMedia", "0") or 0)
    except ValueError:
        media = 0
    for i in range(min(media, 10)):
        media_url = params.get(f"MediaUrl{i}")
        kind = params.get(f"MediaContentType{i}", "").split("/")[0]
        if media_url:
            mapped = kind if kind in ("image", "video", "audio") else None
            if mapped is not None:
                nodes.append({"type": mapped, "url": media_url})
            else:
                nodes.append({"type": "text", "text": media_url})
    if not nodes:
        return  # an empty SMS: nothing to say
    await _from_customer(ctx, engine, integration, sender, nodes, params.get("MessageSid"))


# --------------------------------------------------------------------------- Messenger


async def messenger_verify(
    ctx: AppContext, integration_id: uuid.UUID, query: Mapping[str, str]
) -> str:
    """The subscription handshake: echo `hub.challenge` when the verify token matches."""
    integration, stored = await _integration(ctx, integration_id, ChannelId.Messenger)
    expected = stored.get("verifyToken") or str(integration.id)
    given = query.get("hub.verify_token", "")
    if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        given.encode(), expected.encode()
    ):
        raise forbidden(SIGNATURE_INVALID, "The Messenger verify token does not match.")
    return query.get("hub.challenge", "")


def _messenger_nodes(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    message = event.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return []  # the page's own messages, sent by us
        quick = message.get("quick_reply")
        if isinstance(message.get("text"), str) and message["text"].strip():
            node: dict[str, Any] = {"type": "text", "text": message["text"]}
            nodes.append(node)
        elif isinstance(quick, dict) and quick.get("payload"):
            nodes.append({"type": "text", "text": str(quick["payload"])})
        for att in message.get("attachments") or []:
            if not isinstance(att, dict):
                continue
            payload = att.get("payload")
            url = payload.get("url") if isinstance(payload, dict) else None
            if not isinstance(url, str) or not url:
                continue
            kind = att.get("type")
            if kind in _MESSENGER_MEDIA:
                nodes.append({"type": kind, "url": url})
            else:
                nodes.append({"type": "text", "text": url})
    postback = event.get("postback")
    if isinstance(postback, dict):
        text = postback.get("title") or postback.get("payload")
        if isinstance(text, str) and text.strip():
            nodes.append({"type": "text", "text": text})
    return nodes


async def messenger_events(
    ctx: AppContext,
    engine: EngineRuntime,
    integration_id: uuid.UUID,
    raw: bytes,
    signature: str | None,
) -> int:
    """Accept every customer message of a Graph webhook batch; returns how many were taken."""
    integration, stored = await _integration(ctx, integration_id, ChannelId.Messenger)
    secret = stored.get("appSecret")
    if secret and not signatures.facebook_valid(secret, raw, signature):
        raise _refused("Facebook")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request(5000, "The webhook body is not JSON.") from None
    if not isinstance(body, dict) or body.get("object") != "page":
        return 0
    page_id = orjson.loads(integration.row.configuration).get("pageId") if integration.row else None
    taken = 0
    for entry in body.get("entry") or []:
        if not isinstance(entry, dict) or (page_id and str(entry.get("id")) != page_id):
            continue
        for event in entry.get("messaging") or []:
            if not isinstance(event, dict):
                continue
            sender = event.get("sender")
            psid = sender.get("id") if isinstance(sender, dict) else None
            nodes = _messenger_nodes(event)
            if not psid or not nodes or str(psid) == page_id:
                continue
            message = event.get("message")
            mid = message.get("mid") if isinstance(message, dict) else None
            try:
                await _from_customer(ctx, engine, integration, str(psid), nodes, mid)
                taken += 1
            except ApiError as exc:
                # Facebook re-sends failed batches for hours; a refusal will not change.
                log.warning("Messenger event for %s refused: %s", integration.id, _first(exc))
    return taken


def _first(exc: ApiError) -> str:
    item: ErrorItem | None = exc.errors[0] if exc.errors else None
    return f"{item.code}: {item.description}" if item else str(exc.status)


# --------------------------------------------------------------------------- Slack


async def slack_events(
    ctx: AppContext,
    engine: EngineRuntime,
    raw: bytes,
    timestamp: str | None,
    signature: str | None,
) -> dict[str, Any]:
    if not signatures.slack_valid(ctx.settings.slack_signing_secret, raw, timestamp, signature):
        raise _refused("Slack")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request(5000, "The Slack event body is not JSON.") from None
    if not isinstance(body, dict):
        raise bad_request(5000, "The Slack event body is not a JSON object.")
    if body.get("type") == "url_verification":
        return {"challenge": str(body.get("challenge", ""))}
    event = body.get("event")
    if body.get("type") == "event_callback" and isinstance(event, dict):
        await _slack_message(ctx, engine, str(body.get("team_id") or ""), event)
    return {"ok": True}


async def _slack_message(
    ctx: AppContext, engine: EngineRuntime, team_id: str, event: dict[str, Any]
) -> None:
    if event.get("type") != "message" or event.get("subtype") not in _SLACK_HUMAN_SUBTYPES:
        return
    thread_ts, ts, text = event.get("thread_ts"), event.get("ts"), event.get("text")
    if event.get("bot_id") or not thread_ts or thread_ts == ts:
        return  # bots (ourselves included) and top-level posts are not agent replies
    if not isinstance(text, str) or not text.strip():
        return
    team_id = team_id or str(event.get("team") or "")
    async with ctx.db.read() as s:
        row = (
            await s.execute(
                select(Integration).where(
                    Integration.channel_id == int(ChannelId.Slack),
                    Integration.inbound_id == team_id,
                )
            )
        ).scalar_one_or_none()
        thread = None
        if row is not None:
            thread = (
                await s.execute(
                    select(SlackThread).where(
                        SlackThread.integration_id == row.id,
                        SlackThread.channel_id == str(event.get("channel") or ""),
                        SlackThread.thread_ts == str(thread_ts),
                    )
                )
            ).scalar_one_or_none()
    if row is None or thread is None:
        return  # a thread the engine did not start
    bot_user = orjson.loads(row.configuration or "{}").get("botUserId")
    if bot_user and event.get("user") == bot_user:
        return
    activity = {
        "type": "message",
        "externalId": str(event.get("client_msg_id") or ts),
        "sender": {"integrationId": str(row.id)},
        "message": {"type": "text", "text": html.unescape(text)},
    }
    try:
        await accept.post_activity(
            ctx, engine, row.tenant_id, thread.conversation_id, orjson.dumps(activity)
        )
    except ApiError as exc:
        # Slack retries failed events; a closed conversation or paused hub will not change.
        log.warning("Slack reply for %s refused: %s", thread.conversation_id, _first(exc))
