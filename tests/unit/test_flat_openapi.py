"""The flat routes (`core.routing.include_flat`) document the API exactly as `include_router`.

`include_flat` re-registers each domain route with the options it copies from FastAPI's
`include_router`; a FastAPI release that adds or renames one would make the copies drift (which
is why pyproject.toml pins FastAPI's minor version). The app's OpenAPI document must equal
the one FastAPI builds from the same routers included the ordinary way.
"""

from __future__ import annotations

import copy
from typing import Any

import fastapi
from fastapi import FastAPI

from tests.conftest import make_settings
from unihub.app import create_app, domain_routers
from unihub.core.openapi import build_openapi, operation_id
from unihub.core.responses import JSON
from unihub.identity.endpoints import TOKEN_PATH
from unihub.middleware.observability import router as metrics_router
from unihub.middleware.openapi import document_headers


def flat_routers() -> tuple[fastapi.APIRouter, ...]:
    """What the app registers flat: the domain routers, and /metrics (`install_middleware`)."""
    return (*domain_routers(), metrics_router)


def test_flat_routes_give_the_include_router_openapi() -> None:
    app = create_app(make_settings())
    flat = copy.deepcopy(app.openapi())

    included = FastAPI(
        title=app.title,
        version=app.version,
        description=app.description,
        default_response_class=JSON,
        generate_unique_id_function=operation_id,
    )
    for router in flat_routers():
        included.include_router(router)
    reference = build_openapi(included, token_url=TOKEN_PATH, extend=[document_headers])
    # FastAPI wraps included routers, so build_openapi's per-operation `security` pass (which
    # reads the app's own routes) sees only flat ones; tests/api/test_openapi.py checks it.
    for document in (flat, reference):
        for operations in document["paths"].values():
            for operation in operations.values():
                operation.pop("security", None)

    assert flat["paths"], "no paths documented"
    assert sorted(flat["paths"]) == sorted(reference["paths"])
    for path, operations in reference["paths"].items():
        assert flat["paths"][path] == operations, path
    assert flat == reference


def test_every_route_is_flat_and_documented_once() -> None:
    """Every domain route is an app route (none left behind an included router)."""
    app = create_app(make_settings())
    declared = {
        (route.path, method)
        for router in flat_routers()
        for route in router.routes
        if isinstance(route, fastapi.routing.APIRoute) and route.include_in_schema
        for method in route.methods
    }
    documented = {
        (path, method.upper())
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    served: set[Any] = {
        (route.path, method)
        for route in app.router.routes
        if isinstance(route, fastapi.routing.APIRoute)
        for method in route.methods
    }
    assert declared == documented
    assert declared <= served
