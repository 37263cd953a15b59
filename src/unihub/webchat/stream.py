"""The WebChat visitor's live feed on the Events websocket.

A visitor must only ever see its own conversation, while the outbox delivers per integration
(every visitor's activities share one WebChat integration). So a visitor's socket is not an
outbox receiver: it follows the conversation's stored customer-side activities with an
eventId cursor (`leid`, as the interactions endpoint), every `delivery_poll_s`. That is
at-least-once and in order across reconnects and server processes, with the eventId as the
de-duplication key; the outbox rows stay for integration-level listeners (engine tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from unihub.conversations import repository as conversations
from unihub.core.context import AppContext

BATCH = 200


async def follow(
    ws: WebSocket, ctx: AppContext, tenant_id: uuid.UUID, conversation_id: uuid.UUID, leid: int
) -> None:
    """Send the conversation's customer-side activities after `leid`, then new ones."""
    async with ctx.db.read() as s:
        conversation = await conversations.get(s, tenant_id, conversation_id)
    assert conversation is not None  # checked by the caller
    header = {
        "hubId": str(conversation.hub_id),
        "tenantId": str(conversation.tenant_id),
        "integrationId": str(conversation.integration_id),
        "conversationId": str(conversation.id),
    }
    closed = asyncio.Event()

    async def drain_client() -> None:
        try:
            while True:
                await ws.receive_text()  # pings only
        except (WebSocketDisconnect, RuntimeError):
            closed.set()

    reader = asyncio.create_task(drain_client())
    try:
        while not closed.is_set():
            async with ctx.db.read() as s:
                bodies = await conversations.activities_after(
                    s, conversation_id, "Customer", leid, BATCH
                )
            for body in bodies:
                activity = orjson.loads(body)
                await ws.send_text(orjson.dumps({**header, "activity": activity}).decode())
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
