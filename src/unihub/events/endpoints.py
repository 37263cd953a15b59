"""The Events websocket: a Direct integration's activities (from the outbox), or one
conversation's (followed from the stored activities: WebChat visitors, and engine tokens that
name a `conversationId`)."""

from __future__ import annotations

import contextlib
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from unihub.core.context import AppContext
from unihub.core.errors import ApiError
from unihub.core.tokens import bearer_token
from unihub.core.validation import parse_event_cursor
from unihub.delivery.engine import get_engine
from unihub.events.listeners import Listener, authorize, refusal
from unihub.webchat.stream import PlainSocket, follow

router = APIRouter(tags=["events"])


def socket_frame(delivery_id: uuid.UUID, payload: str) -> str:
    """The Direct payload with the delivery id first, for de-duplication by the client."""
    return f'{{"deliveryId":"{delivery_id}",{payload[1:]}'


@router.websocket("/api/v1/events/ws")
async def events_socket(
    websocket: WebSocket,
    integrationId: str | None = None,
    access_token: str | None = None,
    conversationId: str | None = None,
    leid: str | None = None,
) -> None:
    """Activities for a Direct integration without a webhook, one JSON frame each (the Direct
    webhook payload plus `deliveryId`), in order per conversation; missed ones arrive on
    connect. Authenticate with an engine token (`Authorization: Bearer` or `access_token`),
    or a WebChat token for its own integration. Naming a `conversationId` (required for a
    WebChat token) follows that conversation only, on the integration's side, from `leid` on
    (see `unihub.webchat.stream`)."""
    ctx: AppContext = websocket.app.state.ctx
    token = bearer_token(websocket.headers.get("authorization")) or access_token
    try:
        listener = await authorize(ctx, token, integrationId, conversationId)
        after = parse_event_cursor(leid)
    except ApiError as exc:
        await websocket.close(code=1008, reason=refusal(exc)[:120])
        return

    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    async with ctx.token_watch.watching(listener.principal, close):
        await websocket.accept()
        try:
            if listener.conversation_id is None:
                await _stream_integration(websocket, listener.integration_id)
            else:
                await _follow(websocket, ctx, listener, after)
        finally:
            with contextlib.suppress(Exception):
                await websocket.close()


async def _follow(websocket: WebSocket, ctx: AppContext, listener: Listener, after: int) -> None:
    assert listener.conversation_id is not None
    await follow(
        PlainSocket(websocket),
        ctx,
        listener.tenant_id,
        listener.conversation_id,
        after,
        integration_id=listener.integration_id,
        side=listener.side,
    )


async def _stream_integration(websocket: WebSocket, integration_id: uuid.UUID) -> None:
    engine = get_engine(websocket)

    async def send(delivery_id: uuid.UUID, payload: str) -> None:
        await websocket.send_text(socket_frame(delivery_id, payload))

    engine.sockets.add(integration_id, websocket, send)
    engine.wake.set()  # pending rows for this integration are sent now
    try:
        while True:
            await websocket.receive_text()  # clients may ping; nothing else is expected
    except (WebSocketDisconnect, RuntimeError):  # closed by the client, or by us
        pass
    finally:
        engine.sockets.remove(integration_id, websocket)
