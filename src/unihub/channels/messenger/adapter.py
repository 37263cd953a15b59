"""Facebook Messenger: attach a page (its access token tells which page and app), receive
customer messages from Graph's signed webhooks, send replies through the Send API.

The token travels in the query string (`params=`), and httpx logs request URLs at INFO, so
this module pins the `httpx` (and `httpcore`) loggers to WARNING at import; keep them there
in any logging configuration. Nothing here logs URLs, and errors are built from Graph's own
messages with the token redacted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from unihub.channels.base import Account, Inbound, InboundRequest, Outgoing, Setup
from unihub.channels.errors import (
    ProviderRejected,
    ProviderUnavailable,
    Rejected,
    SignatureInvalid,
    Unavailable,
    redact,
)
from unihub.channels.http import JsonObject, request_json, text_field, unexpected
from unihub.channels.messenger.schemas import MessengerConfig
from unihub.channels.render import Node, message_node, text_fallback, truncate
from unihub.channels.types import ChannelId
from unihub.core.config import Settings
from unihub.core.context import AppContext

logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

PROVIDER = "Facebook Messenger"

# Graph reports throttling and its own outages with 4xx codes; those are not the token's fault.
_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})
TEXT_LIMIT = 2000
_ATTACHMENTS = {"image": "image", "video": "video", "audio": "audio", "attachment": "file"}
_MEDIA = ("image", "video", "audio")


@dataclass(frozen=True)
class MessengerPage:
    page_id: str
    page_name: str
    app_id: str


async def resolve_page(settings: Settings, page_access_token: str) -> MessengerPage:
    """Learn which page and app a token is for, which also proves the token works."""
    me = await _get(settings, "/me", page_access_token, fields="id,name")
    app = await _get(settings, "/app", page_access_token)
    page_id, page_name, app_id = text_field(me, "id"), text_field(me, "name"), text_field(app, "id")
    if page_id is None or page_name is None or app_id is None:
        raise unexpected(PROVIDER, 200, [page_access_token])
    return MessengerPage(page_id=page_id, page_name=page_name, app_id=app_id)


async def _get(settings: Settings, path: str, token: str, **params: str) -> JsonObject:
    secrets = [token]
    status, body = await request_json(
        PROVIDER,
        settings.graph_api_url,
        settings.provider_timeout_s,
        "GET",
        path,
        params={**params, "access_token": token},
        secrets=secrets,
    )
    if status < 400:
        return body
    error = body.get("error")
    message = text_field(error, "message") if isinstance(error, dict) else None
    if not isinstance(error, dict) or message is None:
        raise unexpected(PROVIDER, status, secrets)
    code = error.get("code")
    reason = f"{message} ({code})" if isinstance(code, int) else message
    if _transient(error):
        raise ProviderUnavailable(PROVIDER, reason, secrets=secrets)
    raise ProviderRejected(PROVIDER, reason, what="the page access token", secrets=secrets)


def _transient(error: Mapping[str, Any]) -> bool:
    return error.get("code") in _TRANSIENT_CODES or error.get("is_transient") is True


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed with the app secret>`."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def verify_subscription(account: Account, query: Mapping[str, str]) -> str:
    """The subscription handshake: echo `hub.challenge` when the verify token matches."""
    expected = account.secrets.get("verifyToken") or str(account.id)
    given = query.get("hub.verify_token", "")
    if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        given.encode(), expected.encode()
    ):
        raise SignatureInvalid("The Messenger verify token does not match.")
    return query.get("hub.challenge", "")


def _nodes(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    message = event.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return []  # the page's own messages, sent by us
        quick = message.get("quick_reply")
        if isinstance(message.get("text"), str) and message["text"].strip():
            nodes.append({"type": "text", "text": message["text"]})
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
            if kind in _MEDIA:
                nodes.append({"type": kind, "url": url})
            else:
                nodes.append({"type": "text", "text": url})
    postback = event.get("postback")
    if isinstance(postback, dict):
        text = postback.get("title") or postback.get("payload")
        if isinstance(text, str) and text.strip():
            nodes.append({"type": "text", "text": text})
    return nodes


def _send_message(node: Node) -> dict[str, Any]:
    kind = node.get("type")
    if kind in _ATTACHMENTS:
        return {
            "attachment": {
                "type": _ATTACHMENTS[str(kind)],
                "payload": {"url": node["url"], "is_reusable": False},
            }
        }
    message: dict[str, Any] = {"text": truncate(text_fallback(node), TEXT_LIMIT)}
    if kind == "text":
        replies = [
            {"content_type": "text", "title": a["title"][:20], "payload": a["payload"]}
            for a in node.get("actions") or []
            if isinstance(a, dict) and a.get("type") == "reply"
        ]
        if replies:
            message["quick_replies"] = replies[:13]
    return message


class MessengerAdapter:
    channel = ChannelId.Messenger
    provider = PROVIDER
    config_model = MessengerConfig

    async def verify(
        self, ctx: AppContext, config: Any, *, tenant_id: uuid.UUID, hub_id: uuid.UUID
    ) -> Setup:
        assert isinstance(config, MessengerConfig)
        page = await resolve_page(ctx.settings, config.page_access_token)
        stored = {"pageAccessToken": config.page_access_token}
        if config.app_secret:
            stored["appSecret"] = config.app_secret
        if config.verify_token:
            stored["verifyToken"] = config.verify_token
        return Setup(
            "Customer",
            {"appId": page.app_id, "pageId": page.page_id},
            secrets=stored,
            inbound_id=page.page_id,
            external_key=f"Messenger:{page.page_id}",
        )

    async def receive(
        self, ctx: AppContext, request: InboundRequest, account: Account
    ) -> list[Inbound]:
        """Every customer message of a Graph webhook batch."""
        secret = account.secrets.get("appSecret")
        signature = request.headers.get("x-hub-signature-256")
        if secret and not signature_valid(secret, request.body, signature):
            raise SignatureInvalid.of("Facebook")
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise Rejected("The webhook body is not JSON.") from None
        if not isinstance(body, dict) or body.get("object") != "page":
            return []
        page_id = account.configuration.get("pageId")
        messages: list[Inbound] = []
        for entry in body.get("entry") or []:
            if not isinstance(entry, dict) or (page_id and str(entry.get("id")) != page_id):
                continue
            for event in entry.get("messaging") or []:
                if not isinstance(event, dict):
                    continue
                sender = event.get("sender")
                psid = sender.get("id") if isinstance(sender, dict) else None
                nodes = _nodes(event)
                if not psid or not nodes or str(psid) == page_id:
                    continue
                message = event.get("message")
                mid = message.get("mid") if isinstance(message, dict) else None
                # Messenger redelivers unacknowledged webhooks: the mid makes that a no-op.
                messages.append(
                    Inbound(nodes, external_id=mid, binding=str(psid), receipt=mid or None)
                )
        return messages

    async def send(self, ctx: AppContext, out: Outgoing) -> int | None:
        node = message_node(out.payload)
        if node is None:
            return None
        token = out.account.secrets.get("pageAccessToken", "")
        if not token:
            raise Rejected("the Messenger integration lacks its page access token")
        if not out.binding:
            raise Rejected("the conversation has no customer binding to send to")
        status, body = await request_json(
            PROVIDER,
            ctx.settings.graph_api_url,
            ctx.settings.provider_timeout_s,
            "POST",
            "/me/messages",
            params={"access_token": token},
            json={
                "recipient": {"id": out.binding},
                "messaging_type": "RESPONSE",
                "message": _send_message(node),
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
        if _transient(error):
            raise Unavailable(f"Facebook Messenger is throttling or failing: {reason}", status)
        raise Rejected(f"Facebook Messenger refused the message: {reason} (HTTP {status})", status)
