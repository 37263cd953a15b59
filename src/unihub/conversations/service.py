"""Engine rules: establish and close conversations, accept activities, read them back.

Accepting an activity is one transaction: the conversation's next sequence number, the stored
activity and one outbox row per receiver commit together (or not at all), so every accepted
activity is delivered even if the process dies right after answering.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from unihub.activities.models import StoredActivity
from unihub.activities.schemas import MESSAGE_ADAPTER, DirectInboundActivity, error_path
from unihub.conversations import audience
from unihub.conversations import repository as repo
from unihub.conversations.commands import CommandListing, handle_command, is_command
from unihub.conversations.models import CLOSED, OPEN, Conversation
from unihub.conversations.schemas import EstablishRequest
from unihub.core.context import AppContext
from unihub.core.database import is_unique_violation
from unihub.core.errors import ApiError, ErrorItem, bad_request, forbidden, not_found
from unihub.core.timestamps import format_ts, utcnow
from unihub.core.validation import errors_from_pydantic, parse_json_object
from unihub.delivery.engine import EngineRuntime
from unihub.delivery.models import WEBHOOK, Delivery
from unihub.hubs.models import Hub
from unihub.hubs.service import to_wire as hub_wire
from unihub.integrations import loaded as integrations
from unihub.integrations.loaded import LoadedIntegration
from unihub.integrations.types import ChannelId, channel_from

M = TypeVar("M", bound=BaseModel)

HUB_PAUSED = 2002
ACTIVITY_LIMIT = 1000
SIDES = {"customer": "Customer", "agent": "Agent", "bot": "Bot"}

# Generic validation codes -> the reference's codes for each request family.
_CONVERSATION_CODES = {300: 3000, 301: 3001, 305: 3002}
_INBOUND_CODES = {300: 5000, 301: 5001, 305: 5020, 306: 5015, 308: 5024}
_INBOUND_CUSTOM = {"message_or_event_required": 5003, "message_and_event_exclusive": 5004}


# --------------------------------------------------------------------------- validation


def _validate(model: type[M], raw: bytes, codes: Mapping[int, int], empty_code: int) -> M:
    try:
        data = parse_json_object(raw)
    except ApiError as exc:
        raise ApiError(400, [ErrorItem(codes[300], e.description) for e in exc.errors]) from None
    if not data:
        raise bad_request(empty_code, "Request body is an empty JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        items: list[ErrorItem] = []
        plain: list[dict[str, Any]] = []
        for err in exc.errors(include_url=False):
            path = error_path(tuple(err["loc"]), "", tagged_root=False)
            if err["type"] in _INBOUND_CUSTOM:
                items.append(ErrorItem(_INBOUND_CUSTOM[err["type"]], str(err["msg"]) + "."))
                continue
            plain.append({**err, "loc": (path,) if path else ()})
        for item in errors_from_pydantic(plain, "body"):
            items.append(ErrorItem(codes.get(item.code, item.code), item.description))
        raise ApiError(400, items) from None


# --------------------------------------------------------------------------- views


def _integration_wire(i: LoadedIntegration, hub: Hub | None) -> dict[str, Any]:
    out: dict[str, Any] = {"integrationId": str(i.id), "hubId": str(i.hub_id)}
    if hub is not None:
        out["hub"] = hub_wire(hub)
    out["integrationTypeId"] = i.integration_type
    out["channelId"] = i.channel_name
    out["name"] = i.name
    out["statusId"] = i.status_id
    if i.row is not None:
        out["created"] = format_ts(i.row.created)
        out["modified"] = format_ts(i.row.modified)
    return out


def conversation_wire(
    c: Conversation, integration: LoadedIntegration | None, hub: Hub | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "conversationId": str(c.id),
        "integrationId": str(c.integration_id),
        "tokenId": c.token_id,
    }
    if integration is not None:
        out["integration"] = _integration_wire(integration, hub)
    out["properties"] = orjson.loads(c.properties)
    out["openedDateTime"] = format_ts(c.created)
    out["status"] = c.status
    out["lastActivityDateTime"] = format_ts(c.last_activity_at)
    if c.closed_at is not None:
        out["closedDateTime"] = format_ts(c.closed_at)
    return out


def conversation_not_found(conversation_id: uuid.UUID) -> ApiError:
    return not_found(6500, f"Conversation '{conversation_id}' does not exist.")


def _closed(conversation_id: uuid.UUID) -> ApiError:
    return bad_request(
        6501,
        f"Conversation '{conversation_id}' is closed; establish a new conversation to continue.",
    )


# --------------------------------------------------------------------------- conversations

_ADJECTIVES = ("Brave", "Calm", "Clever", "Gentle", "Happy", "Lucky", "Merry", "Swift", "Witty")
_ANIMALS = ("Otter", "Falcon", "Panda", "Fox", "Heron", "Lynx", "Koala", "Badger", "Dolphin")


def _fun_name() -> str:
    return f"{random.choice(_ADJECTIVES)} {random.choice(_ANIMALS)}"  # noqa: S311 - not secret


def _properties(given: dict[str, Any] | None, channel: ChannelId) -> dict[str, Any]:
    props = dict(given or {})
    profile = props.get("profile")
    profile = dict(profile) if isinstance(profile, dict) else {}
    profile.setdefault("device", channel.name)
    profile.setdefault("full name", _fun_name())
    props["profile"] = profile
    if not isinstance(props.get("additional"), dict):
        props["additional"] = {}
    return props


def _channel_matches(value: str | int, integration: LoadedIntegration) -> bool:
    # The reference lists `Direct = 2000` for this field; the channel table's names and
    # numbers are accepted as well.
    if value == 2000 or (isinstance(value, str) and value.strip() == "2000"):
        return integration.channel == ChannelId.Direct
    return channel_from(value) == integration.channel


async def establish(
    ctx: AppContext,
    engine: EngineRuntime,
    tenant_id: uuid.UUID,
    raw: bytes,
    only_integration: uuid.UUID | None = None,
) -> dict[str, Any]:
    body = _validate(EstablishRequest, raw, _CONVERSATION_CODES, 3000)
    integration_id = uuid.UUID(body.integration_id)
    if only_integration is not None and integration_id != only_integration:
        raise forbidden(101, "This WebChat token is not valid for another integration.")
    async with ctx.db.read() as s:
        integration = await integrations.load(s, tenant_id, integration_id)
        hub = await repo.hub(s, tenant_id, integration.hub_id) if integration else None
    if integration is None:
        raise audience.integration_missing(integration_id)
    if hub is None:
        raise not_found(5500, f"Hub '{integration.hub_id}' does not exist.")
    if integration.integration_type != "Customer":
        raise bad_request(
            206,
            f"Integration '{integration.id}' is a {integration.integration_type} integration; "
            "conversations are established on customer integrations.",
        )
    if not _channel_matches(body.channel_type, integration):
        raise bad_request(
            206,
            f"Value '{body.channel_type}' of 'channelType' does not match the integration's "
            f"channel ({integration.channel_name}).",
        )
    if hub.status_id == HUB_PAUSED:
        raise bad_request(6503, f"Hub '{hub.id}' is paused and accepts no new conversations.")
    if not integration.active:
        raise bad_request(6502, f"Integration '{integration.id}' is paused.")

    open_key = f"{integration.id}:{body.binding}"
    now = utcnow()
    try:
        async with ctx.db.write() as s:
            existing = await repo.get_open(s, open_key)
            if existing is not None:
                return _established(existing, integration, is_new=False)
            conversation = Conversation(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                hub_id=hub.id,
                integration_id=integration.id,
                binding=body.binding,
                status=OPEN,
                open_key=open_key,
                token_id=secrets.token_urlsafe(16),
                properties=orjson.dumps(_properties(body.properties, integration.channel)).decode(),
                last_seq=0,
                last_event_id=0,
                created=now,
                last_activity_at=now,
            )
            s.add(conversation)
            await s.flush()
            if await _queue_start_messages(s, engine, conversation, integration, now):
                await engine.notifier.in_tx(s)
    except IntegrityError as exc:
        # A concurrent establish won the race for this binding: answer with its conversation.
        if not is_unique_violation(exc, "uq_conversations_open_key", "conversations.open_key"):
            raise
        async with ctx.db.read() as s:
            existing = await repo.get_open(s, open_key)
        if existing is None:
            raise
        return _established(existing, integration, is_new=False)
    await engine.notifier.after_commit()
    return _established(conversation, integration, is_new=True)


def _established(c: Conversation, i: LoadedIntegration, *, is_new: bool) -> dict[str, Any]:
    return {
        "tenantId": str(c.tenant_id),
        "hubId": str(c.hub_id),
        "integrationId": str(i.id),
        "conversationId": str(c.id),
        "tokenId": c.token_id,
        "openedDateTime": format_ts(c.created),
        "isNew": is_new,
        "properties": orjson.loads(c.properties),
    }


async def _queue_start_messages(
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
    base_ms = _ms(now)
    queued = False
    for message in customer.start:
        try:
            node = MESSAGE_ADAPTER.validate_python(message).to_wire()
        except ValidationError:
            continue  # configuration is validated when saved; never block a conversation
        conversation.last_seq += 1
        conversation.last_event_id = base_ms + conversation.last_seq - 1
        activity = _activity_wire(
            kind="message",
            trigger="message:system",
            event_id=conversation.last_event_id,
            external_id=None,
            interaction_id=str(uuid.uuid4()),
            sender={"integrationType": "System", "channelType": "System"},
            recipient=audience.source(conversation, customer),
            node=node,
            flow="AutoReplay",
        )
        stored = StoredActivity(
            **_stored_values(conversation, activity, "System", None, {"Customer"}, now)
        )
        s.add(stored)
        if channel is not None:
            s.add(
                _delivery(
                    conversation,
                    stored,
                    customer,
                    channel,
                    _direct(conversation, customer, activity),
                    now,
                    engine,
                )
            )
        queued = True
    await s.flush()
    return queued and channel is not None


async def get(ctx: AppContext, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.db.read() as s:
        c = await repo.get(s, tenant_id, conversation_id)
        if c is None:
            raise conversation_not_found(conversation_id)
        integration = await integrations.load(s, tenant_id, c.integration_id)
        hub = await repo.hub(s, tenant_id, c.hub_id)
    return conversation_wire(c, integration, hub)


async def close(
    ctx: AppContext, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> dict[str, Any]:
    async with ctx.db.write() as s:
        c = await repo.get(s, tenant_id, conversation_id)
        if c is None:
            raise conversation_not_found(conversation_id)
        if c.status == OPEN:
            now = utcnow()
            await repo.close(s, c.id, now)
            c.status, c.open_key, c.closed_at = CLOSED, None, now
    return await get(ctx, tenant_id, conversation_id)


async def close_dormant(ctx: AppContext, now: datetime) -> int:
    """Close conversations idle longer than their hub's `closeDormantConversation` days."""
    closed = 0
    async with ctx.db.read() as s:
        hubs = await repo.dormant_hubs(s)
    for hub_id, days in hubs:
        async with ctx.db.write() as s:
            closed += await repo.close_idle(s, hub_id, days, now)
    return closed


