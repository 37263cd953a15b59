"""What every fake provider shares: request recording and switchable failure modes."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

Mode = Literal["ok", "slow", "error500", "garbage"]
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    client_port: int | None = None  # the caller's TCP port: one per connection

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        return parse_basic(self.headers.get("authorization"))

    @property
    def bearer(self) -> str | None:
        return parse_bearer(self.headers.get("authorization"))


def parse_basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, sep, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def parse_bearer(header: str | None) -> str | None:
    if not header or not header.lower().startswith("bearer "):
        return None
    return header[7:].strip() or None


class FakeProvider:
    """Subclasses list their routes; `mode` applies to every path, or only to `mode_paths`."""

    def __init__(self) -> None:
        self.base_url = ""
        self.slow_s = 3.0
        self.reset()

    def reset(self) -> None:
        self.mode: Mode = "ok"
        self.mode_paths: set[str] | None = None
        self.requests: list[RecordedRequest] = []

    def routes(self) -> list[tuple[str, str, Handler]]:
        raise NotImplementedError

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(path, self._wrap(handler), methods=[method])
                for method, path, handler in self.routes()
            ]
        )

    def requests_to(self, suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    def _wrap(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            form: dict[str, str] = {}
            if request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                form = dict(parse_qsl(body.decode(), keep_blank_values=True))
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    headers={k.lower(): v for k, v in request.headers.items()},
                    query=dict(request.query_params),
                    form=form,
                    client_port=request.client.port if request.client else None,
                )
            )
            failing = self.mode_paths is None or any(
                request.url.path.endswith(p) for p in self.mode_paths
            )
            if failing and self.mode == "slow":
                await asyncio.sleep(self.slow_s)
            elif failing and self.mode == "error500":
                return PlainTextResponse("Internal Server Error", status_code=500)
            elif failing and self.mode == "garbage":
                return Response("<html><body>Hello</body></html>", media_type="text/html")
            request.state.form = form
            return await handler(request)

        return endpoint
