"""This process's listening sockets (Events websocket, SignalR hub), by integration.

The worker pushes a row's Direct payload; each connection formats its own frame, so both
protocols share one claim, one cursor and one outcome per row.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

# (delivery id, Direct payload): write the connection's frame, raise if the socket is gone.
Send = Callable[[uuid.UUID, str], Awaitable[None]]


class _Conn:
    __slots__ = ("lock", "send")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.lock = asyncio.Lock()  # one frame at a time per socket


class SocketHub:
    def __init__(self) -> None:
        self._conns: dict[uuid.UUID, dict[int, _Conn]] = {}

    def add(self, integration_id: uuid.UUID, key: object, send: Send) -> None:
        self._conns.setdefault(integration_id, {})[id(key)] = _Conn(send)

    def remove(self, integration_id: uuid.UUID, key: object) -> None:
        conns = self._conns.get(integration_id)
        if conns is not None:
            conns.pop(id(key), None)
            if not conns:
                del self._conns[integration_id]

    def connected(self) -> list[uuid.UUID]:
        return list(self._conns)

    async def push(self, integration_id: uuid.UUID, delivery_id: uuid.UUID, payload: str) -> bool:
        """Send to every socket of the integration; True when at least one took the frame."""
        sent = False
        for key, conn in list(self._conns.get(integration_id, {}).items()):
            try:
                async with conn.lock:
                    await conn.send(delivery_id, payload)
                sent = True
            except Exception:  # a dead socket: forget it, the row stays pending
                conns = self._conns.get(integration_id)
                if conns is not None:
                    conns.pop(key, None)
        return sent