# --------------------------------------------------------------------------- activities


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _activity_wire(
    *,
    kind: str,
    trigger: str,
    event_id: int,
    external_id: str | None,
    interaction_id: str | None,
    sender: dict[str, Any],
    recipient: dict[str, Any] | None,
    node: dict[str, Any],
    is_echo: bool = False,
    flow: str = "Default",
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "eventTrigger": trigger, "eventId": event_id}
    if external_id is not None:
        out["externalId"] = external_id
    out["isEcho"] = is_echo
    if interaction_id is not None:
        out["interactionId"] = interaction_id
    out["flowProcess"] = flow
    out["sender"] = sender
    if recipient is not None:
        out["recipient"] = recipient
    out[kind] = node
    return out


def _header(c: Conversation, receiver: LoadedIntegration) -> dict[str, Any]:
    return {
        "hubId": str(c.hub_id),
        "tenantId": str(c.tenant_id),
        "integrationId": str(receiver.id),
        "conversationId": str(c.id),
        "conversationProperties": orjson.loads(c.properties),
    }


def _direct(c: Conversation, receiver: LoadedIntegration, activity: dict[str, Any]) -> bytes:
    return orjson.dumps({**_header(c, receiver), "activity": activity})


def _system(c: Conversation, receiver: LoadedIntegration, activity: dict[str, Any]) -> bytes:
    return orjson.dumps({**_header(c, receiver), "activities": [activity]})


