"""`Idempotency-Key` on creating POSTs: the first answer is stored and replayed for 24 hours.

How a key is processed (per API client; keys of different clients never meet):
1. Insert the key row first, without an answer. The primary key (client id, key) lets exactly
   one request win; that one runs the route and then stores its answer in the row.
2. A request that finds the row compares the request hash (method, path, query, body): another
   request under the same key is refused with 400 (code 113). The same request gets the stored
   answer, with `Idempotent-Replayed: true`; if the first is still running it polls the row
   until the answer is there (bounded by the request time limit), so nothing is created twice.
3. Answers that say nothing about the resource (401, 403, 408, 429, 5xx, a crash or a
   cancellation) release the key, so a retry runs again.
Stored answers are encrypted with the secret box: a create's answer may be the only copy of a
new client secret or signing key, and those must never sit in the database in clear. The
request hash is an HMAC keyed the same way, so a body carrying provider credentials cannot
be confirmed by guessing. It is made with the newest secret key and checked against every
configured one, so a key rotation does not turn a retry into a mismatch; once the old key is
dropped, a retry of a request first made under it is refused with 113 (nothing is created
twice, and such rows are gone 24 hours after they were made anyway). Rows older than 24
hours are ignored and purged; a row left without an answer by a killed process is taken
over once it is older than the request time limit plus a margin.
A WebChat visitor token names its integration's client (`webchat:<integrationId>`), shared by
every visitor of that integration: the request hash covers the path (so the conversation) and
the component's keys are random UUIDs, so a visitor reading another's answer would need both
that conversation's id and its key (tests/webchat/test_endpoints.py).
Limitation: the answer is stored in its own transaction after the route's; a process killed
between the two leaves the create done and the key unanswered, so a retry after the
take-over delay creates again. The window is one commit long.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unihub.core.context import AppContext
from unihub.core.timestamps import utcnow
from unihub.middleware.asgi import TOKEN_PATH, header, send_error
from unihub.middleware.clients import verified_client_id
from unihub.middleware.faults import RETRY_AFTER_S, UNAVAILABLE, is_unavailable
from unihub.middleware.models import IdempotencyKey

log = logging.getLogger("unihub.idempotency")

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
KEY_REUSED = 113
KEY_MALFORMED = 114
KEY_IN_PROGRESS = 116
RETENTION = timedelta(hours=24)
# POSTs that create nothing: the token endpoint mints a fresh token each time by design.
NOT_CREATING = frozenset({TOKEN_PATH})
_KEY_SYNTAX = re.compile(KEY_PATTERN)
_KEY_NAME = KEY_HEADER.lower().encode()
_REPLAYED_NAME = REPLAYED_HEADER.lower().encode()
_RELEASED_STATUSES = frozenset({401, 403, 408, 429})
_POLL_S = 0.05
_PURGE_EVERY = 256


class _Mismatch(Exception):
    pass


class _Busy(Exception):
    pass


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    content_type: str | None
    body: bytes


class IdempotencyStore:
    def __init__(self, ctx: AppContext, running_timeout_s: float) -> None:
        self.db = ctx.db
        self.box = ctx.box
        # A running row older than this was abandoned: the time limit would have ended it.
        self.stale_after = timedelta(seconds=running_timeout_s + 5)
        self.wait_s = running_timeout_s + 5
        self._claims = 0

    async def claim(
        self, client_id: str, key: str, digest: str, older: Callable[[], Iterable[str]] = tuple
    ) -> StoredAnswer | None:
        """None when this request now owns the key, else the answer stored for it.

        `digest` is the request's hash under the newest key, `older` gives it under the
        older ones (computed only when a stored row does not match `digest`)."""
        deadline = time.monotonic() + self.wait_s
        while True:
            now = utcnow()
            try:
                async with self.db.write() as s:
                    s.add(IdempotencyKey(client_id=client_id, key=key, request_hash=digest))
                    await s.flush()
            except IntegrityError:
                pass
            else:
                await self._maybe_purge()
                return None
            async with self.db.read() as s:
                row = await s.get(IdempotencyKey, (client_id, key))
            if row is None:
                continue  # released in between: try to claim again
            expired = row.created < now - RETENTION
            abandoned = row.status is None and row.created < now - self.stale_after
            if expired or abandoned:
                async with self.db.write() as s:
                    await s.execute(
                        delete(IdempotencyKey).where(
                            IdempotencyKey.client_id == client_id,
                            IdempotencyKey.key == key,
                            IdempotencyKey.created == row.created,
                        )
                    )
                continue
            if row.request_hash != digest and row.request_hash not in older():
                raise _Mismatch
            if row.status is not None:
                body = self.box.decrypt_bytes(row.body) if row.body else b""
                return StoredAnswer(row.status, row.content_type, body)
            if time.monotonic() > deadline:
                raise _Busy
            await asyncio.sleep(_POLL_S)

    async def complete(self, client_id: str, key: str, answer: StoredAnswer) -> None:
        async with self.db.write() as s:
            await s.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.client_id == client_id, IdempotencyKey.key == key)
                .values(
                    status=answer.status,
                    content_type=answer.content_type,
                    body=self.box.encrypt_bytes(answer.body),
                    completed=utcnow(),
                )
            )

    async def release(self, client_id: str, key: str) -> None:
        async with self.db.write() as s:
            await s.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.client_id == client_id,
                    IdempotencyKey.key == key,
                    IdempotencyKey.status.is_(None),
                )
            )

    async def _maybe_purge(self) -> None:
        self._claims += 1
        if self._claims % _PURGE_EVERY:
            return
        async with self.db.write() as s:
            await s.execute(
                delete(IdempotencyKey).where(IdempotencyKey.created < utcnow() - RETENTION)
            )


def request_digest(scope: Scope, body: bytes, key: bytes) -> str:
    h = hmac.new(key, digestmod=hashlib.sha256)
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"]):
        h.update(part)
        h.update(b"\0")
    h.update(body)
    return h.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, ctx: AppContext, request_timeout_s: float) -> None:
        self.app = app
        self.ctx = ctx
        self.store = IdempotencyStore(ctx, request_timeout_s)
        self.digest_key, *self.older_digest_keys = ctx.box.derive_keys(
            b"unihub idempotency request hash"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] in NOT_CREATING
            or (key := header(scope, _KEY_NAME)) is None
        ):
            await self.app(scope, receive, send)
            return
        client_id = await verified_client_id(scope, self.ctx)
        if client_id is None:
            await self.app(scope, receive, send)  # the route answers 401
            return
        if not _KEY_SYNTAX.match(key):
            await send_error(
                scope,
                send,
                400,
                KEY_MALFORMED,
                "The Idempotency-Key header must be 1-255 visible ASCII characters.",
            )
            return

        messages, body = await _read_body(receive)
        digest = request_digest(scope, body, self.digest_key)
        try:
            stored = await self.store.claim(
                client_id,
                key,
                digest,
                lambda: [request_digest(scope, body, k) for k in self.older_digest_keys],
            )
        except _Mismatch:
            await send_error(
                scope,
                send,
                400,
                KEY_REUSED,
                f"Idempotency-Key '{key}' was already used with a different request.",
            )
            return
        except _Busy:
            await send_error(
                scope,
                send,
                409,
                KEY_IN_PROGRESS,
                f"The request with Idempotency-Key '{key}' is still being processed.",
                [(b"retry-after", b"1")],
            )
            return
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            await _send_unavailable(scope, send)
            return
        if stored is not None:
            await _replay(send, stored)
            return
        await self._run_and_store(scope, messages, receive, send, client_id, key)

    async def _run_and_store(
        self,
        scope: Scope,
        messages: list[Message],
        receive: Receive,
        send: Send,
        client_id: str,
        key: str,
    ) -> None:
        status = 0
        content_type: str | None = None
        chunks: list[bytes] = []

        async def replay_receive() -> Message:
            return messages.pop(0) if messages else await receive()

        async def capturing_send(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = bytes(value).decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capturing_send)
        except BaseException:
            await asyncio.shield(self._release(client_id, key))
            raise
        if status >= 500 or status in _RELEASED_STATUSES or status == 0:
            await asyncio.shield(self._release(client_id, key))
            return
        try:
            await asyncio.shield(
                self.store.complete(
                    client_id, key, StoredAnswer(status, content_type, b"".join(chunks))
                )
            )
        except Exception:
            # The client has its answer already; a retry will run again after the take-over.
            log.warning("could not store an idempotent answer", exc_info=True)

    async def _release(self, client_id: str, key: str) -> None:
        try:
            await self.store.release(client_id, key)
        except Exception:
            log.warning("could not release an idempotency key", exc_info=True)


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    parts: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(parts)


async def _replay(send: Send, stored: StoredAnswer) -> None:
    headers = [
        (b"content-length", str(len(stored.body)).encode()),
        (_REPLAYED_NAME, b"true"),
    ]
    if stored.content_type:
        headers.append((b"content-type", stored.content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


async def _send_unavailable(scope: Scope, send: Send) -> None:
    await send_error(
        scope,
        send,
        503,
        UNAVAILABLE,
        "The service cannot reach its database right now; retry later.",
        [(b"retry-after", str(RETRY_AFTER_S).encode())],
    )
