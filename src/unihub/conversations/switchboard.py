"""The switchboard applied: control actions (the `/control` endpoint and the `::takeover`,
`::handover`, `::release` commands), the routing of each accepted activity by the
conversation's controller, and the control events both store.

Every decision is made from the control state that `repository.next_event` returns while it
holds the conversation's row lock, inside the transaction that stores the outcome: once a
change commits, no later activity can be routed by the old controller, and of two
simultaneous takeovers the second sees the first (409).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from unihub.conversations import audience, wire
from unihub.conversations import repository as repo
from unihub.conversations.checks import (
    INBOUND_CODES,
    closed,
    conversation_not_found,
    require_accepting,
    validate_body,
)
from unihub.conversations.control import (
    AGENT,
    AGENTS,
    BOT,
    FALLBACK,
    METADATA_LIMIT,
    METADATA_TOO_LARGE,
    TAKEOVER,
    Change,
    Control,
    bot_not_in_control,
    decide,
    fallback,
    holders,
    initial,
    target_by_id,
)
from unihub.conversations.models import OPEN, Conversation
from unihub.conversations.repository import Taken
from unihub.conversations.schemas import ControlRequest
from unihub.core.context import AppContext
from unihub.core.errors import bad_request
from unihub.core.timestamps import utcnow
from unihub.core.validation import JsonBody
from unihub.delivery import outbox
from unihub.delivery.engine import EngineRuntime
from unihub.delivery.models import WEBHOOK
from unihub.integrations.loaded import LoadedIntegration

ALL_SIDES = {"Customer", "Agent", "Bot"}


class _Unchanged(Exception):
    """Raised inside the transaction to roll back its sequence number: nothing to record."""

    def __init__(self, control: Control) -> None:
        self.control = control


# --------------------------------------------------------------------------- routing


def _watchers(
    control: Control, members: Sequence[LoadedIntegration], excluded: set[uuid.UUID]
) -> list[LoadedIntegration]:
    """Standby receivers: agents not holding control, and bots configured with `standby`."""
    out: list[LoadedIntegration] = []
    for m in members:
        if not m.active or m.id in excluded:
            continue
        if (m.integration_type == "Agent" and control.kind != AGENTS) or (
            m.integration_type == "Bot" and m.standby
        ):
            out.append(m)
    return out


def route(
    plan: audience.Plan, control: Control, members: Sequence[LoadedIntegration]
) -> tuple[audience.Plan, Change | None]:
    """The plan's receivers under `control`, and the change accepting it makes first (a
    fallback for a customer whose controller is gone; a takeover by an agent answering a
    bot's conversation)."""
    if plan.direction == audience.INTERNAL:
        return plan, None
    change: Change | None = None
    if plan.direction == audience.FROM_CUSTOMER:
        held = holders(control, members)
        if not held:
            after = fallback(control, members)
            if after is None:
                raise audience.nobody_to_receive()
            change, control = Change(FALLBACK, control, after), after
            held = holders(after, members)
        excluded = {m.id for m in held}
        return plan.routed(held, _watchers(control, members, excluded)), change
    sender = plan.sender
    if sender.integration_type == "Bot":
        if control.kind != BOT or control.integration_id != sender.id:
            raise bot_not_in_control(sender)
    elif control.kind == BOT:
        after = Control(AGENT, sender.id, control.start_id)
        change, control = Change(TAKEOVER, control, after), after
    return plan.routed(None, _watchers(control, members, {sender.id})), change


# --------------------------------------------------------------------------- control events