def _stored_values(
    c: Conversation,
    activity: dict[str, Any],
    sender_type: str,
    sender_id: uuid.UUID | None,
    sides: set[str],
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": c.tenant_id,
        "conversation_id": c.id,
        "seq": c.last_seq,
        "event_id": activity["eventId"],
        "type": activity["type"],
        "sender_integration_id": sender_id,
        "sender_type": sender_type,
        "side_customer": "Customer" in sides,
        "side_agent": "Agent" in sides,
        "side_bot": "Bot" in sides,
        "external_id": activity.get("externalId"),
        "body": orjson.dumps(activity).decode(),
        "created": now,
    }


def _delivery(
    c: Conversation,
    stored: StoredActivity,
    receiver: LoadedIntegration,
    channel: str,
    payload: bytes,
    now: datetime,
    engine: EngineRuntime,
) -> Delivery:
    return Delivery(
        **_delivery_values(
            c, stored.id, stored.event_id, stored.seq, receiver, channel, payload, now
        )
    )


def _delivery_values(
    c: Conversation,
    activity_id: uuid.UUID,
    event_id: int,
    seq: int,
    receiver: LoadedIntegration,
    channel: str,
    payload: bytes,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": c.tenant_id,
        "hub_id": c.hub_id,
        "conversation_id": c.id,
        "activity_id": activity_id,
        "event_id": event_id,
        "receiver_id": receiver.id,
        "channel": channel,
        "seq": seq,
        "payload": payload.decode(),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,  # due at once for every worker, whatever its clock
        "created": now,
    }


