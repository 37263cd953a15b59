"""One conversation's live feed: a WebChat visitor's, or an engine listener's that names a
`conversationId`, on the Events websocket or the SignalR hub (each a `Peer`).

A visitor must only ever see its own conversation, while the outbox delivers per integration
(every visitor's activities share one WebChat integration). So a visitor's socket is not an
outbox receiver: it follows the conversation's stored customer-side activities with an
eventId cursor (`leid`, as the interactions endpoint), every `delivery_poll_s`. That is
at-least-once and in order across reconnects and server processes, with the eventId as the
de-duplication key; the outbox rows stay for integration-level listeners (engine tokens).
An engine listener of one conversation follows its integration's side the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, Protocol

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from unihub.conversations import history
from unihub.conversations import repository as conversations
from unihub.core.context import AppContext

BATCH = 200


class Peer(Protocol):
    """The followed side of a socket: how a protocol frames an activity and hears the end."""

    async def send_envelope(self, envelope: dict[str, Any]) -> None: ...

    async def until_closed(self) -> None:
        """Return once the client has gone (it may only ping meanwhile)."""
        ...


class PlainSocket:
    """The Events websocket: one JSON text frame per Direct envelope."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        await self.ws.send_text(orjson.dumps(envelope).decode())

    async def until_closed(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                await self.ws.receive_text()  # pings only


async def follow(
    peer: Peer,
    ctx: AppContext,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    leid: int,
    *,
    integration_id: uuid.UUID | None = None,
    side: str = "Customer",
) -> None:
    """Send the conversation's `side` activities after `leid`, then new ones, framed as the
    Direct payload of `integration_id` (the listener; by default the conversation's own)."""
    async with ctx.db.read() as s:
        conversation = await conversations.get(s, tenant_id, conversation_id)
    assert conversation is not None  # checked by the caller
    header = {
        "hubId": str(conversation.hub_id),
        "tenantId": str(conversation.tenant_id),
        "integrationId": str(integration_id or conversation.integration_id),
        "conversationId": str(conversation.id),
    }
    closed = asyncio.Event()

    async def wait_client() -> None:
        try:
            await peer.until_closed()
        finally:
            closed.set()

    reader = asyncio.create_task(wait_client())
    try:
        while not closed.is_set():
            async with ctx.db.read() as s:
                bodies = await conversations.activities_after(s, conversation_id, side, leid, BATCH)
            for body in bodies:
                activity = history.for_side(orjson.loads(body), side)
                await peer.send_envelope({**header, "activity": activity})
                leid = max(leid, int(activity["eventId"]))
            if len(bodies) < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), ctx.settings.delivery_poll_s)
    except Exception:  # noqa: S110 - the socket closed, however the server reports it
        pass
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
