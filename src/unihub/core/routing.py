"""Register a domain router's routes directly on the app's router.

FastAPI 0.165's `include_router` keeps each router as one `_IncludedRouter` entry: a request
is matched against the router's routes once to pick the router and again inside it, with
scope bookkeeping per candidate (~15% of the GET hub profile). Our routers carry their full
paths and tags and are included without a prefix or extra options, so the same routes
registered on the app router directly are equivalent (same paths, names, operation ids,
OpenAPI) and are matched once. Every route benefits; none is special-cased.

Matching still tries the routes in order, and each miss cost a regex and FastAPI's scope
lookups (~0.6 us; GET hub sits behind 15 routes). `PrefilteredRoute` first tests whether the
path contains the route's literal prefix, which a matching path always does; misses then cost a
substring test.

Routes whose parameters are only `str` path parameters, the `Request` and dependencies that
take only the `Request` (the callers of `core.auth`, the engine runtime) are called directly
(`direct_handler`): FastAPI's own handler solved those dependencies through its general
machinery (body, query, header and cookie handling, per-request endpoint context), ~25% of
GET hub (profiled). OpenAPI is generated from the same `Dependant`, so it does not change;
every other route keeps FastAPI's handler.

Two orderings cut the remaining misses without changing which route answers:
- `reads_first`: within a router whose routes each take one method, GET routes go first.
  Only routes sharing a method can both fully match one request, and their relative order is
  kept; a route of another method merely matches "partially" (a 405 candidate), which costs a
  full regex match and scope, so reads, the bulk of the traffic, no longer pay for the writes
  listed before them.
- `builtin_routes_last`: FastAPI's own /openapi.json, /docs and /redoc come after the API.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PrefilteredRoute(APIRoute):
    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        # A matching path starts with this after the root path, so it contains it.
        self.literal_prefix = path.split("{", 1)[0]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.literal_prefix not in scope["path"]:
            return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Handler:
        return direct_handler(self) or super().get_route_handler()


def _takes_request_only(dep: Dependant) -> bool:
    """A dependency FastAPI would call with the request alone, and nothing to clean up."""
    call = dep.call
    return (
        call is not None
        and inspect.iscoroutinefunction(call)
        and dep.request_param_name is not None
        and len(inspect.signature(call).parameters) == 1
        and not (dep.dependencies or dep.path_params or dep.query_params)
        and not (dep.header_params or dep.cookie_params or dep.body_params)
        and not (dep.security_scopes_param_name or dep.own_oauth_scopes)
    )


def _returns_response(call: Callable[..., Any]) -> bool:
    try:
        hint = typing.get_type_hints(call).get("return")
    except Exception:  # an annotation that does not resolve: leave the route to FastAPI
        return False
    return isinstance(hint, type) and issubclass(hint, Response)


def direct_handler(route: APIRoute) -> Handler | None:
    """The route's endpoint called without FastAPI's dependency solver, when nothing the
    solver does applies to it (see the module's docstring); None otherwise."""
    d = route.dependant
    call = d.call
    if call is None or not inspect.iscoroutinefunction(call) or not _returns_response(call):
        return None
    if route.body_field is not None or d.query_params or d.header_params or d.cookie_params:
        return None
    if d.body_params or d.websocket_param_name or d.http_connection_param_name:
        return None
    if d.response_param_name or d.background_tasks_param_name or d.security_scopes_param_name:
        return None
    if not all(field.field_info.annotation is str for field in d.path_params):
        return None
    if not all(_takes_request_only(dep) for dep in d.dependencies):
        return None
    path = [(field.name, field.alias) for field in d.path_params]
    deps = [(dep.name, dep.call) for dep in d.dependencies]
    request_name = d.request_param_name

    async def handler(request: Request) -> Response:
        params = request.path_params
        kwargs: dict[str, Any] = {name: params[alias] for name, alias in path}
        if request_name is not None:
            kwargs[request_name] = request
        for name, dep_call in deps:
            value = await dep_call(request)  # type: ignore[misc]
            if name is not None:
                kwargs[name] = value
        response: Response = await call(**kwargs)
        return response

    return handler


def reads_first(routes: list[BaseRoute]) -> list[BaseRoute]:
    if any(len(getattr(route, "methods", None) or ()) != 1 for route in routes):
        return routes  # a multi-method route could change which route answers: keep the order
    return sorted(routes, key=lambda route: getattr(route, "methods", None) != {"GET"})


def builtin_routes_last(app: FastAPI, builtin: list[BaseRoute]) -> None:
    """Move `builtin` (the routes FastAPI added for its docs) behind every API route."""
    routes = app.router.routes
    routes[:] = [r for r in routes if r not in builtin] + [r for r in routes if r in builtin]


def include_flat(app: FastAPI, router: APIRouter) -> None:
    if router.dependencies or router.on_startup or router.on_shutdown or router.callbacks:
        app.include_router(router)  # options a flat copy would not carry over
        return
    target = app.router
    for route in reads_first(list(router.routes)):
        if isinstance(route, APIRoute):
            target.add_api_route(
                route.path,
                route.endpoint,
                response_model=route.response_model,
                status_code=route.status_code,
                tags=list(route.tags),
                dependencies=list(route.dependencies),
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses=dict(route.responses),
                deprecated=route.deprecated,
                methods=set(route.methods or ()),
                operation_id=route.operation_id,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                include_in_schema=route.include_in_schema,
                # A router-level default stays a placeholder, so the app's JSON default applies
                # exactly as it does through include_router.
                response_class=route.response_class,
                name=route.name,
                route_class_override=(PrefilteredRoute if type(route) is APIRoute else type(route)),
                callbacks=route.callbacks,
                openapi_extra=route.openapi_extra,
                generate_unique_id_function=route.generate_unique_id_function,
                strict_content_type=route.strict_content_type,
                max_body_size=route.max_body_size,
                form_limits=route.form_limits or None,
            )
        elif isinstance(route, APIWebSocketRoute):
            target.add_api_websocket_route(
                route.path, route.endpoint, route.name, dependencies=list(route.dependencies)
            )
        else:
            raise TypeError(f"cannot register {type(route).__name__} flat; use include_router")
