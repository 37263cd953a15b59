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
from sqlalchemy.exc import TimeoutError as PoolTimeout

from unihub.core.errors import ApiError, render
from unihub.core.handlers import unexpected
from unihub.core.responses import JSON

log = logging.getLogger("unihub.faults")

UNAVAILABLE = 115
RETRY_AFTER_S = 5


# SQLSTATE classes and codes that say "the server cannot serve now", not "your query is
# wrong": 08 connection exception, 53 insufficient resources, 57P01-57P05 operator
# intervention (admin shutdown, crash shutdown, cannot connect now: starting up or shutting
# down, database dropped, idle session timeout).
_UNAVAILABLE_CLASSES = ("08", "53")
_UNAVAILABLE_CODES = frozenset({"57P01", "57P02", "57P03", "57P04", "57P05"})


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database (or the disk under it) cannot serve right now.

    Classified by SQLSTATE and by connection errors anywhere in the cause chain, not by the
    wrapper's type: SQLAlchemy wraps asyncpg's CannotConnectNowError (57P03) as a plain
    DBAPIError, which used to answer 500 at the edges of every PostgreSQL restart.
    """
    if isinstance(exc, OperationalError | InterfaceError | OSError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | ConnectionError):
            return True
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and (
            state.startswith(_UNAVAILABLE_CLASSES) or state in _UNAVAILABLE_CODES
        ):
            return True
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )
    return False


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
            return unexpected(request, exc)
        # The driver message may name hosts or files: it goes to the log, not the client.
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            exc_info=True,
        )
        return render(request, unavailable_error())

    for exc_type in (DBAPIError, OSError, PoolTimeout):
        app.add_exception_handler(exc_type, _unavailable)
