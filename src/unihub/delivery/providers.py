"""Outbound senders for provider channels: Twilio SMS, Facebook Messenger and Slack.

The worker hands over an outbox row whose payload is the Direct webhook body fixed at accept
time; the activity inside it is rendered for the provider and sent through its API.

Outcome classes (the worker records them like webhook outcomes):
- `Retry`: no usable answer (timeout, connection refused, 5xx, HTTP 408/429, Graph's
  transient codes, Slack's `ratelimited`/`internal_error`...): retried on the webhook schedule.
- `Rejected`: the provider answered and refused (bad number, revoked token, bot not in the
  channel, any other 4xx): retrying cannot help, so the row fails at once and is listed at
  `/api/v1/deliveries/failed` with the provider's status code and reason.
Provider credentials never appear in errors or logs (`channels.errors.redact`).
"""

from __future__ import annotations

from typing import Any

import orjson

from unihub.channels import messenger, slack, twilio
from unihub.channels._http import JsonObject, request_json, text_field
from unihub.channels.errors import ProviderUnavailable, redact
from unihub.channels.models import SlackThread
from unihub.core.context import AppContext
from unihub.delivery.render import Node, text_fallback, truncate
from unihub.delivery.repository import Claimed
from unihub.integrations.loaded import LoadedIntegration
from unihub.integrations.types import ChannelId

