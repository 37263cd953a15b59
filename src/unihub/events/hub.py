"""The SignalR hub `/engine-chat-hub` of the official .NET client: the Events websocket's
activities (`ReceiveDirectActivities`, the activity node only) in the SignalR JSON protocol.

The same listeners as the Events websocket (`events.listeners`: `iId`, optional `cId`), the
same outbox rows and cursor: nothing is marked delivered before its frame was written.
Negotiate answers refusals in the error model; once negotiated, the upgrade is always
accepted and a refusal is a SignalR close message (an HTTP error there makes the client retry
forever).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Request, WebSocket

from unihub.core.auth import Context
from unihub.core.context import AppContext
from unihub.core.errors import COMMON_ERRORS, ApiError, error_responses
from unihub.core.openapi import requirement
from unihub.core.responses import JSON
from unihub.core.tokens import ENGINE_SCOPE, bearer_token
from unihub.delivery.engine import get_engine
from unihub.events.listeners import Listener, authorize, refusal
from unihub.events.signalr import HubConnection
from unihub.webchat.stream import follow

router = APIRouter(tags=["events"])

PATH = "/engine-chat-hub"
NAMES = ("iId", "cId")
TRANSPORTS = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]


def _token(headers: Any, access_token: str | None) -> str | None:
    """The .NET client sends `Authorization: Bearer`; JavaScript clients `access_token`."""
    return bearer_token(headers.get("authorization")) or access_token


@router.post(
    f"{PATH}/negotiate",
    summary="SignalR negotiate",
    responses=error_responses(*COMMON_ERRORS, 404),
    # The token is read here (header or `access_token`), not by a caller dependency.
    openapi_extra={"security": requirement(ENGINE_SCOPE)},
)
async def negotiate(
    request: Request,
    ctx: Context,
    iId: str | None = None,
    cId: str | None = None,
    negotiateVersion: int = 0,
    access_token: str | None = None,
) -> JSON:
    """Checks the token and the listener as the upgrade will, then offers WebSockets."""
    await authorize(ctx, _token(request.headers, access_token), iId, cId, NAMES)
    connection_id = secrets.token_urlsafe(16)
    if negotiateVersion < 1:  # v0: the client connects with id=connectionId
        return JSON({"connectionId": connection_id, "availableTransports": TRANSPORTS})
    return JSON(
        {
            "negotiateVersion": 1,
            "connectionId": connection_id,
            "connectionToken": secrets.token_urlsafe(16),
            "availableTransports": TRANSPORTS,
        }
    )


@router.websocket(PATH)
async def engine_chat_hub(
    websocket: WebSocket,
    iId: str | None = None,
    cId: str | None = None,
    access_token: str | None = None,
) -> None:
    """The hub connection (`id` is the negotiated token; connections keep no server state,
    so any process serves it)."""
    ctx: AppContext = websocket.app.state.ctx
    await websocket.accept()
    conn = HubConnection(websocket)
    if not await conn.handshake():
        return
    try:
        listener = await authorize(ctx, _token(websocket.headers, access_token), iId, cId, NAMES)
    except ApiError as exc:
        await conn.refuse(exc.status, refusal(exc))
        return

    async def close(_code: int, reason: str) -> None:
        await conn.refuse(401, reason[:1].upper() + reason[1:] + ".")

    try:
        async with ctx.token_watch.watching(listener.principal, close):
            if listener.conversation_id is None:
                await _stream_integration(websocket, conn, listener.integration_id)
            else:
                await _follow(conn, ctx, listener)
    finally:
        await conn.close()


async def _stream_integration(
    websocket: WebSocket, conn: HubConnection, integration_id: uuid.UUID
) -> None:
    engine = get_engine(websocket)
    engine.sockets.add(integration_id, conn, conn.send_payload)
    engine.wake.set()  # pending rows for this integration are sent now
    try:
        await conn.until_closed()
    finally:
        engine.sockets.remove(integration_id, conn)


async def _follow(conn: HubConnection, ctx: AppContext, listener: Listener) -> None:
    """One conversation from its first activity: the hub has no cursor, the activity's
    eventId is the client's de-duplication key."""
    assert listener.conversation_id is not None
    await follow(
        conn,
        ctx,
        listener.tenant_id,
        listener.conversation_id,
        0,
        integration_id=listener.integration_id,
        side=listener.side,
    )
