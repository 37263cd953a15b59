"""Schemathesis against a served process: no 500s, every answer conforms to the OpenAPI.

Bounded (few examples per operation) so the suite stays fast; the schema is read from the
running server, so routes added later are fuzzed without changes here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests.middleware.served import Served, new_tenant, scratch_env, serve, token
from unihub.core.errors import prefix_for_path


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[Served]:
    env = scratch_env()
    creds = new_tenant(env, "fuzz")
    server = serve(env)
    server.tokens = {
        "portal": token(server.base_url, creds["clients"]["portal"]),
        "engine": token(server.base_url, creds["clients"]["engine"]),
    }
    yield server
    server.stop()
    # The 500 handler logs "unhandled error"; no fuzzed request may have reached it.
    assert "unhandled error" not in server.stderr()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: Served) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_server.base_url}/openapi.json")


_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def test_api_conforms_and_never_fails(api_schema: Any, fuzz_server: Served) -> None:
    # Operations are walked here rather than through schemathesis' pytest plugin, which does
    # not support this pytest version; each operation gets its own bounded Hypothesis run.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert any(op.path == "/api/v1/hubs" for op in operations)
    for operation in operations:
        prefix = prefix_for_path(operation.path)
        headers = {}
        if prefix in ("PRT", "ENG", "EVT"):
            bearer = fuzz_server.tokens["portal" if prefix == "PRT" else "engine"]
            headers["Authorization"] = f"Bearer {bearer}"

        _fuzz(operation, fuzz_server.base_url, headers)()


def _fuzz(operation: Any, base_url: str, headers: dict[str, str]) -> Any:
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=_CHECKS)

    return run