async def post_activity(
    ctx: AppContext,
    engine: EngineRuntime,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    raw: bytes,
    only_integration: uuid.UUID | None = None,
) -> dict[str, Any]:
    """`only_integration` (WebChat tokens): the conversation must be that customer
    integration's, and the sender is always its customer."""
    async with ctx.db.read() as s:
        conversation, hub = await repo.get_with_hub(s, tenant_id, conversation_id)
        if conversation is None or (
            only_integration is not None and conversation.integration_id != only_integration
        ):
            raise conversation_not_found(conversation_id)
        members = await integrations.of_hub(s, conversation.hub_id) if hub else []
    body = _validate(DirectInboundActivity, raw, _INBOUND_CODES, 5023)
    if conversation.status != OPEN:
        raise _closed(conversation_id)
    if hub is None:
        raise not_found(5500, f"Hub '{conversation.hub_id}' does not exist.")
    if hub.status_id == HUB_PAUSED:
        raise bad_request(6503, f"Hub '{hub.id}' is paused; it accepts no activities.")
    sender_id = body.sender.integration_id if body.sender is not None else None
    if only_integration is not None and sender_id and uuid.UUID(sender_id) != only_integration:
        raise forbidden(101, "A WebChat token speaks only for its own integration.")
    sender = audience.resolve_sender(
        conversation, members, uuid.UUID(sender_id) if sender_id else None
    )
    kind = body.type
    node_model = body.message if kind == "message" else body.event
    assert node_model is not None  # the schema guarantees the node named by `type`
    node: dict[str, Any] = node_model.to_wire()
    text = node.get("text") if kind == "message" else None
    if sender.integration_type in audience.BUSINESS_TYPES and is_command(text):
        return await _run_command(ctx, engine, conversation, members, sender, str(text))
    plan = audience.plan(conversation, members, sender, kind)
    return await _accept(ctx, engine, conversation, plan, kind, node, body.external_id)


