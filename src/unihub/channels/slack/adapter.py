"""Slack agents: the OAuth v2 install (a nonce, then the code exchange), one thread per
conversation for the engine's posts, and agents' replies in those threads back from the
signed Events API.

Slack answers HTTP 200 with `{"ok": false, "error": ...}` for most failures, so the `ok`
flag, not the status code, decides between success and rejection.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import secrets as pysecrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson

from unihub.channels.base import Account, Inbound, InboundRequest, Outgoing, Setup
from unihub.channels.errors import (
    ProviderRejected,
    ProviderUnavailable,
    Rejected,
    SignatureInvalid,
    Unavailable,
)
from unihub.channels.http import JsonObject, request_json, text_field, unexpected
from unihub.channels.render import message_node, text_fallback, truncate
from unihub.channels.slack import repository as repo
from unihub.channels.slack.models import SlackNonce, SlackThread
from unihub.channels.slack.schemas import SlackConfig
from unihub.channels.types import ChannelId
from unihub.core.config import Settings
from unihub.core.context import AppContext
from unihub.core.timestamps import utcnow

PROVIDER = "Slack"
TEXT_LIMIT = 39000
NONCE_LIFETIME = timedelta(minutes=10)
# Slack's advice: refuse requests older than five minutes (replays).
MAX_AGE_S = 300
_HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")

# Errors that describe Slack's state rather than the code or token.
_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

log = logging.getLogger("unihub.channels.slack")


@dataclass(frozen=True)
class SlackInstall:
    team_id: str
    team_name: str
    bot_token: str = field(repr=False)
    app_id: str
    bot_user_id: str
    bot_name: str
    default_channel_id: str | None
    default_channel_name: str | None
    app_token: str | None = field(default=None, repr=False)


def authorize_url(settings: Settings, state: str, redirect_uri: str | None = None) -> str:
    """Where to send the installing user; `state` ties the callback to this attempt."""
    query = {"client_id": settings.slack_client_id, "scope": settings.slack_scopes, "state": state}
    if redirect_uri is not None:
        query["redirect_uri"] = redirect_uri
    base = settings.slack_authorize_url
    return f"{base}{'&' if '?' in base else '?'}{urlencode(query)}"


async def exchange_code(settings: Settings, code: str) -> SlackInstall:
    """Trade the callback's code for a bot token, then learn the bot's name and home channel."""
    secrets = [code, settings.slack_client_secret]
    access = await _call(
        settings,
        "POST",
        "/oauth.v2.access",
        what="the authorization code",
        secrets=secrets,
        data={
            "code": code,
            "client_id": settings.slack_client_id,
            "client_secret": settings.slack_client_secret,
        },
    )
    bot_token = text_field(access, "access_token")
    team = access.get("team")
    authed_user = access.get("authed_user")
    user_token = text_field(authed_user, "access_token") if isinstance(authed_user, dict) else None
    secrets = [*secrets, *(t for t in (bot_token, user_token) if t)]
    team_id = text_field(team, "id") if isinstance(team, dict) else None
    team_name = text_field(team, "name") if isinstance(team, dict) else None
    app_id = text_field(access, "app_id")
    bot_user_id = text_field(access, "bot_user_id")
    if None in (bot_token, team_id, team_name, app_id, bot_user_id):
        raise unexpected(PROVIDER, 200, secrets)
    assert bot_token and team_id and team_name and app_id and bot_user_id  # narrowed above

    bearer = {"Authorization": f"Bearer {bot_token}"}
    identity = await _call(
        settings, "POST", "/auth.test", what="the bot token", secrets=secrets, headers=bearer
    )
    bot_name = text_field(identity, "user")
    if bot_name is None:
        raise unexpected(PROVIDER, 200, secrets)

    listing = await _call(
        settings,
        "GET",
        "/conversations.list",
        what="the bot token",
        secrets=secrets,
        headers=bearer,
        params={"types": "public_channel", "exclude_archived": "true", "limit": "200"},
    )
    channel_id, channel_name = _default_channel(listing)
    return SlackInstall(
        team_id=team_id,
        team_name=team_name,
        bot_token=bot_token,
        app_id=app_id,
        bot_user_id=bot_user_id,
        bot_name=bot_name,
        default_channel_id=channel_id,
        default_channel_name=channel_name,
        app_token=user_token,
    )


def _default_channel(listing: JsonObject) -> tuple[str | None, str | None]:
    """The workspace's #general if listed, else the first channel; only the first page is read,
    where Slack lists the oldest channels and so almost always #general."""
    channels = [
        c
        for c in listing.get("channels") or []
        if isinstance(c, dict) and text_field(c, "id") and text_field(c, "name")
    ]
    if not channels:
        return None, None
    chosen = next((c for c in channels if c.get("is_general") is True), channels[0])
    return text_field(chosen, "id"), text_field(chosen, "name")


