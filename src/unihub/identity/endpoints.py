from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from pydantic import BaseModel

from unihub.core.auth import Context
from unihub.core.responses import JSON
from unihub.identity.service import OAuthError, issue_token

router = APIRouter(tags=["identity"])
TOKEN_PATH = "/connect/token"


class TokenResponse(BaseModel):
    access_token: str
    expires_in: int
    token_type: str
    scope: str


class OAuthErrorBody(BaseModel):
    error: str
    error_description: str | None = None


_FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.post(
    TOKEN_PATH,
    response_model=TokenResponse,
    responses={
        400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error"},
        401: {"model": OAuthErrorBody, "description": "invalid_client"},
    },
    openapi_extra=_FORM_BODY,
    summary="Get an access token (client credentials)",
)
async def token(request: Request, ctx: Context) -> JSON:
    raw = await request.body()
    form = {k: v for k, v in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)}
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    try:
        body = await issue_token(ctx, form, request.headers.get("authorization"))
    except OAuthError as exc:
        if exc.basic:
            headers["WWW-Authenticate"] = 'Basic realm="unihub"'
        return JSON(
            {"error": exc.error, "error_description": exc.description},
            status_code=exc.status,
            headers=headers,
        )
    return JSON(body, headers=headers)


@router.get("/.well-known/jwks.json", summary="Public keys that sign access tokens")
async def jwks(ctx: Context) -> dict[str, Any]:
    return ctx.keys.jwks()


@router.get("/.well-known/openid-configuration", summary="Discovery document")
async def discovery(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "issuer": "unihub",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "token_endpoint": f"{base}{TOKEN_PATH}",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": ["hubster-portal-api", "hubster-engine-api"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }
