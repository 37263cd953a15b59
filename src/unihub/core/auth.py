"""Bearer-token authentication for the Portal, Engine and Events APIs.

One dependency per API resource: a token minted for the other resource is refused with 403/101
(engine tokens are also accepted by the Events API). Each yields a `Caller`, the verified
principal together with the app context, so an endpoint resolves one dependency node, not
two: FastAPI's per-node bookkeeping was a quarter of GET hub's time (profiled).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from unihub.core.context import AppContext, get_context
from unihub.core.errors import ApiError, forbidden, unauthorized
from unihub.core.tokens import (
    ENGINE_SCOPE,
    PORTAL_SCOPE,
    WEBCHAT_SCOPE,
    InvalidTokenError,
    Principal,
    bearer_token,
)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request's principal and the context of the app serving it."""

    principal: Principal
    ctx: AppContext

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.principal.tenant_id


async def valid_principal(ctx: AppContext, token: str | None) -> Principal | None:
    """The principal of a valid, unrevoked token, else None (for callers that cannot raise,
    such as websocket handshakes)."""
    if not token:
        return None
    try:
        principal = await ctx.keys.verify(token)
    except InvalidTokenError:
        return None
    if await ctx.revocations.is_revoked(principal.secret_id):
        return None
    return principal


async def _principal(request: Request, ctx: AppContext) -> Principal:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise unauthorized("A Bearer access token is required.")
    try:
        principal = await ctx.keys.verify(token)
    except InvalidTokenError:
        raise unauthorized("The access token is invalid or expired.") from None
    if await ctx.revocations.is_revoked(principal.secret_id):
        raise unauthorized("The access token was revoked.")
    request.state.client_id = principal.client_id
    return principal


def _not_for(resource: str) -> ApiError:
    return forbidden(101, f"This access token is not valid for the {resource} API.")


async def _caller(request: Request) -> Caller:
    ctx: AppContext = request.app.state.ctx
    return Caller(await _principal(request, ctx), ctx)


async def require_portal(request: Request) -> Caller:
    caller = await _caller(request)
    if caller.principal.scope != PORTAL_SCOPE:
        raise _not_for("Portal")
    return caller


async def require_engine(request: Request) -> Caller:
    caller = await _caller(request)
    if caller.principal.scope != ENGINE_SCOPE:
        raise _not_for("Engine")
    return caller


async def require_engine_or_webchat(request: Request) -> Caller:
    """Engine tokens, or a WebChat visitor's token (its `integration_id` limits what it reaches;
    the endpoints taking this dependency enforce that)."""
    caller = await _caller(request)
    principal = caller.principal
    if principal.scope == WEBCHAT_SCOPE and principal.integration_id is not None:
        return caller
    if principal.scope != ENGINE_SCOPE:
        raise _not_for("Engine")
    return caller


# The token scope each caller dependency takes, for the OpenAPI `security` of its routes
# (`core.openapi`); WebChat visitor tokens are bearer tokens the OAuth2 flow does not mint.
SCOPES: dict[Callable[..., Any], str] = {
    require_portal: PORTAL_SCOPE,
    require_engine: ENGINE_SCOPE,
    require_engine_or_webchat: ENGINE_SCOPE,
}

PortalCaller = Annotated[Caller, Depends(require_portal)]
EngineCaller = Annotated[Caller, Depends(require_engine)]
EngineOrWebChatCaller = Annotated[Caller, Depends(require_engine_or_webchat)]
# For endpoints without a bearer token (token issuance, provider webhooks, health).
Context = Annotated[AppContext, Depends(get_context)]