async def _call(
    settings: Settings,
    method: str,
    path: str,
    *,
    what: str,
    secrets: list[str],
    **kwargs: Any,
) -> JsonObject:
    status, body = await request_json(
        PROVIDER,
        settings.slack_api_url,
        settings.provider_timeout_s,
        method,
        path,
        secrets=secrets,
        **kwargs,
    )
    if body.get("ok") is True and status < 400:
        return body
    error = text_field(body, "error")
    if body.get("ok") is not False or error is None:
        raise unexpected(PROVIDER, status, secrets)
    if error in _TRANSIENT_ERRORS:
        raise ProviderUnavailable(PROVIDER, error, secrets=secrets)
    raise ProviderRejected(PROVIDER, error, what=what, secrets=secrets)


class NonceInvalid(Rejected):
    """The install's nonce was not issued for this tenant and hub, was used, or expired."""


def signature_valid(
    signing_secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: float | None = None,
) -> bool:
    """Slack's v0 scheme: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    if not signing_secret or not timestamp or not signature:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > MAX_AGE_S:
        return False
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip())


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def escape(text: str) -> str:
    """Slack reads &, < and > as markup; a customer's text is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, slots=True)
class EventsRequest:
    """A verified Events API request: the URL handshake's answer, or a message event and
    the team (workspace) it came from."""

    challenge: str | None = None
    team_id: str | None = None
    event: dict[str, Any] | None = None