TWILIO_BODY_LIMIT = 1600
MESSENGER_TEXT_LIMIT = 2000
SLACK_TEXT_LIMIT = 39000
_MESSENGER_ATTACHMENTS = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "attachment": "file",
}
_MESSENGER_TRANSIENT = frozenset({1, 2, 4, 17, 32, 341, 613})
_SLACK_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Retry(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class Rejected(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


async def send(ctx: AppContext, row: Claimed, receiver: LoadedIntegration | None) -> int | None:
    """Send one outbox row; the provider's HTTP status, or None when there was nothing to send
    (events such as typing indicators have no provider form)."""
    if receiver is None or receiver.row is None:
        raise Rejected("the receiving integration no longer exists")
    if not receiver.active:
        raise Rejected("the receiving integration is paused")
    activity = orjson.loads(row.payload).get("activity") or {}
    if activity.get("type") != "message" or not isinstance(activity.get("message"), dict):
        return None
    node: Node = activity["message"]
    secrets = _secrets(ctx, receiver)
    config = _config(receiver)
    try:
        if receiver.channel == ChannelId.TwilioSMS:
            return await _twilio(ctx, config, secrets, _binding(row), node)
        if receiver.channel == ChannelId.Messenger:
            return await _messenger(ctx, secrets, _binding(row), node)
        if receiver.channel == ChannelId.Slack:
            return await _slack(ctx, receiver, config, secrets, row, orjson.loads(row.payload))
    except ProviderUnavailable as exc:
        raise Retry(str(exc)) from None
    raise Rejected(f"{receiver.channel_name} integrations have no provider sender")


def _secrets(ctx: AppContext, receiver: LoadedIntegration) -> dict[str, str]:
    assert receiver.row is not None
    if not receiver.row.secrets:
        return {}
    stored: dict[str, str] = orjson.loads(ctx.box.decrypt(receiver.row.secrets))
    return stored


def _config(receiver: LoadedIntegration) -> dict[str, Any]:
    assert receiver.row is not None
    conf: dict[str, Any] = orjson.loads(receiver.row.configuration or "{}")
    return conf


def _binding(row: Claimed) -> str:
    if not row.binding:
        raise Rejected("the conversation has no customer binding to send to")
    return row.binding


# --------------------------------------------------------------------------- Twilio


async def _twilio(
    ctx: AppContext, config: dict[str, Any], secrets: dict[str, str], to: str, node: Node
) -> int:
    account_sid, sender = config.get("accountSid"), config.get("phoneNumber")
    token = secrets.get("authToken", "")
    if not account_sid or not sender or not token:
        raise Rejected("the Twilio integration lacks its account SID, number or auth token")
    form: dict[str, str] = {"To": to, "From": str(sender)}
    mms = (config.get("capabilities") or {}).get("mms") is True
    if node.get("type") == "image" and mms:
        form["MediaUrl"] = str(node["url"])
        caption = node.get("title") or node.get("alt")
        if caption:
            form["Body"] = truncate(str(caption), TWILIO_BODY_LIMIT)
    else:
        form["Body"] = truncate(text_fallback(node), TWILIO_BODY_LIMIT)
    status, body = await request_json(
        twilio.PROVIDER,
        ctx.settings.twilio_api_url,
        ctx.settings.provider_timeout_s,
        "POST",
        f"/2010-04-01/Accounts/{account_sid}/Messages.json",
        data=form,
        auth=(str(account_sid), token),
        secrets=[token],
    )
    if status >= 400:
        message = text_field(body, "message") or "no reason given"
        code = body.get("code")
        reason = f"{message} ({code})" if isinstance(code, int) else message
        raise Rejected(
            redact(f"Twilio refused the message: {reason} (HTTP {status})", [token]), status
        )
    return status


# --------------------------------------------------------------------------- Messenger


def _messenger_message(node: Node) -> dict[str, Any]:
    kind = node.get("type")
    if kind in _MESSENGER_ATTACHMENTS:
        return {
            "attachment": {
                "type": _MESSENGER_ATTACHMENTS[str(kind)],
                "payload": {"url": node["url"], "is_reusable": False},
            }
        }
    message: dict[str, Any] = {"text": truncate(text_fallback(node), MESSENGER_TEXT_LIMIT)}
    if kind == "text":
        replies = [
            {"content_type": "text", "title": a["title"][:20], "payload": a["payload"]}
            for a in node.get("actions") or []
            if isinstance(a, dict) and a.get("type") == "reply"
        ]
        if replies:
            message["quick_replies"] = replies[:13]
    return message


async def _messenger(ctx: AppContext, secrets: dict[str, str], psid: str, node: Node) -> int:
    token = secrets.get("pageAccessToken", "")
    if not token:
        raise Rejected("the Messenger integration lacks its page access token")
    status, body = await request_json(
        messenger.PROVIDER,
        ctx.settings.graph_api_url,
        ctx.settings.provider_timeout_s,
        "POST",
        "/me/messages",
        params={"access_token": token},
        json={
            "recipient": {"id": psid},
            "messaging_type": "RESPONSE",
            "message": _messenger_message(node),
        },
        secrets=[token],
    )
    if status < 400:
        return status
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    message = text_field(error, "message") or "no reason given"
    code = error.get("code")
    reason = f"{message} ({code})" if isinstance(code, int) else message
    reason = redact(reason, [token])  # Graph may echo the request, token included
    if code in _MESSENGER_TRANSIENT or error.get("is_transient") is True:
        raise Retry(f"Facebook Messenger is throttling or failing: {reason}", status)
    raise Rejected(f"Facebook Messenger refused the message: {reason} (HTTP {status})", status)


# --------------------------------------------------------------------------- Slack


def slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup; a customer's text is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _slack(
    ctx: AppContext,
    receiver: LoadedIntegration,
    config: dict[str, Any],
    secrets: dict[str, str],
    row: Claimed,
    payload: JsonObject,
) -> int:
    token = secrets.get("botAccessToken", "")
    channel = config.get("defaultPublicChannelId")
    if not token:
        raise Rejected("the Slack integration lacks its bot token")
    if not channel:
        raise Rejected("the Slack integration has no default public channel to post to")
    async with ctx.db.read() as s:
        thread = await s.get(SlackThread, (row.conversation_id, receiver.id))
    text = slack_escape(text_fallback(payload["activity"]["message"]))
    message: dict[str, Any] = {"channel": thread.channel_id if thread else channel}
    if thread is not None:
        message["thread_ts"] = thread.thread_ts
    else:
        # The thread's first post names the conversation, so agents know whom they answer.
        profile = (payload.get("conversationProperties") or {}).get("profile") or {}
        who = slack_escape(str(profile.get("full name") or "A customer"))
        sender = payload["activity"].get("sender") or {}
        via = slack_escape(str(sender.get("channelType") or "a customer channel"))
        text = f"*{who}* via {via}:\n{text}"
    message["text"] = truncate(text, SLACK_TEXT_LIMIT)
    status, body = await request_json(
        slack.PROVIDER,
        ctx.settings.slack_api_url,
        ctx.settings.provider_timeout_s,
        "POST",
        "/chat.postMessage",
        json=message,
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
    )
    if body.get("ok") is not True:
        error = text_field(body, "error") or f"HTTP {status}"
        if error in _SLACK_TRANSIENT:
            raise Retry(f"Slack is throttling or failing: {error}", status)
        raise Rejected(f"Slack refused the message: {error}", status)
    ts = text_field(body, "ts")
    if thread is None and ts:
        async with ctx.db.write() as s:
            s.add(
                SlackThread(
                    conversation_id=row.conversation_id,
                    integration_id=receiver.id,
                    channel_id=text_field(body, "channel") or str(channel),
                    thread_ts=ts,
                )
            )
    return status
