"""What an access token proves, and the two services every authenticated request needs.

The types live here, in `core`, so authentication (`core.auth`) and the app context need no
domain: `identity` implements `TokenKeys` (ES256 signing, JWKS) and `Revocations` (deleted
secrets), and the app wires them in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

TOKEN_LIFETIME_S = 2_592_000  # 30 days, as the reference answers in `expires_in`
PORTAL_SCOPE = "hubster-portal-api"
ENGINE_SCOPE = "hubster-engine-api"
# WebChat visitors: a short-lived token bound to one WebChat integration (claim
# `integration_id`); every API but the WebChat customer's few endpoints refuses its scope.
WEBCHAT_SCOPE = "hubster-webchat"
WEBCHAT_TOKEN_LIFETIME_S = 3600


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant, the API client and the secret the token was minted with."""

    tenant_id: uuid.UUID
    client_id: str
    scope: str
    secret_id: int
    expires_at: int
    integration_id: uuid.UUID | None = None  # WebChat tokens only


class InvalidTokenError(Exception):
    pass


class TokenKeys(Protocol):
    async def load(self) -> None: ...

    def sign(self, principal_claims: dict[str, Any], lifetime_s: int = TOKEN_LIFETIME_S) -> str: ...

    async def verify(self, token: str) -> Principal:
        """The token's principal; `InvalidTokenError` when it is malformed, forged or expired."""
        ...

    def jwks(self) -> dict[str, Any]: ...


class Revocations(Protocol):
    async def is_revoked(self, secret_id: int) -> bool: ...

    def mark_revoked_locally(self, secret_id: int) -> None: ...

    async def prune(self) -> None: ...


# `WebBearer`: the scheme the reference's .NET client sends WebChat tokens with (it takes its
# WebChat path when the token answer says so). The token's scope decides what it reaches.
_SCHEMES = frozenset({"bearer", "webbearer"})


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` (or `WebBearer ...`) header, else None.

    The one parser of bearer headers (HTTP dependencies, websockets, middleware keys)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() in _SCHEMES and token else None
