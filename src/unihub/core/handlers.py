"""The app's exception handlers: every failure answers in the error model."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from unihub.core.errors import ApiError, ErrorItem, render
from unihub.core.responses import JSON
from unihub.core.validation import errors_from_pydantic

log = logging.getLogger("unihub.errors")


def _describe_status(status: int, path: str, method: str) -> ErrorItem:
    if status == 404:
        return ErrorItem(105, f"Requested resource '{path}' was not found.")
    if status == 405:
        return ErrorItem(105, f"Method {method} is not supported on '{path}'.")
    return ErrorItem(100, "System error.")


def allowed_methods(request: Request) -> list[str]:
    """The methods of every route whose path matches the request's, in a stable order."""
    scope = {**request.scope, "method": ""}  # no route takes "": path matches are partial
    found: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(scope)[0] is not Match.NONE:
            found.update(getattr(route, "methods", None) or ())
    return sorted(found)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSON:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSON:
        return render(request, ApiError(400, errors_from_pydantic(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSON:
        item = _describe_status(exc.status_code, request.url.path, request.method)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of one matching route; every route of the path counts.
            headers["Allow"] = ", ".join(allowed_methods(request))
        return render(request, ApiError(exc.status_code, item, headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSON:
        return unexpected(request, exc)


def unexpected(request: Request, exc: BaseException) -> JSON:
    """The one 500 answer: logged with its traceback, nothing internal in the body."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return render(request, ApiError.one(500, 100, "System error."))
