"""The engine's per-process machinery: clock, websockets, notifications and the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from fastapi import Request
from starlette.requests import HTTPConnection

from unihub.core.context import AppContext
from unihub.core.tasks import PeriodicTask
from unihub.delivery.clock import Clock
from unihub.delivery.pubsub import Notifier, make_notifier
from unihub.delivery.sockets import SocketHub
from unihub.delivery.worker import DeliveryWorker


class Service(Protocol):
    """Per-process work started after the worker and stopped before it (the app adds
    them: e.g. Telegram's pollers, which accept activities and so sit above the engine)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class EngineRuntime:
    def __init__(self, ctx: AppContext, tasks: Sequence[PeriodicTask] = ()) -> None:
        self.ctx = ctx
        self.clock = Clock()
        self.wake = asyncio.Event()
        self.sockets = SocketHub()
        self.notifier: Notifier = make_notifier(ctx.settings, self.wake)
        self.worker = DeliveryWorker(ctx, self.clock, self.sockets, self.wake, tasks)
        self.services: list[Service] = []

    async def start(self) -> None:
        await self.notifier.start()
        await self.worker.start()
        for service in self.services:
            await service.start()

    async def stop(self) -> None:
        for service in reversed(self.services):
            await service.stop()
        await self.worker.stop()
        await self.notifier.stop()


def get_engine(conn: HTTPConnection) -> EngineRuntime:
    engine: EngineRuntime = conn.app.state.engine
    return engine


async def engine_of(request: Request) -> EngineRuntime:
    # async on purpose: FastAPI ran this plain `def` on a worker thread, a thread round trip
    # per posted activity (as `core.context.get_context` found for GET hub).
    return get_engine(request)
