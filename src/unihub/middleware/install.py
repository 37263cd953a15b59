"""Wire every middleware layer and fault handler into an app, in one deliberate order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from unihub.core.context import AppContext
from unihub.core.routing import include_flat
from unihub.middleware.faults import install_fault_handlers
from unihub.middleware.idempotency import IdempotencyMiddleware
from unihub.middleware.limits import LimitsMiddleware
from unihub.middleware.observability import Metrics, ObservabilityMiddleware
from unihub.middleware.observability import router as metrics_router
from unihub.middleware.ratelimit import RateLimitMiddleware, rate_limit_enabled

# Headers a browser client may read from cross-origin answers.
_EXPOSED = [
    "X-Request-Id",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "Idempotent-Replayed",
]


def install_middleware(
    app: FastAPI, ctx: AppContext, edge: Sequence[Callable[[ASGIApp], ASGIApp]] = ()
) -> None:
    """Call after every other middleware is added, so the observability layer is outermost.

    Starlette runs the last added middleware first; the resulting order per request is:
    request id, access log and metrics (one layer) -> `edge` (in the given order) -> CORS
    -> body and time limits -> rate limit -> idempotency -> routing. So every answer,
    413/408/429 and preflights included, is counted and logged with its request id, and the
    limits apply before any database work.
    """
    settings = ctx.settings
    install_fault_handlers(app)
    include_flat(app, metrics_router)
    app.state.metrics = Metrics()

    app.add_middleware(IdempotencyMiddleware, ctx=ctx, request_timeout_s=settings.request_timeout_s)
    if rate_limit_enabled(settings.rate_limit):
        # Absent when off: no per-request cost at all (benchmarks run this way).
        app.add_middleware(
            RateLimitMiddleware,
            ctx=ctx,
            spec=settings.rate_limit,
            redis_url=settings.redis_url,
            token_peer_spec=settings.token_peer_limit,
            token_failure_spec=settings.token_failure_limit,
        )
    app.add_middleware(
        LimitsMiddleware, max_bytes=settings.max_body_bytes, seconds=settings.request_timeout_s
    )
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=_EXPOSED,
            max_age=600,
        )
    for layer in reversed(edge):
        app.add_middleware(layer)
    app.add_middleware(
        ObservabilityMiddleware, metrics=app.state.metrics, log_access=settings.access_log
    )
