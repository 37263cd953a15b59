"""This process's Events websockets, by integration."""

from __future__ import annotations

import asyncio
import uuid

from starlette.websockets import WebSocket


class _Conn:
    __slots__ = ("lock", "ws")

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.lock = asyncio.Lock()  # one frame at a time per socket


class SocketHub:
    def __init__(self) -> None:
        self._conns: dict[uuid.UUID, dict[int, _Conn]] = {}

    def add(self, integration_id: uuid.UUID, ws: WebSocket) -> None:
        self._conns.setdefault(integration_id, {})[id(ws)] = _Conn(ws)

    def remove(self, integration_id: uuid.UUID, ws: WebSocket) -> None:
        conns = self._conns.get(integration_id)
        if conns is not None:
            conns.pop(id(ws), None)
            if not conns:
                del self._conns[integration_id]

    def connected(self) -> list[uuid.UUID]:
        return list(self._conns)

    async def push(self, integration_id: uuid.UUID, text: str) -> bool:
        """Send to every socket of the integration; True when at least one took the frame."""
        sent = False
        for key, conn in list(self._conns.get(integration_id, {}).items()):
            try:
                async with conn.lock:
                    await conn.ws.send_text(text)
                sent = True
            except Exception:  # a dead socket: forget it, the row stays pending
                conns = self._conns.get(integration_id)
                if conns is not None:
                    conns.pop(key, None)
        return sent