async def _accept(
    ctx: AppContext,
    engine: EngineRuntime,
    conversation: Conversation,
    plan: audience.Plan,
    kind: str,
    node: dict[str, Any],
    external_id: str | None,
) -> dict[str, Any]:
    now = utcnow()
    interaction_id = str(uuid.uuid4()) if kind == "message" else None
    sender_src = audience.source(conversation, plan.sender)
    primary = plan.recipients[0] if plan.recipients else None
    primary_src = audience.source(conversation, primary) if primary else None
    async with ctx.db.write() as s:
        taken = await repo.next_event(s, conversation.id, now, _ms(now))
        if taken is None:
            raise _closed(conversation.id)
        conversation.last_seq, event_id = taken

        def wire(recipient: dict[str, Any] | None, is_echo: bool = False) -> dict[str, Any]:
            return _activity_wire(
                kind=kind,
                trigger=plan.trigger,
                event_id=event_id,
                external_id=external_id,
                interaction_id=interaction_id,
                sender=sender_src,
                recipient=recipient,
                node=node,
                is_echo=is_echo,
            )

        stored_body = wire(primary_src)
        stored = _stored_values(
            conversation, stored_body, plan.sender.integration_type, plan.sender.id, plan.sides, now
        )
        seq, activity_id = conversation.last_seq, stored["id"]

        def delivery(r: LoadedIntegration, channel: str, payload: bytes) -> dict[str, Any]:
            return _delivery_values(
                conversation, activity_id, event_id, seq, r, channel, payload, now
            )

        outbox: list[dict[str, Any]] = []
        for r in plan.recipients:
            channel = r.delivery_channel()
            if channel is not None:
                payload = _direct(conversation, r, wire(audience.source(conversation, r)))
                outbox.append(delivery(r, channel, payload))
        for o in plan.observers:
            if o.webhook_url:
                outbox.append(delivery(o, WEBHOOK, _system(conversation, o, stored_body)))
        if plan.echo is not None:
            channel = plan.echo.delivery_channel()
            if channel is not None:
                payload = _direct(conversation, plan.echo, wire(primary_src, is_echo=True))
                outbox.append(delivery(plan.echo, channel, payload))
        await repo.add_accepted(s, stored, outbox)
        if outbox:
            await engine.notifier.in_tx(s)
    if outbox:
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
    """A `::command` from an agent or bot: a listing answered here, or the command's responses
    accepted one activity at a time, in order (see `conversations.commands`)."""
    outcome = await handle_command(ctx, hub_id=conversation.hub_id, text=text)
    head: dict[str, Any] = {
        "status": 200,
        "hubId": str(conversation.hub_id),
        "conversationId": str(conversation.id),
        "integrationId": str(sender.id),
    }
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
            observers=[
                m
                for m in members
                if m.integration_type == "System" and m.active and m.subscribes(trigger)
            ],
        )
    accepted = [
        await _accept(ctx, engine, conversation, plan, outcome.kind, node, None)
        for node in outcome.responses
    ]
    # The first activity's answer (the shape clients parse), plus every activity sent.
    return {
        **accepted[0],
        "command": outcome.name,
        "activities": [{k: a[k] for k in ("eventId", "interactionId") if k in a} for a in accepted],
    }


async def activities(
    ctx: AppContext,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    side: str,
    leid: int,
    only_integration: uuid.UUID | None = None,
) -> list[Any]:
    async with ctx.db.read() as s:
        conversation = await repo.get(s, tenant_id, conversation_id)
        if conversation is None or (
            only_integration is not None and conversation.integration_id != only_integration
        ):
            raise conversation_not_found(conversation_id)
        if only_integration is not None and side != "Customer":
            raise forbidden(
                101, "A WebChat token reads only the customer side of its conversations."
            )
        bodies = await repo.activities_after(s, conversation_id, side, leid, ACTIVITY_LIMIT)
    return [orjson.loads(b) for b in bodies]


def parse_side(value: str | None) -> str:
    if value is None or not value.strip():
        raise bad_request(200, "Query parameter 'type' is required (Customer, Agent or Bot).")
    side = SIDES.get(value.strip().lower())
    if side is None:
        raise bad_request(
            206, f"Value '{value[:64]}' of 'type' is not supported; allowed: Customer, Agent, Bot."
        )
    return side
