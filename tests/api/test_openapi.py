"""The OpenAPI document as client generators read it (docs/openapi.md): operation ids,
security, the error model on every 4xx, and the middleware's headers under their real names."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from limits import parse_many

from tests.conftest import TenantCreds
from unihub.core.errors import prefix_for_path
from unihub.core.openapi import OPERATION_ID, operations
from unihub.middleware.idempotency import KEY_HEADER, REPLAYED_HEADER
from unihub.middleware.ratelimit import LIMIT_HEADERS, RateLimitMiddleware

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
PUBLIC = {
    ("post", "/connect/token"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/api/v1/integrations/web-chat/token/{integrationId}"),
    ("get", "/api/v1/integrations/web-chat/config/{integrationId}"),
    ("get", "/webchat/hubster-webchat.js"),
    ("get", "/webchat/demo"),
}


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def _ids(spec: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(m, p): op.get("operationId", "") for p, m, op in operations(spec)}


async def test_operation_ids_read_domain_then_verb(spec: dict[str, Any]) -> None:
    ids = _ids(spec)
    assert len(ids) > 40
    for key, op_id in ids.items():
        assert OPERATION_ID.match(op_id), (key, op_id)
    assert len(set(ids.values())) == len(ids), "operation ids are unique"
    assert {
        ("post", "/api/v1/hubs"): "hubs_create",
        ("get", "/api/v1/hubs"): "hubs_list",
        ("get", "/api/v1/hubs/{hubId}"): "hubs_get",
        ("put", "/api/v1/hubs/{hubId}"): "hubs_update",
        ("delete", "/api/v1/hubs/{hubId}"): "hubs_delete",
        ("get", "/api/v1/integrations"): "integrations_list",
        ("post", "/api/v1/integrations/hubs/{hubId}"): "integrations_create",
        ("post", "/api/v1/commands/transfers/{hubId}"): "commands_create_transfer",
        ("get", "/api/v1/tenants/clients/{clientId}"): "tenants_get_client",
        ("post", "/connect/token"): "identity_token",
        ("post", "/api/v1/conversations/establish"): "conversations_establish",
        ("post", "/inbound/customer/v1/direct/activity/{conversationId}"): "activities_send",
        ("get", "/api/v1/interactions/activities/{conversationId}"): "activities_list",
        ("get", "/api/v1/deliveries/failed"): "deliveries_list_failed",
        ("post", "/engine-chat-hub/negotiate"): "events_negotiate",
        ("get", "/healthz"): "health_live",
    }.items() <= ids.items()


async def test_security_schemes_and_requirements(
    spec: dict[str, Any], client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    schemes = spec["components"]["securitySchemes"]
    flow = schemes["OAuth2"]["flows"]["clientCredentials"]
    assert schemes["OAuth2"]["type"] == "oauth2"
    assert set(flow["scopes"]) == {"hubster-portal-api", "hubster-engine-api"}
    assert schemes["Bearer"] == {**schemes["Bearer"], "type": "http", "scheme": "bearer"}
    # The token URL is the token endpoint, as the Authorize dialog of /docs posts it.
    r = await client.post(
        flow["tokenUrl"],
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.portal_client_id,
            "client_secret": tenant.portal_secret,
        },
    )
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"
    # What Swagger UI's Authorize sends: Basic credentials and the scopes ticked (both here).
    r = await client.post(
        flow["tokenUrl"],
        data={"grant_type": "client_credentials", "scope": " ".join(flow["scopes"])},
        auth=(tenant.engine_client_id, tenant.engine_secret),
    )
    assert r.status_code == 200 and r.json()["scope"] == "hubster-engine-api"

    for path, method, op in operations(spec):
        if (method, path) in PUBLIC:
            assert op["security"] == [], (method, path)
            if path != "/connect/token":  # whose 401 is invalid_client
                assert "401" not in op["responses"], (method, path)  # no token, no 401
            continue
        portal = prefix_for_path(path) == "PRT"
        scope = "hubster-portal-api" if portal else "hubster-engine-api"
        assert op["security"] == [{"OAuth2": [scope]}, {"Bearer": []}], (method, path)
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


async def test_no_422_and_every_4xx_in_the_error_model(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(spec)
    assert "ValidationError" not in spec["components"]["schemas"]
    for path, method, op in operations(spec):
        answers = op["responses"]
        assert "422" not in answers, (method, path)
        takes_input = "requestBody" in op or any("name" in p for p in op.get("parameters", []))
        if takes_input:
            assert "400" in answers, (method, path)
        for status, answer in answers.items():
            if not status.startswith("4"):
                continue
            schema = answer["content"]["application/json"]["schema"]
            if path == "/connect/token" and status in ("400", "401"):
                assert schema["$ref"].endswith("/OAuthErrorBody")  # RFC 6749 §5.2 (SPEC)
            else:
                assert schema == ERROR_BODY, (method, path, status)


async def test_headers_are_documented(spec: dict[str, Any]) -> None:
    components = spec["components"]
    assert components["parameters"]["IdempotencyKey"]["name"] == "Idempotency-Key"
    assert components["parameters"]["RequestId"]["name"] == "X-Request-Id"
    assert set(components["headers"]) == {
        "X-Request-Id",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "Retry-After",
        "Idempotent-Replayed",
    }
    for path, method, op in operations(spec):
        refs = [p.get("$ref", "") for p in op["parameters"]]
        assert "#/components/parameters/RequestId" in refs
        idempotent = method == "post" and path != "/connect/token"
        assert ("#/components/parameters/IdempotencyKey" in refs) == idempotent, (method, path)
        for status, answer in op["responses"].items():
            headers = answer["headers"]
            assert "X-Request-Id" in headers
            limited = path not in ("/healthz", "/readyz", "/metrics")
            assert ("RateLimit-Remaining" in headers) == limited, (method, path, status)
            if status in ("429", "503"):
                assert "Retry-After" in headers, (method, path, status)
        if path not in ("/healthz", "/readyz", "/metrics"):
            assert "429" in op["responses"], (method, path)
        if idempotent:
            assert "Retry-After" in op["responses"]["409"]["headers"]


async def test_documented_headers_are_the_ones_sent(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    key = {KEY_HEADER: uuid.uuid4().hex, "X-Request-Id": "openapi-1"}
    body = {"name": f"oa-{uuid.uuid4().hex[:8]}", "description": "d"}
    first = await client.post("/api/v1/hubs", json=body, headers={**tenant.portal, **key})
    again = await client.post("/api/v1/hubs", json=body, headers={**tenant.portal, **key})
    assert first.status_code == again.status_code == 200
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.headers["X-Request-Id"] == "openapi-1"

    limiter = RateLimitMiddleware(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        "5/minute",
        token_peer_spec="5/minute",
        token_failure_spec="5/minute",
    )
    _, sent = await limiter._hit("openapi-test", parse_many("5/minute"))
    assert [name for name, _ in sent] == [h.lower().encode() for h in LIMIT_HEADERS]
