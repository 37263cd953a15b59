"""Bearer-token authentication for the Portal, Engine and Events APIs.

One dependency per API resource: a token minted for the other resource is refused with 403/101
(engine tokens are also accepted by the Events API).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from unihub.core.context import AppContext, get_context
from unihub.core.errors import forbidden, unauthorized
from unihub.identity.keys import (
    ENGINE_SCOPE,
    PORTAL_SCOPE,
    WEBCHAT_SCOPE,
    InvalidTokenError,
    Principal,
)


async def _principal(request: Request, ctx: AppContext) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("A Bearer access token is required.")
    try:
        principal = await ctx.keys.verify(token.strip())
    except InvalidTokenError:
        raise unauthorized("The access token is invalid or expired.") from None
    if await ctx.revocations.is_revoked(principal.secret_id):
        raise unauthorized("The access token was revoked.")
    request.state.client_id = principal.client_id
    return principal


def _require(scope: str, resource: str):  # type: ignore[no-untyped-def]
    async def dependency(request: Request) -> Principal:
        # The context straight from app state: one dependency node less on every request.
        principal = await _principal(request, request.app.state.ctx)
        if principal.scope != scope:
            raise forbidden(101, f"This access token is not valid for the {resource} API.")
        return principal

    return dependency


require_portal = _require(PORTAL_SCOPE, "Portal")
require_engine = _require(ENGINE_SCOPE, "Engine")


async def require_engine_or_webchat(
    request: Request, ctx: Annotated[AppContext, Depends(get_context)]
) -> Principal:
    """Engine tokens, or a WebChat visitor's token (its `integration_id` limits what it reaches;
    the endpoints taking this dependency enforce that)."""
    principal = await _principal(request, ctx)
    if principal.scope == WEBCHAT_SCOPE and principal.integration_id is not None:
        return principal
    if principal.scope != ENGINE_SCOPE:
        raise forbidden(101, "This access token is not valid for the Engine API.")
    return principal


PortalPrincipal = Annotated[Principal, Depends(require_portal)]
EnginePrincipal = Annotated[Principal, Depends(require_engine)]
EngineOrWebChatPrincipal = Annotated[Principal, Depends(require_engine_or_webchat)]
Context = Annotated[AppContext, Depends(get_context)]
