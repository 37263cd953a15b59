"""WebChat visitors: a short-lived token per WebChat integration, issued to allowed origins.

The browser widget has no client secret, so the integration's `allowedOrigins` (host names,
optionally with a port) decide who gets a token. The token is a JWT signed by the app's key
ring with its own scope and the integration's id; it reaches only that integration's
conversations (establish, post and read as the customer, and the Events websocket).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from unihub.channels.types import ChannelId
from unihub.core.context import AppContext
from unihub.core.errors import ApiError, bad_request, forbidden, not_found
from unihub.core.tokens import WEBCHAT_SCOPE, WEBCHAT_TOKEN_LIFETIME_S
from unihub.integrations import loaded as integrations
from unihub.integrations.loaded import LoadedIntegration


def origin_host(origin: str | None) -> tuple[str, int | None] | None:
    """(host, explicit port) of an Origin header; None when absent or opaque ("null")."""
    if origin is None or not origin.strip() or origin.strip() == "null":
        return None
    try:
        parts = urlsplit(origin.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return host.lower().rstrip("."), port


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """An entry without a port allows its host on any port; with a port, only that one."""
    parsed = origin_host(origin)
    if parsed is None:
        return False
    host, port = parsed
    for entry in allowed:
        name, _, entry_port = entry.strip().lower().rstrip(".").partition(":")
        if name == host and (not entry_port or (port is not None and int(entry_port) == port)):
            return True
    return False


def page_origin(
    origin: str | None, fetch_site: str | None, scheme: str, host: str | None
) -> str | None:
    """The origin of the page asking. Browsers leave `Origin` off a same-origin GET (a page
    served by unihub itself, as /webchat/demo), but mark it `Sec-Fetch-Site: same-origin`, a
    header no page's script can set: that page's origin is then this server's own, checked
    against `allowedOrigins` like any other. Without either there is no page: None."""
    if origin is not None or fetch_site is None or fetch_site.strip().lower() != "same-origin":
        return origin
    if not host or not host.strip():
        return None
    return f"{scheme}://{host.strip()}"


def require_origin(origin: str | None) -> None:
    if origin is None or not origin.strip():
        raise bad_request(200, "The 'Origin' header is required on the WebChat visitor endpoints.")


async def load_webchat(ctx: AppContext, integration_id: uuid.UUID) -> LoadedIntegration:
    """A WebChat integration of any tenant (the widget knows only the integration id)."""
    async with ctx.db.read() as s:
        integration = await integrations.load_any(s, integration_id)
    if integration is None:
        raise not_found(6000, f"Integration '{integration_id}' does not exist.")
    if integration.channel != ChannelId.WebChat:
        raise bad_request(
            206,
            f"Integration '{integration_id}' is a {integration.channel_name} integration; "
            "WebChat tokens are issued for WebChat integrations only.",
        )
    return integration


def origin_refused(origin: str | None) -> ApiError:
    return forbidden(101, f"Origin '{(origin or '')[:256]}' is not allowed for this WebChat.")


async def visited(
    ctx: AppContext, integration_id: uuid.UUID, origin: str | None
) -> LoadedIntegration:
    """The active WebChat integration a page of `origin` may use, in the order of checks
    both visitor endpoints (token, config) share: Origin present, integration exists and is
    a WebChat, origin allowed, integration active."""
    require_origin(origin)
    integration = await load_webchat(ctx, integration_id)
    if not origin_allowed(origin, integration.allowed_origins):
        raise origin_refused(origin)
    if not integration.active:
        raise bad_request(6502, f"Integration '{integration_id}' is paused.")
    return integration


def public_config(integration: LoadedIntegration) -> dict[str, Any]:
    """What the `<hubster-webchat>` component needs before a conversation exists: never a
    secret (no keys, no webhook URL, no allowed origins)."""
    return {
        "integrationId": str(integration.id),
        "channelType": "WebChat",
        "statusId": integration.status_id,
        "active": integration.active,
        "start": list(integration.start),
    }


async def issue_token(
    ctx: AppContext, integration_id: uuid.UUID, origin: str | None
) -> dict[str, Any]:
    integration = await visited(ctx, integration_id, origin)
    token = ctx.keys.sign(
        {
            "sub": f"webchat:{integration.id}",
            "scope": WEBCHAT_SCOPE,
            "tenant_id": str(integration.tenant_id),
            "sid": 0,  # no client secret behind it: never in the revocation list
            "integration_id": str(integration.id),
        },
        lifetime_s=WEBCHAT_TOKEN_LIFETIME_S,
    )
    # `expires_in` in minutes: the reference's .NET client adds it to now as minutes.
    return {
        "access_token": token,
        # What the reference's .NET client looks for to send it as `WebBearer` on every call.
        "token_type": "WebBearer",
        "expires_in": WEBCHAT_TOKEN_LIFETIME_S // 60,
        "scope": WEBCHAT_SCOPE,
    }
