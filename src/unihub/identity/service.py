"""Token issuance (OAuth 2.0 client credentials, RFC 6749 §4.4)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from unihub.core.context import AppContext
from unihub.core.security import hash_secret
from unihub.core.timestamps import utcnow
from unihub.core.tokens import ENGINE_SCOPE, PORTAL_SCOPE, TOKEN_LIFETIME_S
from unihub.core.validation import has_control_character
from unihub.tenants import repository as tenants_repo

_CONTROL = "A control character (such as NUL) is not allowed in the credentials or form."
SCOPES = {"portal": PORTAL_SCOPE, "engine": ENGINE_SCOPE}


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer (not the Hubster error model)."""

    def __init__(self, error: str, description: str, status: int = 400, basic: bool = False):
        self.error = error
        self.description = description
        self.status = status
        self.basic = basic
        super().__init__(description)


def credentials_from(form: dict[str, str], authorization: str | None) -> tuple[str, str, bool]:
    """(client_id, client_secret, via_basic) from HTTP Basic or the form body."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Malformed Basic credentials.", 401, True) from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuthError("invalid_client", "Malformed Basic credentials.", 401, True)
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if has_control_character(client_id) or has_control_character(secret):
            raise OAuthError("invalid_request", _CONTROL)
        return client_id, secret, True
    client_id = form.get("client_id", "")
    secret = form.get("client_secret", "")
    if not client_id or not secret:
        raise OAuthError("invalid_client", "client_id and client_secret are required.", 401)
    return client_id, secret, False


async def issue_token(
    ctx: AppContext, form: dict[str, str], authorization: str | None
) -> dict[str, object]:
    if any(has_control_character(k) or has_control_character(v) for k, v in form.items()):
        raise OAuthError("invalid_request", _CONTROL)
    grant = form.get("grant_type")
    if not grant:
        raise OAuthError("invalid_request", "grant_type is required.")
    if grant != "client_credentials":
        raise OAuthError("unsupported_grant_type", "Only client_credentials is supported.")
    client_id, secret, basic = credentials_from(form, authorization)
    row = await tenants_repo.find_secret_for_login(ctx.db, client_id, hash_secret(secret))
    if row is None:
        raise OAuthError("invalid_client", "Unknown client or wrong secret.", 401, basic)
    secret_id, expiration, tenant_id, resource, enabled = row
    if not enabled or (expiration is not None and expiration <= utcnow()):
        raise OAuthError(
            "invalid_client", "The client or secret is disabled or expired.", 401, basic
        )
    if await ctx.revocations.is_revoked(secret_id):
        raise OAuthError("invalid_client", "Unknown client or wrong secret.", 401, basic)
    scope = SCOPES[resource]
    requested = form.get("scope")
    if requested and scope not in requested.split():
        raise OAuthError("invalid_scope", f"This client may only request '{scope}'.")
    token = ctx.keys.sign(
        {
            "sub": client_id,
            "client_id": client_id,
            "tenant_id": str(tenant_id),
            "scope": scope,
            "sid": secret_id,
        }
    )
    return {
        "access_token": token,
        "expires_in": TOKEN_LIFETIME_S,
        "token_type": "Bearer",
        "scope": scope,
    }
