"""The OpenAPI document, shaped for client generators (docs/openapi.md).

- Bodies that endpoints parse themselves: endpoints read raw bodies so the checks run in the
  documented order (auth, path, existence, body); `json_body(Model)` still documents the body,
  and `build_openapi` adds those schemas.
- Operation ids read `<domain>_<verb>` (`hubs_create`): `operation_id`, the app's
  `generate_unique_id_function`, derives them from the route's tag and name; routes whose tag
  is not their domain (the engine's) pass `operation_id=` themselves.
- Security: the scheme a route's caller dependency accepts (`core.auth.SCOPES`), `[]` for
  public routes; an operation that states its own `security` (openapi_extra) keeps it.
- Errors: FastAPI's 422 `HTTPValidationError` is removed (request validation answers 400 in
  the error model, `core.handlers`).
- `extend`: callables that add what other layers know (the middleware's headers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter

from unihub.core.auth import SCOPES

_BODY_MODELS: dict[str, Any] = {}
_REF = "#/components/schemas/{model}"
OPERATION_ID = re.compile(r"^[a-z]+(_[a-z]+)+$")
OAUTH2 = "OAuth2"
BEARER = "Bearer"
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")  # FastAPI's 422 body
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

Operations = Iterator[tuple[str, str, dict[str, Any]]]


def json_body(model: type[BaseModel] | TypeAdapter[Any], name: str | None = None) -> dict[str, Any]:
    key = name or getattr(model, "__name__", None) or "Body"
    _BODY_MODELS[key] = model
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=key)}}},
        }
    }


def operation_id(route: APIRoute) -> str:
    """`<domain>_<verb>`: the first tag, then the route's name without the tag's noun
    (`create_hub` tagged `hubs` -> `hubs_create`, `create_transfer` tagged `commands` ->
    `commands_create_transfer`)."""
    domain = _words(str(route.tags[0]) if route.tags else "api")
    nouns = {"_".join(domain), "_".join(domain).removesuffix("s")}
    verb = [w for w in _words(route.name) if w not in nouns]
    return "_".join([*domain, *verb])


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z]+", text.lower()) if w]


def operations(schema: dict[str, Any]) -> Operations:
    """(path, method, operation) of every operation in the document."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in _METHODS:
                yield path, method, operation


def security_schemes(token_url: str) -> dict[str, Any]:
    scopes = {
        "hubster-portal-api": "Portal API (hubs, integrations, commands, tenant clients)",
        "hubster-engine-api": "Engine and Events APIs (conversations, activities, events)",
    }
    return {
        OAUTH2: {
            "type": "oauth2",
            "description": "Client credentials of a tenant's portal or engine API client.",
            "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": scopes}},
        },
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from the token endpoint (or a WebChat visitor "
            "token, where the operation says so).",
        },
    }


def requirement(scope: str) -> list[dict[str, list[str]]]:
    """The `security` of an operation taking tokens of `scope` (OAuth2 or a bearer token)."""
    return [{OAUTH2: [scope]}, {BEARER: []}]


def _route_security(route: APIRoute) -> list[dict[str, list[str]]]:
    for dependency in route.dependant.dependencies:
        scope = SCOPES.get(dependency.call) if dependency.call is not None else None
        if scope is not None:
            return requirement(scope)
    return []


def _remove_validation_errors(schema: dict[str, Any]) -> None:
    ref = _REF.format(model="HTTPValidationError")
    for _, _, operation in operations(schema):
        answer = operation.get("responses", {}).get("422")
        if answer and answer.get("content", {}).get("application/json", {}).get("schema") == {
            "$ref": ref
        }:
            del operation["responses"]["422"]
    components = schema.get("components", {}).get("schemas", {})
    for name in _VALIDATION_SCHEMAS:  # HTTPValidationError first: it refers to the other
        if name in components and f'"{_REF.format(model=name)}"' not in json.dumps(schema):
            del components[name]


def _untitled_answers(schema: dict[str, Any]) -> None:
    """FastAPI titles inline answer schemas `Response <operation id>`; generators turn that
    into class names such as `HubsGetResponseHubsGet`. Untitled, they are `<op>Response200`."""
    for _, _, operation in operations(schema):
        for answer in operation.get("responses", {}).values():
            for content in answer.get("content", {}).values():
                inline = content.get("schema", {})
                if str(inline.get("title", "")).startswith("Response "):
                    del inline["title"]


def build_openapi(
    app: FastAPI,
    *,
    token_url: str,
    extend: Sequence[Callable[[dict[str, Any]], None]] = (),
) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    models = components.setdefault("schemas", {})
    for key, model in _BODY_MODELS.items():
        adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
        body = adapter.json_schema(ref_template=_REF, by_alias=True, mode="validation")
        for def_name, definition in body.pop("$defs", {}).items():
            models.setdefault(def_name, definition)
        models[key] = body
    _remove_validation_errors(schema)
    _untitled_answers(schema)
    components["securitySchemes"] = security_schemes(token_url)
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        item = schema["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is not None and "security" not in operation:
                operation["security"] = _route_security(route)
    for step in extend:
        step(schema)
    app.openapi_schema = schema
    return schema
