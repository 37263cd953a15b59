"""Fake LINE Messaging API (bot info, webhook endpoint, reply, push) and data API (message
content, under `/data`), plus the webhooks LINE sends: signed with the channel secret and
posted to the app."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.base import FakeProvider, Handler, parse_bearer


@dataclass
class FakeBot:
    token: str
    secret: str
    user_id: str
    basic_id: str
    name: str
    webhook: str | None = None


@dataclass
class Sent:
    """One accepted reply or push: its messages, and the push's retry key."""

    kind: str  # "reply" or "push"
    to: str
    messages: list[dict[str, Any]]
    retry_key: str | None = None
    reply_token: str | None = None


@dataclass
class Forced:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1_000_000


def new_bot() -> FakeBot:
    return FakeBot(
        token="line-token-" + uuid.uuid4().hex,
        secret="line-secret-" + uuid.uuid4().hex,
        user_id="U" + uuid.uuid4().hex,
        basic_id="@" + uuid.uuid4().hex[:8],
        name="Shop Bot",
    )


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class FakeLine(FakeProvider):
    @property
    def data_url(self) -> str:
        return f"{self.base_url}/data"

    def reset(self) -> None:
        self.bots: dict[str, FakeBot] = {}
        # replyToken -> (bot token, userId); popped when used, like LINE's single-use tokens
        self.reply_tokens: dict[str, tuple[str, str]] = {}
        self.sent: list[Sent] = []
        self.retry_keys: set[str] = set()
        self.contents: dict[str, tuple[str, bytes]] = {}
        # path suffix -> answer given instead (the next `times` calls)
        self.forced: dict[str, Forced] = {}
        super().reset()

    def add_bot(self, bot: FakeBot) -> FakeBot:
        self.bots[bot.token] = bot
        return bot

    def add_content(self, message_id: str, content_type: str, body: bytes) -> None:
        self.contents[message_id] = (content_type, body)

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/v2/bot/info", self.info),
            ("PUT", "/v2/bot/channel/webhook/endpoint", self.set_webhook),
            ("POST", "/v2/bot/message/reply", self.reply),
            ("POST", "/v2/bot/message/push", self.push),
            ("GET", "/data/v2/bot/message/{mid}/content", self.content),
        ]

    # --- webhooks LINE sends ----------------------------------------------------------------

    def event(
        self,
        bot: FakeBot,
        user: str,
        kind: str,
        *,
        redelivery: bool = False,
        event_id: str | None = None,
        reply: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """One webhook event from `user`; a fresh reply token the reply API will accept."""
        event: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user},
            "webhookEventId": event_id or "01H" + uuid.uuid4().hex.upper(),
            "deliveryContext": {"isRedelivery": redelivery},
            **fields,
        }
        if reply and kind != "unfollow":
            token = uuid.uuid4().hex
            self.reply_tokens[token] = (bot.token, user)
            event["replyToken"] = token
        return event

    def message(
        self, bot: FakeBot, user: str, message: dict[str, Any], **kw: Any
    ) -> dict[str, Any]:
        message = {"id": str(uuid.uuid4().int)[:18], "quoteToken": "q", **message}
        return self.event(bot, user, "message", message=message, **kw)

    async def deliver(
        self,
        client: httpx.AsyncClient,
        integration_id: str,
        bot: FakeBot,
        events: list[dict[str, Any]],
        *,
        sign_with: str | None = None,
        signed: bool = True,
    ) -> httpx.Response:
        body = orjson.dumps({"destination": bot.user_id, "events": events})
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if signed:
            headers["x-line-signature"] = signature(sign_with or bot.secret, body)
        return await client.post(
            f"/inbound/line/v1/{integration_id}", content=body, headers=headers
        )

    # --- the API --------------------------------------------------------------------------

    def _forced(self, request: Request) -> Response | None:
        for suffix, forced in self.forced.items():
            if request.url.path.endswith(suffix) and forced.times > 0:
                forced.times -= 1
                return JSONResponse(forced.body, forced.status, headers=forced.headers)
        return None

    def _bot(self, request: Request) -> FakeBot | Response:
        token = parse_bearer(request.headers.get("authorization"))
        bot = self.bots.get(token or "")
        if bot is None:
            return JSONResponse(
                {
                    "message": "Authentication failed. Confirm that the access token in the "
                    "authorization header is valid."
                },
                401,
            )
        return bot

    async def info(self, request: Request) -> Response:
        if forced := self._forced(request):
            return forced
        bot = self._bot(request)
        if isinstance(bot, Response):
            return bot
        return JSONResponse(
            {
                "userId": bot.user_id,
                "basicId": bot.basic_id,
                "displayName": bot.name,
                "pictureUrl": "https://profile.line-scdn.net/abc",
                "chatMode": "bot",
                "markAsReadMode": "auto",
            }
        )

    async def set_webhook(self, request: Request) -> Response:
        if forced := self._forced(request):
            return forced
        bot = self._bot(request)
        if isinstance(bot, Response):
            return bot
        body = await request.json()
        endpoint = body.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith("https://"):
            return JSONResponse({"message": "Invalid webhook endpoint URL"}, 400)
        bot.webhook = endpoint
        return JSONResponse({})

    def _bad_messages(self, messages: Any) -> Response | None:
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return JSONResponse(
                {
                    "message": "The request body has 1 error(s)",
                    "details": [
                        {"message": "Size must be between 1 and 5", "property": "messages"}
                    ],
                },
                400,
            )
        return None

    async def reply(self, request: Request) -> Response:
        if forced := self._forced(request):
            return forced
        bot = self._bot(request)
        if isinstance(bot, Response):
            return bot
        body = await request.json()
        if bad := self._bad_messages(body.get("messages")):
            return bad
        issued = self.reply_tokens.pop(body.get("replyToken", ""), None)
        if issued is None or issued[0] != bot.token:
            return JSONResponse({"message": "Invalid reply token"}, 400)
        self.sent.append(Sent("reply", issued[1], body["messages"], reply_token=body["replyToken"]))
        return JSONResponse({"sentMessages": [{"id": "1", "quoteToken": "q"}]})

    async def push(self, request: Request) -> Response:
        if forced := self._forced(request):
            return forced
        bot = self._bot(request)
        if isinstance(bot, Response):
            return bot
        key = request.headers.get("x-line-retry-key")
        if key is not None:
            try:
                uuid.UUID(key)
            except ValueError:
                return JSONResponse({"message": "The retry key is not a UUID"}, 400)
            if key in self.retry_keys:
                return JSONResponse(
                    {"message": "The retry key is already accepted"},
                    409,
                    headers={"x-line-accepted-request-id": "abc"},
                )
        body = await request.json()
        if bad := self._bad_messages(body.get("messages")):
            return bad
        if key is not None:
            self.retry_keys.add(key)
        self.sent.append(Sent("push", str(body.get("to")), body["messages"], retry_key=key))
        return JSONResponse({"sentMessages": [{"id": "2", "quoteToken": "q"}]})

    async def content(self, request: Request) -> Response:
        if forced := self._forced(request):
            return forced
        bot = self._bot(request)
        if isinstance(bot, Response):
            return bot
        found = self.contents.get(request.path_params["mid"])
        if found is None:
            return JSONResponse({"message": "Not found"}, 404)
        return Response(found[1], media_type=found[0])
