"""Routes called without FastAPI's dependency solver (`core.routing.direct_handler`), and no
dependency run on a worker thread.

The hot routes (GET hub, posting activities) must stay direct: a parameter or dependency the
direct handler does not cover silently sends a route back to FastAPI's slower handler, and a
plain `def` dependency costs a thread round trip per request. Behaviour is the same either way
(the API suites run through both kinds); these tests keep the fast path taken.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.conftest import make_settings
from unihub.app import create_app
from unihub.core.routing import direct_handler


def _routes() -> dict[tuple[str, str], APIRoute]:
    app = create_app(make_settings())
    return {
        (method, route.path): route
        for route in app.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dep in dependant.dependencies:
        yield dep
        yield from _dependencies(dep)


def test_the_hot_routes_are_called_directly() -> None:
    routes = _routes()
    for key in [
        ("GET", "/api/v1/hubs/{hubId}"),
        ("POST", "/api/v1/hubs"),
        ("POST", "/inbound/customer/v1/direct/activity/{conversationId}"),
        ("POST", "/inbound/business/v1/direct/activity/{conversationId}"),
        ("POST", "/inbound/customer/v1/web-chat/{conversationId}"),
    ]:
        assert direct_handler(routes[key]) is not None, key


def test_routes_with_query_parameters_keep_fastapis_handler() -> None:
    routes = _routes()
    # Paging is validated by FastAPI (pageSize 1..100): the direct path would skip that.
    assert direct_handler(routes[("GET", "/api/v1/hubs")]) is None
    assert direct_handler(routes[("GET", "/api/v1/integrations")]) is None


def test_no_dependency_runs_on_a_worker_thread() -> None:
    for key, route in _routes().items():
        for dep in _dependencies(route.dependant):
            call = dep.call
            if call is not None and not inspect.isfunction(call):
                call = call.__call__  # a callable instance (a security scheme)
            assert inspect.iscoroutinefunction(call), (key, dep.call)
