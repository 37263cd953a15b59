"""Infrastructure failures become clean answers: 503 with Retry-After, never a stack trace.

A database that is down, restarting, read-only or out of space raises driver errors; they
answer 503 (code 115) so clients back off and retry. Connections are re-established by the
pool on the next request (on PostgreSQL, connections the server closed are replaced at
checkout; on SQLite, a fresh file handle), so the service recovers by itself when the
database returns.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from unihub.core.errors import ApiError, render
from unihub.core.responses import JSON

log = logging.getLogger("unihub.faults")

UNAVAILABLE = 115
RETRY_AFTER_S = 5


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database (or the disk under it) cannot serve right now."""
    if isinstance(exc, OperationalError | InterfaceError | OSError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def unavailable_error() -> ApiError:
    return ApiError.one(
        503,
        UNAVAILABLE,
        "The service cannot reach its database right now; retry later.",
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def install_fault_handlers(app: FastAPI) -> None:
    async def _unavailable(request: Request, exc: Exception) -> JSON:
        if not is_unavailable(exc):
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return render(request, ApiError.one(500, 100, "System error."))
        # The driver message may name hosts or files: it goes to the log, not the client.
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            exc_info=True,
        )
        return render(request, unavailable_error())

    for exc_type in (DBAPIError, OSError):
        app.add_exception_handler(exc_type, _unavailable)
