"""The middleware's headers in the OpenAPI document, named by the constants the layers send.

- `X-Request-Id`: an optional request header on every operation (echoed when it matches its
  pattern, else a new id is made) and an answer header on every answer.
- `RateLimit-Limit`/`-Remaining`/`-Reset` on every answer of a rate-limited path (when
  `UNIHUB_RATE_LIMIT` is on), and on 429 with `Retry-After`; 429 is documented on each.
- `Idempotency-Key` on the POSTs the idempotency layer applies to, their replays'
  `Idempotent-Replayed`, and the 409 of a key whose first request is still running.
- `Retry-After` on every 503.
The document is the same whatever the settings, so a client generated from one server works
against another.
"""

from __future__ import annotations

from typing import Any

from unihub.core import request_id
from unihub.core.openapi import operations
from unihub.middleware.idempotency import KEY_HEADER, KEY_PATTERN, NOT_CREATING, REPLAYED_HEADER
from unihub.middleware.ratelimit import EXEMPT_PATHS, LIMIT_HEADERS

RETRY_AFTER = "Retry-After"
_PARAM = "#/components/parameters/{name}"
_HEADER = "#/components/headers/{name}"
_ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
_KEY_BUSY = (
    "A request with the same Idempotency-Key is still being processed (code 116); retry "
    "after Retry-After seconds."
)

_PARAMETERS: dict[str, dict[str, Any]] = {
    "IdempotencyKey": {
        "name": KEY_HEADER,
        "in": "header",
        "required": False,
        "description": "Makes the POST safe to retry: the same key with the same request within "
        "24 hours answers the first answer again and creates nothing; the same key with "
        "another request is refused (400, code 113). Per API client.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
    },
    "RequestId": {
        "name": request_id.HEADER,
        "in": "header",
        "required": False,
        "description": "A request id to log and echo; one that does not match the pattern is "
        "replaced by a new id.",
        "schema": {"type": "string", "pattern": request_id.SANE_PATTERN},
    },
}

_HEADERS: dict[str, dict[str, Any]] = {
    request_id.HEADER: {
        "description": "The request's id (the sane incoming one, else a new one), as logged.",
        "schema": {"type": "string"},
    },
    LIMIT_HEADERS[0]: {
        "description": "Requests allowed in the current window (rate limiting on).",
        "schema": {"type": "integer"},
    },
    LIMIT_HEADERS[1]: {
        "description": "Requests left in the current window (rate limiting on).",
        "schema": {"type": "integer"},
    },
    LIMIT_HEADERS[2]: {
        "description": "Seconds until the current window ends (rate limiting on).",
        "schema": {"type": "integer"},
    },
    RETRY_AFTER: {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    },
    REPLAYED_HEADER: {
        "description": "`true` when the answer is the stored first answer to this Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def _ref(template: str, name: str) -> dict[str, str]:
    return {"$ref": template.format(name=name)}


def _add_headers(answer: dict[str, Any], *names: str) -> None:
    headers = answer.setdefault("headers", {})
    for name in names:
        headers.setdefault(name, _ref(_HEADER, name))


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_BODY}}}


def document_headers(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    components.setdefault("parameters", {}).update(_PARAMETERS)
    components.setdefault("headers", {}).update(_HEADERS)
    for path, method, operation in operations(schema):
        parameters = operation.setdefault("parameters", [])
        parameters.append(_ref(_PARAM, "RequestId"))
        answers: dict[str, Any] = operation.setdefault("responses", {})
        limited = path not in EXEMPT_PATHS
        if limited:
            answers.setdefault("429", _error("Too many requests for this API client."))
        idempotent = method == "post" and path not in NOT_CREATING
        if idempotent:
            parameters.append(_ref(_PARAM, "IdempotencyKey"))
            busy = answers.setdefault("409", _error(_KEY_BUSY))
            if busy["description"] != _KEY_BUSY:
                busy["description"] += " Or: " + _KEY_BUSY[0].lower() + _KEY_BUSY[1:]
        for status, answer in answers.items():
            _add_headers(answer, request_id.HEADER)
            if limited:
                _add_headers(answer, *LIMIT_HEADERS)
            if status in ("429", "503") or (idempotent and status == "409"):
                _add_headers(answer, RETRY_AFTER)
            if idempotent and status.startswith("2"):
                _add_headers(answer, REPLAYED_HEADER)
