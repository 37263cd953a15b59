"""Who may speak in a conversation and who hears it: the engine's audience rules in one place.

- The customer side is the conversation's customer integration; it speaks when a request
  names no sender. Agents and bots name themselves in `sender.integrationId`.
- Customer activities go to the conversation's controller (`conversations.control`: its
  bot, its agents, or one agent; none left: ENG005501), with standby copies for the other
  agents and for bots configured with `standby`; agent and bot activities go to the
  conversation's customer integration (a bot only while it holds control), and to the
  integrations on standby. The controller is decided in the accepting transaction
  (`Plan.routed`), not here.
- Paused integrations neither speak (ENG006502) nor hear (skipped).
- System integrations observe every activity whose trigger matches their event filters.
- An integration with `echo` gets its own activity back, flagged `isEcho`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from unihub.conversations.models import Conversation
from unihub.core.errors import ApiError, bad_request, not_found
from unihub.integrations.loaded import LoadedIntegration

BUSINESS_TYPES = ("Agent", "Bot")


# Which way an activity goes: the switchboard routes the first two, not the third.
FROM_CUSTOMER, TO_CUSTOMER, INTERNAL = "from_customer", "to_customer", "internal"


@dataclass(frozen=True, slots=True)
class Plan:
    sender: LoadedIntegration
    trigger: str
    recipients: list[LoadedIntegration]
    observers: list[LoadedIntegration] = field(default_factory=list)
    echo: LoadedIntegration | None = None
    direction: str = INTERNAL
    standby: list[LoadedIntegration] = field(default_factory=list)

    @property
    def sides(self) -> set[str]:
        return {
            self.sender.integration_type,
            *(r.integration_type for r in self.recipients),
            *(r.integration_type for r in self.standby),
        }

    def routed(
        self,
        recipients: list[LoadedIntegration] | None,
        standby: list[LoadedIntegration],
    ) -> Plan:
        """This plan with the switchboard's decision (`recipients` None: unchanged)."""
        return replace(
            self,
            recipients=self.recipients if recipients is None else recipients,
            standby=standby,
        )


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
    """Who hears an activity, before the switchboard picks the customer's recipients."""
    trigger = f"{kind}:{sender.integration_type.lower()}"
    if sender.integration_type == "Customer":
        recipients: list[LoadedIntegration] = []
        direction = FROM_CUSTOMER
    else:
        recipients = [m for m in members if m.id == conversation.integration_id and m.active]
        direction = TO_CUSTOMER
    observers = observers_of(members, trigger)
    echo = sender if sender.echo else None
    return Plan(sender, trigger, recipients, observers, echo, direction)


def observers_of(members: Sequence[LoadedIntegration], trigger: str) -> list[LoadedIntegration]:
    return [
        m for m in members if m.integration_type == "System" and m.active and m.subscribes(trigger)
    ]


def nobody_to_receive() -> ApiError:
    return bad_request(
        5501, "The hub has no active Agent or Bot integration to receive customer activities."
    )
