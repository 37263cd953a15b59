"""Who is calling, known before routing: the verified token's client id, cached per request."""

from __future__ import annotations

from starlette.types import Scope

from unihub.core.context import AppContext
from unihub.core.tokens import InvalidTokenError, bearer_token
from unihub.middleware.asgi import header, scope_state

_KEY = "unihub.verified_client_id"


async def verified_client_id(scope: Scope, ctx: AppContext) -> str | None:
    """The client id of a valid Bearer token, else None (the route's auth answers 401 later).

    Only a verified token names a client: keying on an unverified claim would let anyone
    spend another client's rate limit or read its idempotent answers.
    """
    state = scope_state(scope)
    if _KEY in state:
        cached = state[_KEY]
        return cached if isinstance(cached, str) else None
    client_id: str | None = None
    token = bearer_token(header(scope, b"authorization"))
    if token is not None:
        try:
            client_id = (await ctx.keys.verify(token)).client_id
        except InvalidTokenError:
            client_id = None
    state[_KEY] = client_id
    return client_id


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
