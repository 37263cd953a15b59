"""Facebook Messenger: turn a page access token into the page and app it belongs to.

The token travels in the query string (`params=`), and httpx logs request URLs at INFO, so
this module pins the `httpx` (and `httpcore`) loggers to WARNING at import; keep them there
in any logging configuration. Nothing here logs URLs, and errors are built from Graph's own
messages with the token redacted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from unihub.channels._http import JsonObject, request_json, text_field, unexpected
from unihub.channels.errors import ProviderRejected, ProviderUnavailable
from unihub.core.config import Settings

logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

PROVIDER = "Facebook Messenger"

# Graph reports throttling and its own outages with 4xx codes; those are not the token's fault.
_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})


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
    if code in _TRANSIENT_CODES or error.get("is_transient") is True:
        raise ProviderUnavailable(PROVIDER, reason, secrets=secrets)
    raise ProviderRejected(PROVIDER, reason, what="the page access token", secrets=secrets)
