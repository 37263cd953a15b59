"""Slack: the OAuth v2 install flow, ending with everything an integration needs to post.

Slack answers HTTP 200 with `{"ok": false, "error": ...}` for most failures, so the `ok`
flag, not the status code, decides between success and rejection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from unihub.channels._http import JsonObject, request_json, text_field, unexpected
from unihub.channels.errors import ProviderRejected, ProviderUnavailable
from unihub.core.config import Settings

PROVIDER = "Slack"

# Errors that describe Slack's state rather than the code or token.
_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


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
    **kwargs: object,
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
