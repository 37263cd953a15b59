"""OpenAPI for bodies that endpoints parse themselves.

Endpoints read raw bodies so the checks run in the documented order (auth, path, existence,
body); `json_body(Model)` still documents the body, and `build_openapi` adds those schemas.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, TypeAdapter

_BODY_MODELS: dict[str, Any] = {}
_REF = "#/components/schemas/{model}"


def json_body(model: type[BaseModel] | TypeAdapter[Any], name: str | None = None) -> dict[str, Any]:
    key = name or getattr(model, "__name__", None) or "Body"
    _BODY_MODELS[key] = model
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=key)}}},
        }
    }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for key, model in _BODY_MODELS.items():
        adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
        body = adapter.json_schema(ref_template=_REF, by_alias=True, mode="validation")
        for def_name, definition in body.pop("$defs", {}).items():
            components.setdefault(def_name, definition)
        components[key] = body
    app.openapi_schema = schema
    return schema
