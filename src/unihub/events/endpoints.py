"""The Events websocket: a Direct integration's activities (from the outbox), or a WebChat
visitor's own conversation (followed from the stored activities)."""

from __future__ import annotations

import contextlib
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from unihub.conversations.repository import get as get_conversation
from unihub.core.auth import valid_principal
from unihub.core.context import AppContext
from unihub.core.errors import ApiError
from unihub.core.tokens import ENGINE_SCOPE, WEBCHAT_SCOPE, Principal, bearer_token
from unihub.core.validation import parse_event_cursor
from unihub.delivery.engine import get_engine
from unihub.integrations import loaded as integrations
from unihub.webchat.stream import follow

router = APIRouter(tags=["events"])


async def _principal_of(ws: WebSocket, ctx: AppContext, token: str | None) -> Principal | None:
    """The socket's principal: the Authorization header, else the `access_token` query."""
    principal = await valid_principal(ctx, bearer_token(ws.headers.get("authorization")) or token)
    if principal is None or principal.scope not in (ENGINE_SCOPE, WEBCHAT_SCOPE):
        return None
    return principal


async def _follow_conversation(
    websocket: WebSocket,
    ctx: AppContext,
    tenant_id: uuid.UUID,
    integration_id: uuid.UUID,
    conversation: str | None,
    leid: int,
) -> None:
    try:
        conversation_id = uuid.UUID(str(conversation))
    except ValueError:
        await websocket.close(code=1008, reason="conversationId must be a GUID")
        return
    async with ctx.db.read() as s:
        found = await get_conversation(s, tenant_id, conversation_id)
    if found is None or found.integration_id != integration_id:
        await websocket.close(code=1008, reason="conversation not found")
        return
    await websocket.accept()
    try:
        await follow(websocket, ctx, tenant_id, conversation_id, leid)
    finally:
        with contextlib.suppress(Exception):
            await websocket.close()


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
    or a WebChat token for its own integration: a visitor then names its `conversationId` and
    follows that conversation only (see `unihub.webchat.stream`), from `leid` on."""
    ctx: AppContext = websocket.app.state.ctx
    principal = await _principal_of(websocket, ctx, access_token)
    if principal is None:
        await websocket.close(code=1008, reason="a valid engine access token is required")
        return
    tenant_id = principal.tenant_id
    try:
        integration_id = uuid.UUID(str(integrationId))
    except ValueError:
        await websocket.close(code=1008, reason="integrationId must be a GUID")
        return
    if principal.scope == WEBCHAT_SCOPE and principal.integration_id != integration_id:
        # A WebChat visitor listens to its own integration only.
        await websocket.close(code=1008, reason="the WebChat token is for another integration")
        return
    async with ctx.db.read() as s:
        integration = await integrations.load(s, tenant_id, integration_id)
    if integration is None:
        await websocket.close(code=1008, reason="integration not found")
        return

    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    if principal.scope == WEBCHAT_SCOPE:
        try:
            after = parse_event_cursor(leid)
        except ApiError as exc:
            await websocket.close(code=1008, reason=exc.errors[0].description[:120])
            return
        async with ctx.token_watch.watching(principal, close):
            await _follow_conversation(
                websocket, ctx, tenant_id, integration_id, conversationId, after
            )
        return
    async with ctx.token_watch.watching(principal, close):
        await _stream_integration(websocket, integration_id)


async def _stream_integration(websocket: WebSocket, integration_id: uuid.UUID) -> None:
    engine = get_engine(websocket)
    await websocket.accept()
    engine.sockets.add(integration_id, websocket)
    engine.wake.set()  # pending rows for this integration are sent now
    try:
        while True:
            await websocket.receive_text()  # clients may ping; nothing else is expected
    except (WebSocketDisconnect, RuntimeError):  # closed by the client, or by us
        pass
    finally:
        engine.sockets.remove(integration_id, websocket)
        with contextlib.suppress(Exception):
            await websocket.close()
