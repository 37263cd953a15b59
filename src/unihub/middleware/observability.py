"""Access log (one JSON line per request) and Prometheus metrics by route template and status.

Routes are labelled by their template (`/api/v1/hubs/{hubId}`), never the raw path, so ids do
not explode the label space; unmatched paths share one label. Query strings and headers are
not logged: they may carry secrets. The client's address is (`clientIp`).
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unihub.core.request_id import request_id, request_id_var
from unihub.middleware.asgi import scope_state
from unihub.middleware.clients import client_ip

access_log = logging.getLogger("unihub.access")

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "unihub_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "unihub_http_request_duration_seconds",
            "Time to answer HTTP requests, by method, route template and status.",
            ("method", "route", "status"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        # `labels()` builds and locks on every call; the label space is small and fixed
        # (route templates x methods x statuses), so each pair of children is kept.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = (method, route, str(status))
            children = self._children[key] = (
                self.requests.labels(*labels),
                self.latency.labels(*labels),
            )
        children[0].inc()
        children[1].observe(elapsed)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class ObservabilityMiddleware:
    """Request id, access log and metrics: one layer, as all three run on every request.

    The outermost layer: every answer, 413/408/429 and CORS preflights included, carries its
    `X-Request-Id` and is counted and logged with it.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, log_access: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_access = log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = request_id(scope)
        token = request_id_var.set(rid)
        id_header = (b"x-request-id", rid.encode())
        status = 500  # what the server answers when the app raises

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            try:
                elapsed = time.perf_counter() - start
                route = route_template(scope)
                self.metrics.observe(scope["method"], route, status, elapsed)
                if self.log_access:
                    fields: dict[str, object] = {
                        "requestId": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "durationMs": round(elapsed * 1000, 3),
                        # The TCP peer, or with `serve --proxy-headers` the client a trusted
                        # proxy forwarded for (X-Forwarded-For).
                        "clientIp": client_ip(scope),
                    }
                    client_id = scope_state(scope).get("client_id")
                    if client_id:
                        fields["clientId"] = client_id
                    access_log.info("request", extra={"fields": fields})
            finally:
                request_id_var.reset(token)


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    operation_id="health_metrics",
    summary="Prometheus metrics: request counts and latency by route and status",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
