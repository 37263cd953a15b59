"""POST /connect/token, JWKS and discovery; bearer-token checks on the portal."""

from __future__ import annotations

import base64
import time

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import TenantCreds, codes
from unihub.core.context import AppContext


async def test_token_with_form_body(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    r = await client.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.portal_client_id,
            "client_secret": tenant.portal_secret,
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "scope"}
    assert body["expires_in"] == 2592000
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "hubster-portal-api"
    assert r.headers["cache-control"] == "no-store"


async def test_token_with_http_basic(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    basic = base64.b64encode(f"{tenant.engine_client_id}:{tenant.engine_secret}".encode()).decode()
    r = await client.post(
        "/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200
    assert r.json()["scope"] == "hubster-engine-api"


async def test_token_is_es256_jwt_verifiable_with_published_jwks(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    jwks = (await client.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(tenant.portal_token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    public = jwt.PyJWK(key).key
    claims = jwt.decode(tenant.portal_token, public, algorithms=["ES256"])
    assert claims["tenant_id"] == tenant.tenant_id
    assert claims["scope"] == "hubster-portal-api"
    assert claims["exp"] - claims["iat"] == 2592000
    assert "d" not in key  # only public material is published
    discovery = (await client.get("/.well-known/openid-configuration")).json()
    assert discovery["jwks_uri"].endswith("/.well-known/jwks.json")
    assert discovery["token_endpoint"].endswith("/connect/token")


async def test_client_ids_follow_the_documented_pattern(tenant: TenantCreds) -> None:
    hex_id = tenant.tenant_id.replace("-", "")
    assert tenant.portal_client_id == f"unihub.portal.api.{hex_id}"
    assert tenant.engine_client_id == f"unihub.engine.api.{hex_id}"
    for secret in (tenant.portal_secret, tenant.engine_secret):
        assert len(secret) >= 43
        assert set(secret) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        )


async def test_rfc6749_errors(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    r = await client.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.portal_client_id,
            "client_secret": "wrong",
        },
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"

    r = await client.post("/connect/token", data={"grant_type": "password"})
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"

    r = await client.post("/connect/token", data={})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"

    r = await client.post(
        "/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!"},
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")

    # A secret of one client does not open another client.
    r = await client.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.engine_client_id,
            "client_secret": tenant.portal_secret,
        },
    )
    assert r.status_code == 401


async def test_portal_refuses_missing_garbage_and_engine_tokens(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    for headers in ({}, {"Authorization": "Bearer garbage"}, {"Authorization": "Basic abc"}):
        r = await client.get("/api/v1/hubs", headers=headers)
        assert r.status_code == 401
        assert codes(r) == [102]
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["errors"][0]["description"].endswith("(code: PRT000102)")
    r = await client.get("/api/v1/hubs", headers=tenant.engine)
    assert r.status_code == 403
    assert codes(r) == [101]


async def test_expired_token_and_foreign_key_refused(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
) -> None:
    claims = jwt.decode(tenant.portal_token, options={"verify_signature": False})
    expired = ctx.keys.sign({k: claims[k] for k in ("sub", "tenant_id", "scope", "sid")}, -10)
    r = await client.get("/api/v1/hubs", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert codes(r) == [102]

    # Same claims and kid, signed by a key that is not ours.
    forged = jwt.encode(
        {**claims, "exp": int(time.time()) + 3600},
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": jwt.get_unverified_header(tenant.portal_token)["kid"]},
    )
    r = await client.get("/api/v1/hubs", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401

    # alg=none is never accepted.
    unsigned = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    r = await client.get("/api/v1/hubs", headers={"Authorization": f"Bearer {unsigned}"})
    assert r.status_code == 401


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith junk"})
    assert r.headers["x-request-id"] != "bad id\twith junk"
    assert len(r.headers["x-request-id"]) == 32


async def test_health_and_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    create = spec["paths"]["/api/v1/hubs"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/HubCreate"
    )
    assert "HubCreate" in spec["components"]["schemas"]
    assert create["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorBody"
    )


async def test_unknown_route_is_404_105(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert codes(r) == [105]