class SlackAdapter:
    channel = ChannelId.Slack
    provider = PROVIDER
    config_model = SlackConfig

    async def start_install(
        self, ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID
    ) -> tuple[str, str, datetime]:
        """A single-use nonce for this tenant and hub: (authorize URL, nonce, expiry)."""
        if not (ctx.settings.slack_client_id and ctx.settings.slack_client_secret):
            raise Unavailable(
                "Slack is not configured on this server: set UNIHUB_SLACK_CLIENT_ID and "
                "UNIHUB_SLACK_CLIENT_SECRET."
            )
        nonce = pysecrets.token_urlsafe(24)
        now = utcnow()
        expires = now + NONCE_LIFETIME
        async with ctx.db.write() as s:
            await repo.purge_nonces(s, now)
            await repo.add_nonce(
                s,
                SlackNonce(
                    nonce_hash=_nonce_hash(nonce),
                    tenant_id=tenant_id,
                    hub_id=hub_id,
                    used=False,
                    expires=expires,
                    created=now,
                ),
            )
        return authorize_url(ctx.settings, nonce), nonce, expires

    async def verify(
        self, ctx: AppContext, config: Any, *, tenant_id: uuid.UUID, hub_id: uuid.UUID
    ) -> Setup:
        assert isinstance(config, SlackConfig)
        # The nonce is spent before Slack is called: Slack codes are single use too, so a
        # failed exchange has to restart from the authorize URL anyway.
        async with ctx.db.write() as s:
            fresh = await repo.consume_nonce(
                s, _nonce_hash(config.nonce), tenant_id, hub_id, utcnow()
            )
        if not fresh:
            raise NonceInvalid(
                "Property 'configuration.nonce' is not valid: it was not issued for this hub, "
                "was already used or has expired; get a new one from "
                "/api/v1/integrations/slack/authorize."
            )
        install = await exchange_code(ctx.settings, config.code)
        stored = {"botAccessToken": install.bot_token}
        if install.app_token:
            stored["appAccessToken"] = install.app_token
        wire: dict[str, Any] = {
            "teamId": install.team_id,
            "teamName": install.team_name,
            "botName": install.bot_name,
            "botUserId": install.bot_user_id,
            "appId": install.app_id,
        }
        if install.default_channel_name:
            wire["defaultPublicChannel"] = install.default_channel_name
            wire["defaultPublicChannelId"] = install.default_channel_id
        return Setup(
            "Agent",
            wire,
            secrets=stored,
            inbound_id=install.team_id,
            external_key=f"Slack:{install.team_id}",
        )

    def events_request(self, ctx: AppContext, request: InboundRequest) -> EventsRequest:
        """Check the signature (one secret per Slack app, so before knowing the integration)
        and say what the request is about."""
        timestamp = request.headers.get("x-slack-request-timestamp")
        signature = request.headers.get("x-slack-signature")
        secret = ctx.settings.slack_signing_secret
        if not signature_valid(secret, request.body, timestamp, signature):
            raise SignatureInvalid.of("Slack")
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise Rejected("The Slack event body is not JSON.") from None
        if not isinstance(body, dict):
            raise Rejected("The Slack event body is not a JSON object.")
        if body.get("type") == "url_verification":
            return EventsRequest(challenge=str(body.get("challenge", "")))
        event = body.get("event")
        if body.get("type") != "event_callback" or not isinstance(event, dict):
            return EventsRequest()
        team_id = str(body.get("team_id") or event.get("team") or "")
        return EventsRequest(team_id=team_id or None, event=event)

    async def receive(
        self, ctx: AppContext, request: InboundRequest, account: Account
    ) -> list[Inbound]:
        """An agent's reply in a thread the engine started; anything else is ignored."""
        event = self.events_request(ctx, request).event
        return [] if event is None else await self.replies(ctx, event, account)

    async def replies(
        self, ctx: AppContext, event: dict[str, Any], account: Account
    ) -> list[Inbound]:
        """`receive` for an event `events_request` already verified (the Events route learns
        the integration from the verified body, then needs no second check)."""
        if event.get("type") != "message":
            return []
        if event.get("subtype") not in _HUMAN_SUBTYPES:
            return []
        thread_ts, ts, text = event.get("thread_ts"), event.get("ts"), event.get("text")
        if event.get("bot_id") or not thread_ts or thread_ts == ts:
            return []  # bots (ourselves included) and top-level posts are not agent replies
        if not isinstance(text, str) or not text.strip():
            return []
        bot_user = account.configuration.get("botUserId")
        if bot_user and event.get("user") == bot_user:
            return []
        async with ctx.db.read() as s:
            thread = await repo.thread_at(
                s, account.id, str(event.get("channel") or ""), str(thread_ts)
            )
        if thread is None:
            return []  # a thread the engine did not start
        node = {"type": "text", "text": html.unescape(text)}
        key = str(event.get("client_msg_id") or ts)
        return [
            Inbound(
                [node],
                external_id=key,
                receipt=key,  # Slack re-sends events answered after 3 s: accepted once
                conversation_id=thread.conversation_id,
                sender_id=account.id,
            )
        ]

    async def tell(
        self, ctx: AppContext, account: Account, conversation_id: uuid.UUID, text: str
    ) -> None:
        """Best effort: why the engine refused an agent's reply, as a line in its thread (a
        Slack agent has no other way to see an answer). Failures are logged, never raised."""
        token = account.secrets.get("botAccessToken", "")
        async with ctx.db.read() as s:
            thread = await repo.thread_of(s, conversation_id, account.id)
        if thread is None or not token:
            return
        message = {
            "channel": thread.channel_id,
            "thread_ts": thread.thread_ts,
            "text": truncate(f"_:warning: not sent: {escape(text)}_", TEXT_LIMIT),
        }
        try:
            await _post_message(ctx, token, message)
        except (Rejected, Unavailable) as exc:
            log.warning("Slack notice for %s not posted: %s", account.id, exc)

    async def send(self, ctx: AppContext, out: Outgoing) -> int | None:
        """Messages (and control changes, once a thread exists) go to the conversation's
        thread; standby copies are marked, so agents watching a bot know who answers."""
        node = message_node(out.payload)
        activity = out.payload.get("activity") or {}
        control = _control_line(activity, out.account.id)
        if node is None and control is None:
            return None
        token = out.account.secrets.get("botAccessToken", "")
        channel = out.account.configuration.get("defaultPublicChannelId")
        if not token:
            raise Rejected("the Slack integration lacks its bot token")
        if not channel:
            raise Rejected("the Slack integration has no default public channel to post to")
        async with ctx.db.read() as s:
            thread = await repo.thread_of(s, out.conversation_id, out.account.id)
        if node is None:
            if thread is None:
                return None  # a control change before anything was posted: nothing to say
            text = str(control)
        else:
            text = escape(text_fallback(node))
            text = _marked(activity, text)
        message: dict[str, Any] = {"channel": thread.channel_id if thread else channel}
        if thread is not None:
            message["thread_ts"] = thread.thread_ts
        else:
            # The thread's first post names the conversation, so agents know whom they answer.
            profile = (out.payload.get("conversationProperties") or {}).get("profile") or {}
            who = escape(str(profile.get("full name") or "A customer"))
            sender = out.payload["activity"].get("sender") or {}
            via = escape(str(sender.get("channelType") or "a customer channel"))
            text = f"*{who}* via {via}:\n{text}"
        message["text"] = truncate(text, TEXT_LIMIT)
        status, body = await _post_message(ctx, token, message)
        if body.get("ok") is not True:
            error = text_field(body, "error") or f"HTTP {status}"
            if error in _TRANSIENT_ERRORS:
                raise Unavailable(f"Slack is throttling or failing: {error}", status)
            raise Rejected(f"Slack refused the message: {error}", status)
        ts = text_field(body, "ts")
        if thread is None and ts:
            async with ctx.db.write() as s:
                repo.add_thread(
                    s,
                    SlackThread(
                        conversation_id=out.conversation_id,
                        integration_id=out.account.id,
                        channel_id=text_field(body, "channel") or str(channel),
                        thread_ts=ts,
                    ),
                )
        return status


async def _post_message(
    ctx: AppContext, token: str, message: dict[str, Any]
) -> tuple[int, JsonObject]:
    return await request_json(
        PROVIDER,
        ctx.settings.slack_api_url,
        ctx.settings.provider_timeout_s,
        "POST",
        "/chat.postMessage",
        json=message,
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
    )


_PARTIES = {"Bot": "the bot", "Agent": "an agent"}


def _who(party: Any, me: uuid.UUID) -> str:
    if not isinstance(party, dict):
        return "someone"
    if party.get("integrationId") == str(me):
        return "this workspace"
    if party.get("integrationId") is None and party.get("integrationType") == "Agent":
        return "the agents"
    return _PARTIES.get(str(party.get("integrationType")), "someone")


def _control_line(activity: Mapping[str, Any], me: uuid.UUID) -> str | None:
    """A control event as one line of the thread, e.g. "takeover: the bot -> this workspace"."""
    event = activity.get("event")
    if activity.get("type") != "event" or not isinstance(event, dict):
        return None
    if event.get("type") != "control":
        return None
    action = escape(str(event.get("action") or "control"))
    return (
        f"_:twisted_rightwards_arrows: {action}: {_who(event.get('from'), me)} → "
        f"{_who(event.get('to'), me)}_"
    )


def _marked(activity: Mapping[str, Any], text: str) -> str:
    """Standby copies: the bot's own replies carry its name, the customer's a note that the
    bot answers (an agent replying in the thread takes over)."""
    if activity.get("standby") is not True:
        return text
    sender = activity.get("sender") or {}
    recipient = activity.get("recipient") or {}
    if sender.get("integrationType") == "Bot":
        return f"*Bot:* {text}"
    if recipient.get("integrationType") == "Bot":
        return f"{text}\n_:robot_face: bot-handled: replying here takes over_"
    return f"{text}\n_handled by another agent_"
