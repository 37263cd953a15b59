"""Request body size limit (413) and request time limit (408, code 108)."""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unihub.hardening.asgi import header, send_error

log = logging.getLogger("unihub.limits")

BODY_TOO_LARGE = 112
TIMED_OUT = 108


class _BodyTooLarge(Exception):
    pass


class LimitsMiddleware:
    """The body size limit (413/112) and the time limit (408/108), in one layer.

    Bodies over `max_bytes` are refused by Content-Length up front, else while they stream
    in: chunked uploads have no Content-Length, so `receive` is wrapped and counts the bytes,
    and the app never sees more than the limit. A request (reading the body included) is cut
    off after `seconds`; cancellation unwinds the handler, so an open write transaction rolls
    back and a timed-out request leaves nothing half-written. One layer, not two: both run on
    every request (profiled on GET hub).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return

        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            async with asyncio.timeout(self.seconds) as limit:
                await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, send)
        except TimeoutError:
            if not limit.expired():
                raise  # a dependency's own timeout, not ours
            log.warning(
                "request over the time limit",
                extra={"fields": {"path": scope["path"], "limitS": self.seconds}},
            )
            if not started:
                await send_error(
                    scope,
                    send,
                    408,
                    TIMED_OUT,
                    f"The request took longer than {self.seconds:g} seconds and was cancelled.",
                )

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await send_error(
            scope,
            send,
            413,
            BODY_TOO_LARGE,
            f"The request body is larger than the limit of {self.max_bytes} bytes.",
            [(b"connection", b"close")],
        )
