"""Register a domain router's routes directly on the app's router.

FastAPI 0.165's `include_router` keeps each router as one `_IncludedRouter` entry: a request
is matched against the router's routes once to pick the router and again inside it, with
scope bookkeeping per candidate (~15% of the GET hub profile). Our routers carry their full
paths and tags and are included without a prefix or extra options, so the same routes
registered on the app router directly are equivalent (same paths, names, operation ids,
OpenAPI) and are matched once. Every route benefits; none is special-cased.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute


def include_flat(app: FastAPI, router: APIRouter) -> None:
    if router.dependencies or router.on_startup or router.on_shutdown or router.callbacks:
        app.include_router(router)  # options a flat copy would not carry over
        return
    target = app.router
    for route in router.routes:
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
                route_class_override=type(route),
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
