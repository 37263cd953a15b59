"""Accepting an activity: validation, the audience plan, the stored activity and its outbox
rows.

Accepting is one transaction: the conversation's next sequence number, the stored activity and
one outbox row per receiver commit together (or not at all), so every accepted activity is
delivered even if the process dies right after answering.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from unihub.activities.models import StoredActivity
from unihub.activities.schemas import MESSAGE_ADAPTER, DirectInboundActivity
from unihub.channels.types import ChannelId
from unihub.conversations import audience, control, switchboard, wire
from unihub.conversations import repository as repo
from unihub.conversations.checks import (
    INBOUND_CODES,
    conversation_not_found,
    require_accepting,
    validate_body,
)
from unihub.conversations.commands import (
    CommandListing,
    control_command,
    handle_command,
    is_command,
)
from unihub.conversations.models import Conversation
from unihub.core.context import AppContext
from unihub.core.errors import forbidden
from unihub.core.timestamps import utcnow
from unihub.core.validation import JsonBody
from unihub.delivery import outbox
from unihub.delivery.engine import EngineRuntime
from unihub.delivery.models import WEBHOOK
from unihub.integrations.loaded import LoadedIntegration


async def queue_start_messages(
    s: Any,
    engine: EngineRuntime,
    conversation: Conversation,
    customer: LoadedIntegration,
    now: datetime,
) -> bool:
    """The integration's `start` messages, sent to the customer as the hub's auto-reply."""
    if customer.channel not in (ChannelId.WebChat, ChannelId.Direct) or not customer.start:
        return False
    channel = customer.delivery_channel()
    base_ms = wire.ms(now)
    queued = False
    rows: list[dict[str, Any]] = []
    for message in customer.start:
        try:
            node = MESSAGE_ADAPTER.validate_python(message).to_wire()
        except ValidationError:
            continue  # configuration is validated when saved; never block a conversation
        conversation.last_seq += 1
        conversation.last_event_id = base_ms + conversation.last_seq - 1
        activity = wire.activity(
            kind="message",
            trigger="message:system",
            event_id=conversation.last_event_id,
            external_id=None,
            interaction_id=str(uuid.uuid4()),
            sender=wire.SYSTEM_SENDER,
            recipient=wire.source(conversation, customer),
            node=node,
            flow="AutoReplay",
        )
        stored = StoredActivity(
            **wire.stored_values(conversation, activity, "System", None, {"Customer"}, now)
        )
        s.add(stored)
        if channel is not None:
            rows.append(
                wire.outbox_row(
                    conversation,
                    stored.id,
                    stored.event_id,
                    stored.seq,
                    customer,
                    channel,
                    wire.direct(conversation, customer, activity),
                    now,
                )
            )
        queued = True
    await s.flush()  # the activities first: outbox rows reference them
    await s.run_sync(outbox.enqueue, rows)
    return queued and channel is not None


async def post_activity(
    ctx: AppContext,
    engine: EngineRuntime,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    body: JsonBody,
    only_integration: uuid.UUID | None = None,
    receipt: str | None = None,
) -> dict[str, Any]:
    """`only_integration` (WebChat tokens): the conversation must be that customer
    integration's, and the sender is always its customer. `receipt` (provider webhooks and
    pollers): the provider's event key; an event already accepted stores nothing again and
    answers `"duplicate": true`."""
    conversation, hub, members = await ctx.db.read_sync(
        lambda conn: repo.for_activity(conn, tenant_id, conversation_id), one_snapshot=False
    )
    if conversation is None or (
        only_integration is not None and conversation.integration_id != only_integration
    ):
        raise conversation_not_found(conversation_id)
    data = validate_body(DirectInboundActivity, body, INBOUND_CODES, 5023)
    require_accepting(conversation, hub)
    sender_id = data.sender.integration_id if data.sender is not None else None
    if only_integration is not None and sender_id and uuid.UUID(sender_id) != only_integration:
        raise forbidden(101, "A WebChat token speaks only for its own integration.")
    sender = audience.resolve_sender(
        conversation, members, uuid.UUID(sender_id) if sender_id else None
    )
    kind = data.type
    node_model = data.message if kind == "message" else data.event
    assert node_model is not None  # the schema guarantees the node named by `type`
    node: dict[str, Any] = node_model.to_wire()
    text = node.get("text") if kind == "message" else None
    if sender.integration_type in audience.BUSINESS_TYPES and is_command(text):
        return await _run_command(ctx, engine, conversation, members, sender, str(text))
    plan = audience.plan(conversation, members, sender, kind)
    try:
        return await _accept(
            ctx, engine, conversation, members, plan, kind, node, data.external_id, receipt
        )
    except _Duplicate:
        return {"status": 200, "duplicate": True, "conversationId": str(conversation.id)}


class _Duplicate(Exception):
    """Raised inside the accepting transaction to roll it back: the event was accepted."""


async def _accept(
    ctx: AppContext,
    engine: EngineRuntime,
    conversation: Conversation,
    members: list[LoadedIntegration],
    plan: audience.Plan,
    kind: str,
    node: dict[str, Any],
    external_id: str | None,
    receipt: str | None = None,
) -> dict[str, Any]:
    now = utcnow()
    interaction_id = str(uuid.uuid4()) if kind == "message" else None
    sender_src = wire.source(conversation, plan.sender)

    def work(s: Session) -> tuple[int, bool]:
        """The whole accepting transaction: (eventId, whether deliveries were queued)."""
        taken, held = switchboard.locked_control(s, conversation, members, now)
        if receipt is not None and not repo.add_receipt(s, plan.sender.id, receipt, now):
            raise _Duplicate
        # Routed under the row lock: a control change committed before this point is seen.
        routed, change = switchboard.route(plan, held, members)
        rows: list[dict[str, Any]] = []
        if change is not None:
            # The change first (a fallback, or an agent taking over), then the activity.
            actor = None if change.action == control.FALLBACK else routed.sender
            _, rows = switchboard.record(s, conversation, change, actor, None, members, taken, now)
            taken, _ = switchboard.locked_control(s, conversation, members, now)
        event_id = taken.event_id
        primary = routed.recipients[0] if routed.recipients else None
        primary_src = wire.source(conversation, primary) if primary else None

        def activity(
            recipient: dict[str, Any] | None, is_echo: bool = False, standby: bool = False
        ) -> dict[str, Any]:
            return wire.activity(
                kind=kind,
                trigger=routed.trigger,
                event_id=event_id,
                external_id=external_id,
                interaction_id=interaction_id,
                sender=sender_src,
                recipient=recipient,
                node=node,
                is_echo=is_echo,
                standby=standby,
            )

        stored_body = activity(primary_src)
        stored = wire.stored_values(
            conversation,
            stored_body,
            routed.sender.integration_type,
            routed.sender.id,
            routed.sides,
            now,
        )
        seq, activity_id = conversation.last_seq, stored["id"]

        def delivery(r: LoadedIntegration, channel: str, payload: bytes) -> dict[str, Any]:
            return wire.outbox_row(
                conversation, activity_id, event_id, seq, r, channel, payload, now
            )

        own: list[dict[str, Any]] = []
        for r in routed.recipients:
            channel = r.delivery_channel()
            if channel is not None:
                payload = wire.direct(conversation, r, activity(wire.source(conversation, r)))
                own.append(delivery(r, channel, payload))
        for w in routed.standby:
            # A standby copy names the controller it was for (Slack marks it bot-handled).
            channel = w.delivery_channel()
            if channel is not None:
                payload = wire.direct(conversation, w, activity(primary_src, standby=True))
                own.append(delivery(w, channel, payload))
        for o in routed.observers:
            if o.webhook_url:
                own.append(delivery(o, WEBHOOK, wire.system(conversation, o, stored_body)))
        if routed.echo is not None:
            channel = routed.echo.delivery_channel()
            if channel is not None:
                payload = wire.direct(
                    conversation, routed.echo, activity(primary_src, is_echo=True)
                )
                own.append(delivery(routed.echo, channel, payload))
        repo.add_activity(s, stored)
        outbox.enqueue(s, own)
        rows += own
        if rows:
            engine.notifier.in_tx(s)
        return event_id, bool(rows)

    event_id, queued = await ctx.db.transact(work)
    if queued:
        await engine.notifier.after_commit()
    out: dict[str, Any] = {"status": 200, "eventId": event_id}
    if external_id is not None:
        out["externalId"] = external_id
    out["hubId"] = str(conversation.hub_id)
    out["conversationId"] = str(conversation.id)
    out["integrationId"] = str(plan.sender.id)
    if interaction_id is not None:
        out["interactionId"] = interaction_id
    return out


async def _run_command(
    ctx: AppContext,
    engine: EngineRuntime,
    conversation: Conversation,
    members: list[LoadedIntegration],
    sender: LoadedIntegration,
    text: str,
) -> dict[str, Any]:
    """A `::command` from an agent or bot: a control action, a listing answered here, or the
    command's responses accepted one activity at a time, in order (see
    `conversations.commands`)."""
    head: dict[str, Any] = {
        "status": 200,
        "hubId": str(conversation.hub_id),
        "conversationId": str(conversation.id),
        "integrationId": str(sender.id),
    }
    wanted = control_command(text)
    if wanted is not None:
        action, target_name = wanted
        target = control.target_by_name(members, target_name) if target_name else None
        done = await switchboard.act_as(ctx, engine, conversation, members, sender, action, target)
        return {**head, **done, "command": action}
    outcome = await handle_command(ctx, hub_id=conversation.hub_id, text=text)
    if isinstance(outcome, CommandListing):
        if outcome.category is not None:
            head["category"] = outcome.category
        return {**head, "commands": outcome.commands}
    if outcome.target == "customer":
        plan = audience.plan(conversation, members, sender, outcome.kind)
    else:
        # Agent-side responses: every active Agent and Bot integration, the typing one included.
        trigger = f"{outcome.kind}:{sender.integration_type.lower()}"
        business = [m for m in members if m.integration_type in audience.BUSINESS_TYPES]
        plan = audience.Plan(
            sender=sender,
            trigger=trigger,
            recipients=[m for m in business if m.active],
            observers=audience.observers_of(members, trigger),
        )
    accepted = [
        await _accept(ctx, engine, conversation, members, plan, outcome.kind, node, None)
        for node in outcome.responses
    ]
    # The first activity's answer (the shape clients parse), plus every activity sent.
    return {
        **accepted[0],
        "command": outcome.name,
        "activities": [{k: a[k] for k in ("eventId", "interactionId") if k in a} for a in accepted],
    }
