"""Request body size limit (413), request time limit (408, code 108), control characters (400)."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unihub.core.loops import PerLoop
from unihub.middleware.asgi import TOKEN_PATH, header, send_error
from unihub.middleware.controls import CONTROL_CHARACTER, control_character_in

log = logging.getLogger("unihub.limits")

BODY_TOO_LARGE = 112
TIMED_OUT = 108


class _BodyTooLarge(Exception):
    pass


class _Deadlines:
    """The requests in flight on one event loop and the loop time by which each must end.

    One periodic sweep cancels the late ones, instead of arming and disarming a timer per
    request as `asyncio.timeout` does (about 5% of GET hub's time, profiled). A request is
    cut off between its limit and its limit plus one sweep interval.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        self.due: dict[asyncio.Task[Any], float] = {}  # math.inf: already cancelled
        self.armed = False

    def enter(self, task: asyncio.Task[Any], seconds: float) -> None:
        self.due[task] = self.loop.time() + seconds
        if not self.armed:
            self.armed = True
            self.loop.call_later(self.interval, self._sweep)

    def leave(self, task: asyncio.Task[Any]) -> bool:
        """Forget `task`; whether it was cancelled for running out of time."""
        return self.due.pop(task) == math.inf

    def _sweep(self) -> None:
        now = self.loop.time()
        for task, deadline in self.due.items():
            if deadline <= now:
                self.due[task] = math.inf
                task.cancel()
        if self.due:
            self.loop.call_later(self.interval, self._sweep)
        else:
            self.armed = False


async def _refuse_control_character(scope: Scope, send: Send, where: str) -> None:
    description = f"A control character (such as NUL) is not allowed in {where}."
    if scope["path"] != TOKEN_PATH:
        await send_error(scope, send, 400, CONTROL_CHARACTER, description)
        return
    # The token endpoint answers in RFC 6749 §5.2's format, as for every other token error.
    body = orjson.dumps({"error": "invalid_request", "error_description": description})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class LimitsMiddleware:
    """The body size limit (413/112), the time limit (408/108) and the refusal of control
    characters in the path, query and headers (400/117), in one layer.

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
        interval = min(1.0, seconds / 4)
        self._deadlines = PerLoop(lambda loop: _Deadlines(loop, interval))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and control_character_in(scope) is not None:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        if (where := control_character_in(scope)) is not None:
            await _refuse_control_character(scope, send, where)
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

        task = asyncio.current_task()
        assert task is not None  # ASGI servers run each request in a task
        deadlines = self._deadlines.get()
        deadlines.enter(task, self.seconds)
        timed_out = False
        try:
            try:
                await self.app(scope, counting_receive, tracking_send)
            finally:
                timed_out = deadlines.leave(task)
                if timed_out:
                    task.uncancel()  # our cancellation is handled here, not by the caller
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, send)
        except asyncio.CancelledError:
            if not timed_out:
                raise
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
