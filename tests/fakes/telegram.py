"""Fake Telegram Bot API: `/bot<token>/<method>` with Telegram's envelopes, webhooks with the
secret token the app set, getUpdates long polling with offsets (confirmed updates are
forgotten), files behind `/file/bot<token>/<path>`, and switchable refusals (blocked
users, unknown chats, 429 with retry_after)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.base import FakeProvider, Handler

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def tg_error(status: int, description: str, **parameters: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


@dataclass
class FakeBot:
    token: str
    id: int
    username: str
    webhook_url: str = ""
    secret_token: str = ""
    pending: list[dict[str, Any]] = field(default_factory=list)
    served: dict[int, int] = field(default_factory=dict)  # update_id -> times handed out
    polling_now: int = 0
    max_polling: int = 0
    polls: int = 0
    conflicts: int = 0


@dataclass
class Call:
    token: str
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeTelegram(FakeProvider):
    def reset(self) -> None:
        self.bots: dict[str, FakeBot] = {}
        self.calls: list[Call] = []
        self.blocked: set[str] = set()  # chat ids whose user blocked the bot
        self.unknown: set[str] = set()  # chat ids Telegram does not know
        self.throttle: dict[str, int] = {}  # method -> retry_after of its next answer
        self.throttled: list[tuple[str, float]] = []  # (method, when) of each 429 answered
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.on_batch: Callable[[list[int]], None] | None = None  # after a non-empty poll
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._news: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        super().reset()

    def add_bot(self, token: str, bot_id: int, username: str) -> FakeBot:
        bot = FakeBot(token, bot_id, username)
        self.bots[token] = bot
        return bot

    def add_file(self, file_id: str, file_path: str, content: bytes) -> None:
        self.files[file_id] = (file_path, content)

    def sent(self, token: str, *methods: str) -> list[Call]:
        return [c for c in self.calls if c.token == token and (not methods or c.method in methods)]

    def push(self, token: str, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (numbered like Telegram's); pollers are woken."""
        with self._lock:
            full = {"update_id": next(self._ids) + 100000, **update}
            self.bots[token].pending.append(full)
        if self._loop is not None:
            event = self._news.get(token)
            if event is not None:
                self._loop.call_soon_threadsafe(event.set)
        return full

    async def deliver(
        self, client: httpx.AsyncClient, token: str, update: dict[str, Any], public_url: str
    ) -> httpx.Response:
        """Post an update to the bot's webhook as Telegram does (its secret token header)."""
        bot = self.bots[token]
        assert bot.webhook_url.startswith(public_url), bot.webhook_url
        path = bot.webhook_url[len(public_url) :]
        full = {"update_id": next(self._ids) + 100000, **update}
        headers = {"Content-Type": "application/json"}
        if bot.secret_token:
            headers[SECRET_HEADER] = bot.secret_token
        return await client.post(path, content=orjson.dumps(full), headers=headers)

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/bot{token}/{method}", self.method),
            ("GET", "/file/bot{token}/{path:path}", self.file),
        ]

    async def file(self, request: Request) -> Response:
        if request.path_params["token"] not in self.bots:
            return tg_error(401, "Unauthorized")
        for path, content in self.files.values():
            if path == request.path_params["path"]:
                return Response(content, media_type="application/octet-stream")
        return tg_error(404, "Not Found")

    async def method(self, request: Request) -> Response:
        token, name = request.path_params["token"], request.path_params["method"]
        bot = self.bots.get(token)
        if bot is None:
            return tg_error(401, "Unauthorized")
        raw = await request.body()
        params: dict[str, Any] = orjson.loads(raw) if raw else {}
        if name in self.throttle:
            retry = self.throttle.pop(name)
            self.throttled.append((name, time.monotonic()))
            return tg_error(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        if name == "getMe":
            return ok({"id": bot.id, "is_bot": True, "first_name": "Bot", "username": bot.username})
        if name == "getUpdates":
            return await self._get_updates(bot, params)
        self.calls.append(Call(token, name, params))
        if name == "setWebhook":
            if not str(params.get("url", "")).startswith(("http://", "https://")):
                return tg_error(400, "Bad Request: bad webhook: HTTPS url must be provided")
            bot.webhook_url, bot.secret_token = params["url"], params.get("secret_token", "")
            return ok(True)
        if name == "deleteWebhook":
            bot.webhook_url, bot.secret_token = "", ""
            return ok(True)
        if name == "getFile":
            found = self.files.get(str(params.get("file_id")))
            if found is None:
                return tg_error(400, "Bad Request: invalid file_id")
            return ok({"file_id": params["file_id"], "file_path": found[0]})
        if name == "answerCallbackQuery":
            return ok(True)
        chat = str(params.get("chat_id"))
        if chat in self.blocked:
            return tg_error(403, "Forbidden: bot was blocked by the user")
        if chat in self.unknown:
            return tg_error(400, "Bad Request: chat not found")
        if name == "sendMessage" and len(str(params.get("text", ""))) > 4096:
            return tg_error(400, "Bad Request: message is too long")
        return ok({"message_id": len(self.calls), "chat": {"id": int(chat)}, "date": 0})

    async def _get_updates(self, bot: FakeBot, params: dict[str, Any]) -> Response:
        if bot.webhook_url:
            return tg_error(409, "Conflict: can't use getUpdates method while webhook is active")
        self._loop = asyncio.get_running_loop()
        offset = int(params.get("offset") or 0)
        wait = float(params.get("timeout") or 0)
        bot.polls += 1
        bot.polling_now += 1
        bot.max_polling = max(bot.max_polling, bot.polling_now)
        try:
            event = self._news.setdefault(bot.token, asyncio.Event())
            deadline = self._loop.time() + wait
            while True:
                with self._lock:
                    # An offset confirms every update before it: Telegram forgets them.
                    bot.pending = [u for u in bot.pending if u["update_id"] >= offset]
                    batch = list(bot.pending[:100])
                    if batch:
                        for u in batch:
                            bot.served[u["update_id"]] = bot.served.get(u["update_id"], 0) + 1
                if batch or self._loop.time() >= deadline:
                    break
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), deadline - self._loop.time())
        finally:
            bot.polling_now -= 1
        hook = self.on_batch
        ids = [u["update_id"] for u in batch]
        task = BackgroundTask(hook, ids) if hook and batch else None
        return Response(
            orjson.dumps({"ok": True, "result": batch}),
            media_type="application/json",
            background=task,
        )
