"""A webhook receiver on a real socket that verifies signatures as the reference's C# sample
does: HMAC-SHA256 of the raw body, keyed with the UTF-8 bytes of the private key found by the
`x-hubster-public-key` header, base64, compared with `x-hubster-signature`; else 403."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def delivery_id(self) -> str:
        return self.headers["x-hubster-delivery-id"]

    @property
    def activity(self) -> dict[str, Any]:
        if "activity" in self.body:
            activity: dict[str, Any] = self.body["activity"]
            return activity
        first: dict[str, Any] = self.body["activities"][0]
        return first


@dataclass
class Receiver:
    base_url: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    rejected: int = 0
    fail_status: int | None = None  # answer every request with this status
    hits: int = 0
    arrived: int = 0  # signed requests seen, counted before the gate
    gate: threading.Event | None = None  # hold requests until set
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"{self.base_url}/hooks/{name}"

    def trust(self, public: str, private: str) -> None:
        self.keys[public] = private

    def reset(self) -> None:
        with self.lock:
            self.keys.clear()
            self.received.clear()
            self.rejected = 0
            self.hits = 0
            self.arrived = 0
            self.fail_status = None
            self.gate = None

    def at(self, name: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == f"/hooks/{name}"]

    async def endpoint(self, request: Request) -> Response:
        public = request.headers.get("x-hubster-public-key", "")
        signature = request.headers.get("x-hubster-signature", "")
        raw = await request.body()
        private = self.keys.get(public)
        if not public.strip() or not signature.strip() or private is None:
            self.rejected += 1
            return PlainTextResponse("Forbidden", status_code=403)
        expected = base64.b64encode(
            hmac.new(private.encode("utf-8"), raw, hashlib.sha256).digest()
        ).decode()
        if expected != signature:
            self.rejected += 1
            return PlainTextResponse("Forbidden", status_code=403)
        with self.lock:
            self.arrived += 1
        gate = self.gate
        if gate is not None:
            await asyncio.to_thread(gate.wait)
        with self.lock:
            self.hits += 1
            if self.fail_status is not None:
                return PlainTextResponse("failing on purpose", status_code=self.fail_status)
            self.received.append(
                Received(request.url.path, dict(request.headers), orjson.loads(raw))
            )
        return PlainTextResponse("ok")

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks/{name}", self.endpoint, methods=["POST"])])


async def wait_for(predicate: Any, timeout_s: float = 30.0, what: str = "condition") -> None:
    """Poll until `predicate()` is true; the deadline only bounds a hung test."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
