"""Route matching: the flat, reordered and prefiltered routes answer exactly as declared.

The app registers every domain router's routes on its own router, GET routes first within a
router, behind a literal-prefix check (see `unihub.core.routing`). Whatever the order, each
request must reach the route the domain routers declare for it, and a path served under other
methods answers 405 naming all of them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi.routing import APIRoute
from starlette.routing import Match

from tests.conftest import TenantCreds, codes
from unihub.app import domain_routers

_PARAM = re.compile(r"\{[^}]+\}")


def _declared_routes() -> list[APIRoute]:
    """The routes in the order the domain routers declare them (what `include_router` keeps)."""
    return [r for router in domain_routers() for r in router.routes if isinstance(r, APIRoute)]


def _first_full_match(routes: list[Any], method: str, path: str) -> Any:
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route.endpoint
    return None


def test_every_request_reaches_the_declared_route(app: Any) -> None:
    declared = _declared_routes()
    served = list(app.router.routes)
    samples = {_PARAM.sub(str(uuid.uuid4()), r.path) for r in declared}
    samples |= {_PARAM.sub("slack", r.path) for r in declared}  # literal segments vs params
    methods = {m for r in declared for m in r.methods}
    checked = 0
    for path in samples:
        for method in methods:
            expected = _first_full_match(declared, method, path)
            assert _first_full_match(served, method, path) is expected, (method, path)
            checked += expected is not None
    assert checked >= len(declared)


async def test_wrong_method_is_405_naming_every_method_of_the_path(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub = str(uuid.uuid4())
    r = await client.patch(f"/api/v1/hubs/{hub}", headers=tenant.portal, json={})
    assert r.status_code == 405
    assert codes(r) == [105]
    assert r.headers["allow"] == "DELETE, GET, PUT"


async def test_unknown_path_is_404(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    r = await client.get("/api/v1/hubz", headers=tenant.portal)
    assert r.status_code == 404
    assert codes(r) == [105]
