"""The ASGI application: one FastAPI app serving identity, portal, engine and events."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig

from unihub import __version__
from unihub.core.config import Settings, get_settings
from unihub.core.context import AppContext
from unihub.core.database import Database
from unihub.core.handlers import install_error_handlers
from unihub.core.http import close_provider_clients
from unihub.core.logs import configure_logging
from unihub.core.openapi import build_openapi, operation_id
from unihub.core.responses import JSON
from unihub.core.routing import builtin_routes_last, include_flat
from unihub.core.security import SecretBox, secret_key_material
from unihub.core.tasks import PeriodicTask
from unihub.core.token_watch import TokenWatch
from unihub.delivery.engine import EngineRuntime
from unihub.identity.keys import KeyRing
from unihub.identity.revocation import RevocationList
from unihub.middleware.install import install_middleware
from unihub.middleware.openapi import document_headers
from unihub.webchat.cors import WebChatCors

log = logging.getLogger("unihub.app")

_NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


SHUTDOWN_STEP_S = 10.0


async def _bounded(step: str, work: Coroutine[Any, Any, None]) -> None:
    """Run one shutdown step, abandoning it after `SHUTDOWN_STEP_S`: a connection that never
    answers its close must not keep the process from exiting (seen as a rare hang)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=SHUTDOWN_STEP_S)
    if not done:
        task.cancel()
        log.warning("shutdown: %s did not finish within %g s; abandoned", step, SHUTDOWN_STEP_S)
    elif not task.cancelled() and task.exception() is not None:
        log.warning("shutdown: %s failed: %r", step, task.exception())


def build_context(settings: Settings) -> AppContext:
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    box = SecretBox(secret_key_material(settings))
    revocations = RevocationList(db, settings.revocation_cache_s)
    return AppContext(
        settings=settings,
        db=db,
        box=box,
        keys=KeyRing(db, box),
        revocations=revocations,
        token_watch=TokenWatch(revocations),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    ctx = build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ctx.keys.load()
        # Everything loaded so far lives as long as the process: keep it out of the cyclic
        # GC's full collections (profiled: their pauses made list-page p99 tails).
        gc.collect()
        gc.freeze()
        await app.state.engine.start()
        yield
        await _bounded("stopping the delivery engine", app.state.engine.stop())
        await _bounded("stopping the token watch", ctx.token_watch.stop())
        await _bounded("closing provider connections", close_provider_clients())
        await _bounded("closing database connections", ctx.db.dispose())

    app = FastAPI(
        title="unihub",
        version=__version__,
        description="Self-hostable, wire-compatible Hubster API: identity, portal, engine.",
        default_response_class=JSON,
        lifespan=lifespan,
        telemetry=None if settings.otel else _NO_TELEMETRY,
        generate_unique_id_function=operation_id,
    )
    app.state.ctx = ctx
    app.state.engine = EngineRuntime(ctx, periodic_tasks())
    app.state.engine.services.extend(engine_services(ctx, app.state.engine))
    wire_domains()
    install_error_handlers(app)
    builtin = list(app.router.routes)
    for router in domain_routers():
        include_flat(app, router)
    install_middleware(app, ctx, edge=[WebChatCors])
    builtin_routes_last(app, builtin)

    def openapi() -> dict[str, Any]:
        from unihub.identity.endpoints import TOKEN_PATH

        return build_openapi(app, token_url=TOKEN_PATH, extend=[document_headers])

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def periodic_tasks() -> tuple[PeriodicTask, ...]:
    """Every domain's periodic work (`<domain>/tasks.py`), run by each process's engine."""
    from unihub.channels.telegram.tasks import TASKS as telegram
    from unihub.conversations.tasks import TASKS as conversations
    from unihub.identity.tasks import TASKS as identity

    return (*conversations, *identity, *telegram)


def engine_services(ctx: AppContext, engine: EngineRuntime) -> list[Any]:
    """Per-process work beside the delivery worker, started and stopped with it."""
    from unihub.inbound.telegram_polling import TelegramPolling

    return [TelegramPolling(ctx, engine)]


def wire_domains() -> None:
    """Hooks by which a lower domain's events reach a higher one without importing it."""
    from unihub.conversations.repository import close_for_hub
    from unihub.hubs.service import on_delete

    on_delete(close_for_hub)  # a deleted hub's open conversations are closed


def domain_routers() -> tuple[APIRouter, ...]:
    """Every domain's router, in the order their routes are tried."""
    from unihub import health
    from unihub.commands.endpoints import router as commands
    from unihub.conversations.endpoints import router as conversations
    from unihub.delivery.endpoints import router as deliveries
    from unihub.events.endpoints import router as events
    from unihub.events.hub import router as events_hub
    from unihub.hubs.endpoints import router as hubs
    from unihub.identity.endpoints import router as identity
    from unihub.inbound.endpoints import router as provider_inbound
    from unihub.inbound.media import router as provider_media
    from unihub.integrations.endpoints import router as integrations
    from unihub.tenants.endpoints import router as tenants
    from unihub.webchat.endpoints import router as webchat

    return (
        health.router,
        identity,
        tenants,
        hubs,
        integrations,
        commands,
        conversations,
        deliveries,
        events,
        events_hub,
        webchat,
        provider_inbound,
        provider_media,
    )
