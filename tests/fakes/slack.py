"""Fake Slack Web API: oauth.v2.access, auth.test, conversations.list, Slack `ok` bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.base import FakeProvider, Handler, parse_bearer


@dataclass
class FakeWorkspace:
    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str
    bot_name: str
    app_id: str
    channels: list[dict[str, Any]] = field(default_factory=list)
    user_token: str | None = None


def slack_error(error: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error})


def channel(channel_id: str, name: str, *, is_general: bool = False) -> dict[str, Any]:
    return {
        "id": channel_id,
        "name": name,
        "is_channel": True,
        "is_private": False,
        "is_archived": False,
        "is_general": is_general,
        "is_member": False,
        "num_members": 3,
    }


class FakeSlack(FakeProvider):
    def reset(self) -> None:
        self.client_id = "1111.2222"
        self.client_secret = "fake-slack-client-secret"
        self.codes: dict[str, FakeWorkspace] = {}
        self.tokens: dict[str, FakeWorkspace] = {}
        # path -> Slack error code answered instead of the normal response
        self.forced_errors: dict[str, str] = {}
        # chat.postMessage calls accepted (JSON bodies, with the `ts` answered)
        self.posts: list[dict[str, Any]] = []
        super().reset()

    def add_install(self, code: str, workspace: FakeWorkspace) -> None:
        """`code` is single use, like Slack's; the bot token stays valid afterwards."""
        self.codes[code] = workspace
        self.tokens[workspace.bot_token] = workspace

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/oauth.v2.access", self.oauth_access),
            ("POST", "/auth.test", self.auth_test),
            ("GET", "/conversations.list", self.conversations_list),
            ("POST", "/chat.postMessage", self.post_message),
        ]

    async def post_message(self, request: Request) -> Response:
        if forced := self.forced_errors.get(request.url.path):
            return slack_error(forced)
        ws = self._workspace(request)
        if isinstance(ws, JSONResponse):
            return ws
        body = await request.json()
        if body.get("channel") not in {c["id"] for c in ws.channels}:
            return slack_error("channel_not_found")
        ts = f"1700000000.{len(self.posts) + 1:06d}"
        self.posts.append({**body, "ts": ts, "team_id": ws.team_id})
        return JSONResponse({"ok": True, "channel": body["channel"], "ts": ts})

    async def oauth_access(self, request: Request) -> Response:
        if forced := self.forced_errors.get(request.url.path):
            return slack_error(forced)
        form: dict[str, str] = request.state.form
        if form.get("client_id") != self.client_id:
            return slack_error("invalid_client_id")
        if form.get("client_secret") != self.client_secret:
            return slack_error("bad_client_secret")
        ws = self.codes.pop(form.get("code", ""), None)
        if ws is None:
            return slack_error("invalid_code")
        body: dict[str, Any] = {
            "ok": True,
            "access_token": ws.bot_token,
            "token_type": "bot",
            "scope": "chat:write,channels:read",
            "bot_user_id": ws.bot_user_id,
            "app_id": ws.app_id,
            "team": {"name": ws.team_name, "id": ws.team_id},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "U0INSTALLER"},
        }
        if ws.user_token:
            body["authed_user"] |= {
                "scope": "chat:write",
                "access_token": ws.user_token,
                "token_type": "user",
            }
        if ws.channels:
            first = ws.channels[0]
            body["incoming_webhook"] = {
                "channel": f"#{first['name']}",
                "channel_id": first["id"],
                "configuration_url": "https://example.invalid/config",
                "url": "https://hooks.slack.com/services/T/B/X",
            }
        return JSONResponse(body)

    def _workspace(self, request: Request) -> FakeWorkspace | JSONResponse:
        token = parse_bearer(request.headers.get("authorization"))
        if token is None:
            return slack_error("not_authed")
        ws = self.tokens.get(token)
        return ws if ws is not None else slack_error("invalid_auth")

    async def auth_test(self, request: Request) -> Response:
        if forced := self.forced_errors.get(request.url.path):
            return slack_error(forced)
        ws = self._workspace(request)
        if isinstance(ws, JSONResponse):
            return ws
        return JSONResponse(
            {
                "ok": True,
                "url": f"https://{ws.team_name.lower()}.slack.com/",
                "team": ws.team_name,
                "user": ws.bot_name,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "bot_id": "B0BOT",
                "is_enterprise_install": False,
            }
        )

    async def conversations_list(self, request: Request) -> Response:
        if forced := self.forced_errors.get(request.url.path):
            return slack_error(forced)
        ws = self._workspace(request)
        if isinstance(ws, JSONResponse):
            return ws
        limit = int(request.query_params.get("limit", "100"))
        return JSONResponse(
            {
                "ok": True,
                "channels": ws.channels[:limit],
                "response_metadata": {"next_cursor": ""},
            }
        )