def record(
    s: Session,
    conversation: Conversation,
    change: Change,
    actor: LoadedIntegration | None,
    metadata: dict[str, Any] | None,
    members: Sequence[LoadedIntegration],
    taken: Taken,
    now: datetime,
) -> tuple[Control, list[dict[str, Any]]]:
    """Store `change` (the new control and its event, at `taken`'s sequence number) and queue
    the event for every active business integration, the customer (without metadata) and
    the System integrations subscribed to `control`. `actor` None: the engine (fallback)."""
    after = replace(change.after, since=now)
    repo.set_control(s, conversation.id, after)
    conversation.last_seq = taken.seq
    node: dict[str, Any] = {
        "type": "control",
        "action": change.action,
        "from": change.before.party(),
        "to": after.party(),
    }
    public = dict(node)
    if metadata is not None:
        node["metadata"] = metadata
    trigger = f"control:{change.action}"
    sender = wire.source(conversation, actor) if actor is not None else wire.SYSTEM_SENDER

    def event(recipient: dict[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
        return wire.activity(
            kind="event",
            trigger=trigger,
            event_id=taken.event_id,
            external_id=None,
            interaction_id=None,
            sender=sender,
            recipient=recipient,
            node=body,
        )

    stored_body = event(None, node)
    stored = wire.stored_values(
        conversation,
        stored_body,
        actor.integration_type if actor is not None else "System",
        actor.id if actor is not None else None,
        ALL_SIDES,
        now,
    )
    rows: list[dict[str, Any]] = []
    for m in members:
        if not m.active:
            continue
        if m.integration_type == "System":
            if m.webhook_url and m.subscribes(trigger):
                payload = wire.system(conversation, m, stored_body)
                rows.append(_row(conversation, stored, taken, m, WEBHOOK, payload, now))
            continue
        if m.integration_type in audience.BUSINESS_TYPES:
            body = node
        elif m.id == conversation.integration_id:
            body = public
        else:
            continue  # the customer side of other conversations
        channel = m.delivery_channel()
        if channel is not None:
            payload = wire.direct(conversation, m, event(wire.source(conversation, m), body))
            rows.append(_row(conversation, stored, taken, m, channel, payload, now))
    repo.add_activity(s, stored)
    outbox.enqueue(s, rows)
    return after, rows


def _row(
    c: Conversation,
    stored: dict[str, Any],
    taken: Taken,
    receiver: LoadedIntegration,
    channel: str,
    payload: bytes,
    now: datetime,
) -> dict[str, Any]:
    return wire.outbox_row(
        c, stored["id"], taken.event_id, taken.seq, receiver, channel, payload, now
    )


def locked_control(
    s: Session,
    conversation: Conversation,
    members: Sequence[LoadedIntegration],
    now: datetime,
) -> tuple[Taken, Control]:
    """The next sequence number and the control it locked; a conversation opened before the
    switchboard existed gets the control a new one would (stored now)."""
    taken = repo.next_event(s, conversation.id, now, wire.ms(now))
    if taken is None:
        raise closed(conversation.id)
    conversation.last_seq = taken.seq
    if taken.control is not None:
        return taken, taken.control
    control = initial(members, now)
    repo.set_control(s, conversation.id, control)
    return taken, control


# --------------------------------------------------------------------------- actions


def _answer(c: Conversation, control: Control, event_id: int | None) -> dict[str, Any]:
    return {
        "status": 200,
        "hubId": str(c.hub_id),
        "conversationId": str(c.id),
        "control": control.wire(),
        "changed": event_id is not None,
        "eventId": event_id,
    }


async def act_as(
    ctx: AppContext,
    engine: EngineRuntime,
    conversation: Conversation,
    members: Sequence[LoadedIntegration],
    actor: LoadedIntegration,
    action: str,
    target: LoadedIntegration | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = utcnow()

    def work(s: Session) -> tuple[Taken, Control, bool]:
        taken, control = locked_control(s, conversation, members, now)
        change = decide(control, action, actor, target, members)
        if change is None:
            raise _Unchanged(control)
        after, rows = record(s, conversation, change, actor, metadata, members, taken, now)
        if rows:
            engine.notifier.in_tx(s)
        return taken, after, bool(rows)

    try:
        taken, after, queued = await ctx.db.transact(work)
    except _Unchanged as same:
        return _answer(conversation, same.control, None)
    if queued:
        await engine.notifier.after_commit()
    return _answer(conversation, after, taken.event_id)


async def act(
    ctx: AppContext,
    engine: EngineRuntime,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    body: JsonBody,
) -> dict[str, Any]:
    """`POST /api/v1/conversations/{conversationId}/control`."""
    conversation, hub, members = await ctx.db.read_sync(
        lambda conn: repo.for_activity(conn, tenant_id, conversation_id), one_snapshot=False
    )
    if conversation is None:
        raise conversation_not_found(conversation_id)
    data = validate_body(ControlRequest, body, INBOUND_CODES, 5023)
    if data.metadata is not None and len(orjson.dumps(data.metadata)) > METADATA_LIMIT:
        raise bad_request(
            METADATA_TOO_LARGE, f"'metadata' is larger than {METADATA_LIMIT} bytes as JSON."
        )
    require_accepting(conversation, hub)
    actor = target_by_id(members, uuid.UUID(data.integration_id))
    target = target_by_id(members, uuid.UUID(data.target)) if data.target else None
    return await act_as(
        ctx, engine, conversation, members, actor, data.action, target, data.metadata
    )


def control_of(c: Conversation) -> Control | None:
    if c.status != OPEN or c.control_kind is None:
        return None
    return Control(c.control_kind, c.control_integration_id, c.control_start_id, c.control_since)


def parse_controlled_by(value: str | None) -> str | uuid.UUID | None:
    """`?controlledBy=`: bot, agents (waiting for any agent), agent, or an integration id."""
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    if word in (BOT, AGENTS, AGENT):
        return word
    try:
        return uuid.UUID(word)
    except ValueError:
        raise bad_request(
            206,
            f"Value '{value[:64]}' of 'controlledBy' is not supported; allowed: bot, agents, "
            "agent, or an integration id.",
        ) from None
