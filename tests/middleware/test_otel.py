"""`UNIHUB_OTEL`: FastAPI's OpenTelemetry spans reach the process's tracer provider only when on."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.conftest import TenantCreds
from tests.middleware.conftest import ClientFactory


@pytest.fixture(scope="module")
def exported() -> InMemorySpanExporter:
    # The global provider can be set once per process; no other test uses OpenTelemetry.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def _routes(exporter: InMemorySpanExporter) -> set[str]:
    return {str(span.attributes.get("http.route")) for span in exporter.get_finished_spans()}


async def test_spans_only_with_otel_on(
    make_client: ClientFactory, tenant: TenantCreds, exported: InMemorySpanExporter
):
    quiet = await make_client(otel=False)
    traced = await make_client(otel=True)

    exported.clear()
    assert (await quiet.get("/api/v1/hubs", headers=tenant.portal)).status_code == 200
    assert _routes(exported) == set()

    r = await traced.post(
        "/api/v1/hubs", headers=tenant.portal, json={"name": "traced", "description": "d"}
    )
    assert r.status_code == 200
    assert (await traced.get(f"/api/v1/hubs/{r.json()['hubId']}", headers=tenant.portal)).is_success
    assert {"/api/v1/hubs", "/api/v1/hubs/{hubId}"} <= _routes(exported)
