"""Fake Facebook Graph API: /me and /app for page access tokens, Graph error bodies.

Routes answer with or without a version prefix; `api_url` includes one, like the real
setting (`https://graph.facebook.com/v19.0`), so tests prove the prefix is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.base import FakeProvider, Handler

VERSION = "v19.0"


@dataclass
class FakePage:
    page_id: str
    page_name: str
    app_id: str
    app_name: str = "Unihub Test App"


def graph_error(message: str, code: int, type_: str = "OAuthException") -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": type_, "code": code, "fbtrace_id": "AbCdEf123"}},
        status_code=400,
    )


class FakeGraph(FakeProvider):
    @property
    def api_url(self) -> str:
        return f"{self.base_url}/{VERSION}"

    def reset(self) -> None:
        self.pages: dict[str, FakePage] = {}
        # Send API calls accepted (JSON bodies); `reject_recipients` PSIDs get a Graph 400.
        self.sent: list[dict[str, Any]] = []
        self.reject_recipients: set[str] = set()
        super().reset()

    def add_page(self, token: str, page_id: str, page_name: str, app_id: str) -> None:
        self.pages[token] = FakePage(page_id, page_name, app_id)

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/me", self.me),
            ("GET", "/{version}/me", self.me),
            ("GET", "/app", self.app_info),
            ("GET", "/{version}/app", self.app_info),
            ("POST", "/me/messages", self.send_message),
            ("POST", "/{version}/me/messages", self.send_message),
        ]

    async def send_message(self, request: Request) -> Response:
        page = self._page(request)
        if isinstance(page, JSONResponse):
            return page
        body = await request.json()
        if body.get("recipient", {}).get("id") in self.reject_recipients:
            return graph_error("(#100) No matching user found", 100)
        self.sent.append({"page_id": page.page_id, **body})
        return JSONResponse(
            {"recipient_id": body["recipient"]["id"], "message_id": f"m_{len(self.sent)}"}
        )

    def _page(self, request: Request) -> FakePage | JSONResponse:
        token = request.query_params.get("access_token")
        if not token:
            return graph_error(
                "An active access token must be used to query information about the current user.",
                2500,
            )
        page = self.pages.get(token)
        if page is None:
            return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        return page

    async def me(self, request: Request) -> Response:
        page = self._page(request)
        if isinstance(page, JSONResponse):
            return page
        known = {"id": page.page_id, "name": page.page_name}
        fields = request.query_params.get("fields", "id,name").split(",")
        return JSONResponse({f: known[f] for f in fields if f in known} | {"id": page.page_id})

    async def app_info(self, request: Request) -> Response:
        page = self._page(request)
        if isinstance(page, JSONResponse):
            return page
        return JSONResponse(
            {
                "link": f"https://www.facebook.com/games/?app_id={page.app_id}",
                "name": page.app_name,
                "id": page.app_id,
            }
        )
