"""Access log lines and Prometheus metrics; CORS for configured origins only."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from tests.conftest import TenantCreds
from tests.middleware.conftest import ClientFactory
from unihub.core.logs import JsonFormatter


async def test_metrics_count_by_route_template_and_status(
    client: httpx.AsyncClient, tenant: TenantCreds
):
    missing = "00000000-0000-0000-0000-000000000001"
    await client.get(f"/api/v1/hubs/{missing}", headers=tenant.portal)
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("unihub_http_requests_total{")
        and 'route="/api/v1/hubs/{hubId}"' in ln
        and 'status="404"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert "unihub_http_request_duration_seconds_bucket{" in text
    assert missing not in text  # ids never become labels


async def test_access_log_line_per_request(
    make_client: ClientFactory, tenant: TenantCreds, caplog: pytest.LogCaptureFixture
):
    client = await make_client(access_log=True)
    with caplog.at_level(logging.INFO, logger="unihub.access"):
        r = await client.get(
            "/api/v1/hubs?pageSize=5", headers={**tenant.portal, "X-Request-Id": "trace-abc.1"}
        )
    assert r.status_code == 200
    records = [rec for rec in caplog.records if rec.name == "unihub.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["requestId"] == "trace-abc.1"
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/hubs"
    assert line["path"] == "/api/v1/hubs"  # no query string
    assert line["status"] == 200
    assert line["clientId"] == tenant.portal_client_id
    assert line["durationMs"] >= 0
    assert tenant.portal_token not in json.dumps(line)


async def test_cors_allows_configured_origin_only(make_client: ClientFactory):
    client = await make_client(cors_origins="https://app.example.com, https://b.example.com")
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = await client.options(
        "/api/v1/hubs", headers={"Origin": "https://b.example.com", **preflight}
    )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://b.example.com"
    denied = await client.options(
        "/api/v1/hubs", headers={"Origin": "https://evil.example.net", **preflight}
    )
    assert "access-control-allow-origin" not in denied.headers
    simple = await client.get("/healthz", headers={"Origin": "https://app.example.com"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "X-Request-Id" in simple.headers["access-control-expose-headers"]


async def test_no_cors_headers_by_default(client: httpx.AsyncClient):
    r = await client.get("/healthz", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in r.headers
