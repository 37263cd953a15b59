"""Who may listen to what: one decision for the Events websocket and the SignalR hub.

An engine token listens to any integration of its tenant: to its whole outbox stream, or,
naming a conversation, to that conversation's activities on the integration's side. A WebChat
token listens to one conversation of its own integration only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from unihub.conversations.checks import conversation_not_found
from unihub.conversations.repository import get as get_conversation
from unihub.core.auth import valid_principal
from unihub.core.context import AppContext
from unihub.core.errors import ApiError, bad_request, forbidden, unauthorized
from unihub.core.tokens import ENGINE_SCOPE, WEBCHAT_SCOPE, Principal
from unihub.core.validation import parse_guid
from unihub.integrations import loaded as integrations
from unihub.integrations.service import integration_not_found

SIDES = ("Customer", "Agent", "Bot")


@dataclass(frozen=True, slots=True)
class Listener:
    principal: Principal
    integration_id: uuid.UUID
    conversation_id: uuid.UUID | None  # None: the integration's outbox stream
    side: str  # the side followed when conversation_id is set

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.principal.tenant_id


async def authorize(
    ctx: AppContext,
    token: str | None,
    integration: str | None,
    conversation: str | None,
    names: tuple[str, str] = ("integrationId", "conversationId"),
) -> Listener:
    """The listener, or the `ApiError` refusing it (names: the query parameters' names)."""
    principal = await valid_principal(ctx, token)
    if principal is None:
        raise unauthorized("A valid engine or WebChat access token is required.")
    if principal.scope not in (ENGINE_SCOPE, WEBCHAT_SCOPE):
        raise forbidden(101, "This access token is not valid for the Events API.")
    integration_id = parse_guid(str(integration or ""), names[0])
    webchat = principal.scope == WEBCHAT_SCOPE
    if webchat and principal.integration_id != integration_id:
        raise forbidden(101, "This WebChat token is not valid for another integration.")
    async with ctx.db.read() as s:
        loaded = await integrations.load(s, principal.tenant_id, integration_id)
        if loaded is None:
            raise integration_not_found(integration_id)
        side = loaded.integration_type
        if conversation is None or not conversation.strip():
            if webchat:
                raise bad_request(200, f"Query parameter '{names[1]}' is required.")
            return Listener(principal, integration_id, None, side)
        conversation_id = parse_guid(conversation, names[1])
        found = await get_conversation(s, principal.tenant_id, conversation_id)
    # A customer integration hears its own conversations; a business one, its hub's.
    if found is None or (
        found.integration_id != integration_id
        if webchat or side == "Customer"
        else found.hub_id != loaded.hub_id
    ):
        raise conversation_not_found(conversation_id)
    if side not in SIDES:
        raise bad_request(200, f"A {side} integration does not follow a conversation.")
    return Listener(principal, integration_id, conversation_id, side)


def refusal(exc: ApiError) -> str:
    return exc.errors[0].description
