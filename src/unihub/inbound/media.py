"""`GET /media/v1/{token}`: a customer's file from a provider that serves it only with the
bot's credentials (`channels.media`). The token is the credential; a bad or expired one is
a plain 404, so links cannot be probed."""

from __future__ import annotations

from fastapi import APIRouter, Response

from unihub.channels.errors import Rejected, Unavailable
from unihub.channels.media import MediaSource, read_token
from unihub.channels.registry import adapter_for
from unihub.core.auth import Context
from unihub.core.errors import ApiError, not_found
from unihub.integrations import loaded as integrations

# A link handed to agents, not an API call: kept out of the OpenAPI document like the
# provider webhooks.
router = APIRouter(tags=["media"], include_in_schema=False)

MEDIA_UNKNOWN = 5600
MEDIA_UNAVAILABLE = 5601


def _gone() -> ApiError:
    return not_found(MEDIA_UNKNOWN, "This media link is unknown, expired, or its file is gone.")


@router.get("/media/v1/{token}", summary="A customer's file (Telegram, LINE) by its unihub link")
async def media(token: str, ctx: Context) -> Response:
    found = read_token(ctx, token)
    if found is None:
        raise _gone()
    async with ctx.db.read() as s:
        integration = await integrations.load_any(s, found.integration_id)
    adapter = adapter_for(integration.channel) if integration is not None else None
    if integration is None or not isinstance(adapter, MediaSource):
        raise _gone()
    try:
        file = await adapter.fetch_media(ctx, integration.account(ctx.box), found.ref)
    except Rejected:
        raise _gone() from None
    except Unavailable as exc:
        raise ApiError.one(503, MEDIA_UNAVAILABLE, str(exc), {"Retry-After": "5"}) from None
    return Response(
        file.body,
        media_type=file.content_type,
        headers={
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "inline",
        },
    )
