"""The SignalR JSON hub protocol over a websocket, as far as the .NET client needs it.

Records end with 0x1E. After the handshake (`{"protocol":"json","version":1}` answered `{}`)
the server sends invocations of `ReceiveDirectActivities` (type 1), pings (type 6) at least
every `PING_S` (the client gives up after 30 s of silence and does not reconnect) and, to
refuse or end, a close (type 7) whose error the client parses as `HubException: [code]: text`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

SEP = "\x1e"
PING_S = 10.0
TARGET = "ReceiveDirectActivities"
INVOCATION, PING, CLOSE = 1, 6, 7
COMPLETION = 3
PING_FRAME = '{"type":6}' + SEP


def records(text: str) -> list[Any]:
    """The JSON records of one websocket message (unparseable ones as None)."""
    out: list[Any] = []
    for part in text.split(SEP):
        if part.strip():
            try:
                out.append(orjson.loads(part))
            except orjson.JSONDecodeError:
                out.append(None)
    return out


def invocation(activity: Any) -> str:
    return orjson.dumps({"type": INVOCATION, "target": TARGET, "arguments": [activity]}).decode()


def activities_frame(envelope: dict[str, Any]) -> str:
    """A Direct payload as the hub sends it: the activity node only, one invocation each."""
    if "activity" in envelope:
        nodes = [envelope["activity"]]
    else:  # system payloads carry a list
        nodes = list(envelope.get("activities") or ())
    return "".join(invocation(node) + SEP for node in nodes)


def close_frame(status: int, description: str) -> str:
    error = f"Connection closed with an error. HubException: [{status}]: {description}"
    return orjson.dumps({"type": CLOSE, "error": error}).decode() + SEP


class HubConnection:
    """One client's socket after the handshake: serialised sends, pings, the client's end."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()
        self._closed = False

    async def handshake(self) -> bool:
        """Read the handshake request and answer it; False (socket closed) if refused."""
        try:
            message = await self._receive()
        except (WebSocketDisconnect, RuntimeError):
            return False
        first = records(message)[:1]
        request = first[0] if first and isinstance(first[0], dict) else {}
        if request.get("protocol") != "json" or request.get("version") != 1:
            await self.send('{"error":"Only the json protocol, version 1, is supported."}' + SEP)
            await self.close()
            return False
        await self.send("{}" + SEP)
        return True

    async def send(self, text: str) -> None:
        async with self._lock:
            await self.ws.send_text(text)

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        frame = activities_frame(envelope)
        if frame:
            await self.send(frame)

    async def send_payload(self, _delivery_id: uuid.UUID, payload: str) -> None:
        """An outbox row (`delivery.sockets.Send`)."""
        await self.send_envelope(orjson.loads(payload))

    async def refuse(self, status: int, description: str) -> None:
        """The hub's refusal: a close message the client reports, never an HTTP error (on
        which the .NET client would retry forever)."""
        with contextlib.suppress(Exception):
            await self.send(close_frame(status, description))
        await self.close()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def until_closed(self) -> None:
        """Ping the client and answer its messages until it closes or leaves."""
        pinger = asyncio.create_task(self._ping())
        try:
            while True:
                for record in records(await self._receive()):
                    if not isinstance(record, dict):
                        continue
                    kind = record.get("type")
                    if kind == CLOSE:
                        return
                    if kind == PING:
                        await self.send(PING_FRAME)
                    elif kind == INVOCATION and record.get("invocationId"):
                        # The hub has no client-callable methods; a blocking invoke gets told.
                        await self.send(_no_method(str(record["invocationId"])))
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger

    async def _receive(self) -> str:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(int(message.get("code") or 1000))
        text = message.get("text")
        if text is None:
            text = (message.get("bytes") or b"").decode("utf-8", "replace")
        return str(text)

    async def _ping(self) -> None:
        with contextlib.suppress(Exception):  # the socket went away: the reader ends too
            while True:
                await asyncio.sleep(PING_S)
                await self.send(PING_FRAME)


def _no_method(invocation_id: str) -> str:
    body = {"type": COMPLETION, "invocationId": invocation_id, "error": "Method does not exist."}
    return orjson.dumps(body).decode() + SEP
