"""CORS for the few endpoints a WebChat widget calls from a visitor's browser.

The token and config endpoints check the Origin themselves (a 200 only ever reaches an
allowed origin). Their answers, errors included, name the caller's origin, so the component
can tell "origin not allowed" (403) and "paused or unknown" (400 6502 / 404) from "network
down" (a failed fetch). The calls made with the token then carry it as a Bearer header,
never a cookie, so the browser's same-origin policy adds nothing there: those answers (and
their preflights) name the caller's origin, and the token decides what it reaches. Every
CORS'd answer lets the page's script read the headers the component uses. Every other path
is left untouched.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_TOKEN_PATH = "/api/v1/integrations/web-chat/token/"
_CONFIG_PATH = "/api/v1/integrations/web-chat/config/"
_ORIGIN_CHECKED = (_TOKEN_PATH, _CONFIG_PATH)
_BEARER_PATHS = (
    "/inbound/customer/v1/web-chat/",
    "/inbound/customer/v1/direct/activity/",
    "/api/v1/conversations/establish",
    "/api/v1/interactions/activities/",
)
# `/api/v1/conversations/<id>/close` only: a visitor closes its own conversation.
_CONVERSATIONS = "/api/v1/conversations/"
_CLOSE = "/close"
# What the component may read from an answer (the names src/unihub/middleware sends).
EXPOSED = "Idempotent-Replayed, Retry-After, X-Request-Id"
_PREFLIGHT_MAX_AGE = "600"


def _close_path(path: str) -> bool:
    if not (path.startswith(_CONVERSATIONS) and path.endswith(_CLOSE)):
        return False
    middle = path[len(_CONVERSATIONS) : -len(_CLOSE)]
    return bool(middle) and "/" not in middle


def _webchat_path(path: str) -> bool:
    return path.startswith(_ORIGIN_CHECKED) or path.startswith(_BEARER_PATHS) or _close_path(path)


def _methods(path: str) -> bytes:
    if path.startswith(_ORIGIN_CHECKED):
        return b"GET"
    return b"POST" if _close_path(path) else b"GET, POST"


class WebChatCors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _webchat_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, origin, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = origin
                out["Access-Control-Expose-Headers"] = EXPOSED
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(scope: Scope, origin: str, send: Send) -> None:
        out = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", _methods(scope["path"])),
            (b"access-control-allow-headers", b"authorization, content-type, idempotency-key"),
            (b"access-control-max-age", _PREFLIGHT_MAX_AGE.encode()),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": out})
        await send({"type": "http.response.body", "body": b""})
