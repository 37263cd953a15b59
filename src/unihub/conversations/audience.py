"""Who may speak in a conversation and who hears it: the engine's audience rules in one place.

- The customer side is the conversation's customer integration; it speaks when a request
  names no sender. Agents and bots name themselves in `sender.integrationId`.
- Customer activities go to the hub's active Agent and Bot integrations (none: ENG005501);
  agent and bot activities go to the conversation's customer integration.
- Paused integrations neither speak (ENG006502) nor hear (skipped).
- System integrations observe every activity whose trigger matches their event filters.
- An integration with `echo` gets its own activity back, flagged `isEcho`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from unihub.conversations.models import Conversation
from unihub.core.errors import ApiError, bad_request, not_found
from unihub.integrations.loaded import LoadedIntegration

BUSINESS_TYPES = ("Agent", "Bot")


@dataclass(frozen=True, slots=True)
class Plan:
    sender: LoadedIntegration
    trigger: str
    recipients: list[LoadedIntegration]
    observers: list[LoadedIntegration] = field(default_factory=list)
    echo: LoadedIntegration | None = None

    @property
    def sides(self) -> set[str]:
        return {self.sender.integration_type, *(r.integration_type for r in self.recipients)}


def source(conversation: Conversation, integration: LoadedIntegration) -> dict[str, Any]:
    """An activity's `sender`/`recipient` node for an integration of this conversation."""
    if integration.integration_type == "Customer":
        token = conversation.token_id
    else:
        token = f"{conversation.id}.{integration.id}"
    return {
        "integrationId": str(integration.id),
        "integrationType": integration.integration_type,
        "channelType": integration.channel_name,
        "tokenId": token,
    }


def resolve_sender(
    conversation: Conversation,
    members: Sequence[LoadedIntegration],
    sender_id: uuid.UUID | None,
) -> LoadedIntegration:
    wanted = sender_id or conversation.integration_id
    sender = next((m for m in members if m.id == wanted), None)
    if sender is None:
        if sender_id is None:
            raise integration_missing(conversation.integration_id)
        raise not_found(
            6000, f"Integration '{sender_id}' does not exist in this conversation's hub."
        )
    if sender.integration_type == "Customer" and sender.id != conversation.integration_id:
        raise bad_request(
            5002,
            f"Integration '{sender.id}' is the customer side of other conversations, "
            "not of this one.",
        )
    if sender.integration_type not in ("Customer", *BUSINESS_TYPES):
        raise bad_request(5002, f"A {sender.integration_type} integration cannot send activities.")
    if not sender.active:
        raise bad_request(6502, f"Integration '{sender.id}' is paused and cannot send activities.")
    return sender


def integration_missing(integration_id: uuid.UUID) -> ApiError:
    return not_found(6000, f"Integration '{integration_id}' does not exist.")


def plan(
    conversation: Conversation,
    members: Sequence[LoadedIntegration],
    sender: LoadedIntegration,
    kind: str,
) -> Plan:
    trigger = f"{kind}:{sender.integration_type.lower()}"
    if sender.integration_type == "Customer":
        recipients = [m for m in members if m.integration_type in BUSINESS_TYPES and m.active]
        if not recipients:
            raise bad_request(
                5501,
                "The hub has no active Agent or Bot integration to receive customer activities.",
            )
    else:
        recipients = [m for m in members if m.id == conversation.integration_id and m.active]
    observers = [
        m for m in members if m.integration_type == "System" and m.active and m.subscribes(trigger)
    ]
    echo = sender if sender.echo else None
    return Plan(sender, trigger, recipients, observers, echo)
