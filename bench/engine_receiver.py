"""The engine bench's webhook receiver, a process of its own (raw ASGI under uvicorn).

`POST /hook` records the first arrival of each `conversationId:eventId` (time.monotonic(),
the system-wide clock the load generator stamps posts with), counts duplicates, and checks
order per conversation: a first arrival whose eventId is below one already received for that
conversation is an order violation. The bench reads and resets it:

- `GET /stats` -> {"received", "duplicates", "order_violations", "unsigned"}
- `POST /take` -> {"arrivals": {key: t}, ...stats}, and starts afresh
"""

from __future__ import annotations

import time
from typing import Any

import orjson

_OK = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
_JSON = [(b"content-type", b"application/json")]


class Receiver:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.latest: dict[str, int] = {}  # conversation -> highest eventId received
        self.duplicates = 0
        self.order_violations = 0
        self.unsigned = 0

    def stats(self) -> dict[str, int]:
        return {
            "received": len(self.arrivals),
            "duplicates": self.duplicates,
            "order_violations": self.order_violations,
            "unsigned": self.unsigned,
        }

    def record(self, body: bytes, signed: bool) -> None:
        now = time.monotonic()
        data = orjson.loads(body)
        activity = data.get("activity")
        if not isinstance(activity, dict) or "eventId" not in activity:
            return  # not an activity (a conversation event): not measured
        cid = str(data.get("conversationId"))
        eid = int(activity["eventId"])
        key = f"{cid}:{eid}"
        if key in self.arrivals:
            self.duplicates += 1
            return
        self.arrivals[key] = now
        if not signed:
            self.unsigned += 1
        if eid < self.latest.get(cid, -1):
            self.order_violations += 1
        else:
            self.latest[cid] = eid

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        if path == "/hook":
            signed = any(name == b"x-hubster-signature" for name, _ in scope["headers"])
            self.record(body, signed)
            await send({"type": "http.response.start", "status": 200, "headers": _OK})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        if path == "/stats":
            out = orjson.dumps(self.stats())
        elif path == "/take":
            out = orjson.dumps({"arrivals": self.arrivals, **self.stats()})
            self.reset()
        else:
            out = b"{}"
        headers = [*_JSON, (b"content-length", str(len(out)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})


app = Receiver()
