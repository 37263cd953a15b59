"""The one error model: `{"status": N, "errors": [{"code": C, "description": "..."}]}`.

Services raise `ApiError`; the handlers of `core.handlers` render it with the prefix of the
API resource the request went to (PRT, ENG, EVT, IDT).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import BaseModel

from unihub.core.responses import JSON

# Path prefixes -> error code prefix; the first match wins, PRT is the default.
_PREFIXES: list[tuple[str, str]] = [
    ("/connect", "IDT"),
    ("/.well-known", "IDT"),
    ("/api/v1/conversations", "ENG"),
    ("/api/v1/interactions", "ENG"),
    ("/api/v1/deliveries", "ENG"),
    ("/api/v1/integrations/web-chat", "ENG"),
    ("/inbound", "ENG"),
    ("/webchat", "ENG"),
    ("/media", "ENG"),
    ("/engine-chat-hub", "EVT"),
    ("/api/v1/events", "EVT"),
    ("/events", "EVT"),
]


def prefix_for_path(path: str) -> str:
    for start, prefix in _PREFIXES:
        if path.startswith(start):
            return prefix
    return "PRT"


@dataclass(frozen=True, slots=True)
class ErrorItem:
    code: int
    description: str


class ApiError(Exception):
    """An answer in the error model; `description`s carry no code suffix (added on render)."""

    def __init__(
        self,
        status: int,
        errors: Sequence[ErrorItem] | ErrorItem,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.errors = [errors] if isinstance(errors, ErrorItem) else list(errors)
        self.headers = headers or {}
        super().__init__("; ".join(e.description for e in self.errors))

    @classmethod
    def one(
        cls, status: int, code: int, description: str, headers: dict[str, str] | None = None
    ) -> ApiError:
        return cls(status, ErrorItem(code, description), headers)


# Shorthands for errors every domain raises.
def bad_request(code: int, description: str) -> ApiError:
    return ApiError.one(400, code, description)


def not_found(code: int, description: str) -> ApiError:
    return ApiError.one(404, code, description)


def unauthorized(description: str = "Unauthorized access.") -> ApiError:
    return ApiError.one(401, 102, description, {"WWW-Authenticate": "Bearer"})


def forbidden(code: int = 101, description: str = "Forbidden.") -> ApiError:
    return ApiError.one(403, code, description)


class ErrorDetail(BaseModel):
    code: int
    description: str


class ErrorBody(BaseModel):
    """The body of every non-2xx answer of the Portal, Engine and Events APIs."""

    status: int
    errors: list[ErrorDetail]


def error_body(status: int, errors: Iterable[ErrorItem], prefix: str) -> dict[str, Any]:
    return {
        "status": status,
        "errors": [
            {"code": e.code, "description": f"{e.description} (code: {prefix}{e.code:06d})"}
            for e in errors
        ],
    }


def render(request: Request, exc: ApiError) -> JSON:
    prefix = prefix_for_path(request.url.path)
    return JSON(
        error_body(exc.status, exc.errors, prefix), status_code=exc.status, headers=exc.headers
    )


# OpenAPI `responses=` for routes: every error status is documented with the same body.
def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    texts = {
        400: "Bad request; every problem of the request is listed.",
        401: "No, invalid or expired access token.",
        403: "Token for another API resource, or the action is not allowed.",
        404: "The resource does not exist (or belongs to another tenant).",
        408: "The request took longer than the time limit.",
        409: "Conflict with the resource's current state (the description names it).",
        413: "The request body is larger than the limit.",
        429: "Too many requests for this API client.",
        500: "Unexpected failure; no internals are exposed.",
        503: "A dependency (database or provider) is unavailable.",
    }
    return {s: {"model": ErrorBody, "description": texts[s]} for s in statuses}


# 400 on every route: a control character in the path, query or a header (code 117).
COMMON_ERRORS = (400, 401, 403, 408, 413, 429, 500, 503)
# Routes without a bearer token: no 401, and 403 only where the route says so.
PUBLIC_ERRORS = (400, 408, 413, 429, 500, 503)
