"""ASGI middleware written against the raw protocol: it runs on every request, so it stays lean."""

from __future__ import annotations

import itertools
import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


# Unique, not secret: a random per-process prefix and a counter (uuid4 costs a syscall).
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)


def _new_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def request_id(scope: Scope) -> str:
    """A sane incoming `X-Request-Id`, else a new one."""
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _SANE_ID.match(incoming) else _new_id()
    return _new_id()


class RequestIdMiddleware:
    """Echo a sane incoming `X-Request-Id` or make one; logs read it from `request_id_var`.

    The app does this in `hardening.observability.ObservabilityMiddleware` (one layer with the
    access log and metrics); this stands alone for apps without that layer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        token = request_id_var.set(rid)
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
