"""Small helpers shared by the raw-ASGI middleware of this package."""

from __future__ import annotations

import orjson
from starlette.types import Scope, Send

from unihub.core.errors import ErrorItem, error_body, prefix_for_path

# Token issuance: keyed, limited and answered (RFC 6749 format) apart from the other routes.
TOKEN_PATH = "/connect/token"


async def send_error(
    scope: Scope,
    send: Send,
    status: int,
    code: int,
    description: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer in the error model without going through the app (it may be the problem)."""
    body = orjson.dumps(
        error_body(status, [ErrorItem(code, description)], prefix_for_path(scope["path"]))
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def scope_state(scope: Scope) -> dict[str, object]:
    # Starlette's `request.state` is backed by this same dict.
    state: dict[str, object] = scope.setdefault("state", {})
    return state
