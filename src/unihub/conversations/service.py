"""Conversation lifecycle: establish (one open conversation per binding), read, close, and
close dormant ones. Accepting activities is `conversations.accept`; reading them back,
`conversations.history`.
"""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError

from unihub.channels.types import ChannelId, channel_from
from unihub.conversations import audience, control, switchboard
from unihub.conversations import repository as repo
from unihub.conversations.accept import queue_start_messages
from unihub.conversations.checks import CONVERSATION_CODES, conversation_not_found, validate_body
from unihub.conversations.models import CLOSED, OPEN, Conversation
from unihub.conversations.schemas import EstablishRequest
from unihub.core.context import AppContext
from unihub.core.database import is_unique_violation
from unihub.core.errors import bad_request, forbidden, not_found
from unihub.core.timestamps import format_ts, utcnow
from unihub.core.validation import JsonBody
from unihub.delivery.engine import EngineRuntime
from unihub.hubs import service as hubs_service
from unihub.hubs.models import Hub
from unihub.hubs.schemas import HUB_PAUSED
from unihub.hubs.service import to_wire as hub_wire
from unihub.integrations import loaded as integrations
from unihub.integrations.loaded import LoadedIntegration

ESTABLISHED_LIMIT = 1000


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
    out["control"] = _control_wire(c)
    return out


def _control_wire(c: Conversation) -> dict[str, Any] | None:
    held = switchboard.control_of(c)
    return held.wire() if held is not None else None


# --------------------------------------------------------------------------- conversations

_ADJECTIVES = ("Brave", "Calm", "Clever", "Gentle", "Happy", "Lucky", "Merry", "Swift", "Witty")
_ANIMALS = ("Otter", "Falcon", "Panda", "Fox", "Heron", "Lynx", "Koala", "Badger", "Dolphin")


def _fun_name() -> str:
    return f"{random.choice(_ADJECTIVES)} {random.choice(_ANIMALS)}"  # noqa: S311 - not secret


# The profile keys the reference documents (engine/0_conversation.rst), matched ignoring case
# and stored in its spelling; other keys are kept as sent.
_PROFILE_KEYS = {
    k.lower(): k
    for k in (
        "device",
        "full name",
        "first name",
        "last name",
        "user name",
        "gender",
        "local",
        "time zone",
        "imageUrl",
        "phone",
        "address",
        "email",
    )
}


def _canonical_keys(given: dict[str, Any], known: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in given.items():
        name = known.get(key.lower(), key)
        if name not in out:  # first spelling wins, as in ApiModel
            out[name] = value
    return out


def _properties(given: dict[str, Any] | None, channel: ChannelId) -> dict[str, Any]:
    props = _canonical_keys(given or {}, {"profile": "profile", "additional": "additional"})
    profile = props.get("profile")
    profile = _canonical_keys(profile, _PROFILE_KEYS) if isinstance(profile, dict) else {}
    profile.setdefault("device", channel.name)
    if not isinstance(profile.get("full name"), str) or not profile["full name"].strip():
        profile["full name"] = _fun_name()
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
    body: JsonBody,
    only_integration: uuid.UUID | None = None,
) -> dict[str, Any]:
    data = validate_body(EstablishRequest, body, CONVERSATION_CODES, 3000)
    integration_id = uuid.UUID(data.integration_id)
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
    if data.channel_type is not None and not _channel_matches(data.channel_type, integration):
        raise bad_request(
            206,
            f"Value '{data.channel_type}' of 'channelType' does not match the integration's "
            f"channel ({integration.channel_name}).",
        )
    if hub.status_id == HUB_PAUSED:
        raise bad_request(6503, f"Hub '{hub.id}' is paused and accepts no new conversations.")
    if not integration.active:
        raise bad_request(6502, f"Integration '{integration.id}' is paused.")

    open_key = f"{integration.id}:{data.binding}"
    now = utcnow()
    try:
        async with ctx.db.write() as s:
            existing = await repo.get_open(s, open_key)
            if existing is not None:
                return _established(existing, integration, is_new=False)
            # Only a new conversation needs the hub's members (its starting controller): the
            # common case, a provider message of an open conversation, skips this read.
            members = await s.run_sync(lambda ss: integrations.of_hub(ss.connection(), hub.id))
            start = control.initial(members, now)
            conversation = Conversation(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                hub_id=hub.id,
                integration_id=integration.id,
                binding=data.binding,
                status=OPEN,
                open_key=open_key,
                token_id=secrets.token_urlsafe(16),
                properties=orjson.dumps(_properties(data.properties, integration.channel)).decode(),
                last_seq=0,
                last_event_id=0,
                created=now,
                last_activity_at=now,
                control_kind=start.kind,
                control_integration_id=start.integration_id,
                control_start_id=start.start_id,
                control_since=now,
            )
            s.add(conversation)
            await s.flush()
            if await queue_start_messages(s, engine, conversation, integration, now):
                await s.run_sync(engine.notifier.in_tx)
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
    return {**established_wire(c), "isNew": is_new}


def established_wire(c: Conversation) -> dict[str, Any]:
    """An established conversation in the documented camelCase and, beside it, the names the
    reference's .NET client reads (its `EstablishedConversationModel` maps `conversation_id`,
    `opened`...: Newtonsoft matches names ignoring case, not underscores)."""
    out: dict[str, Any] = {
        "tenantId": str(c.tenant_id),
        "hubId": str(c.hub_id),
        "integrationId": str(c.integration_id),
        "conversationId": str(c.id),
        "tokenId": c.token_id,
        "openedDateTime": format_ts(c.created),
    }
    if c.closed_at is not None:
        out["closedDateTime"] = format_ts(c.closed_at)
    out["properties"] = orjson.loads(c.properties)
    out.update(
        {
            "tenant_id": out["tenantId"],
            "hub_id": out["hubId"],
            "integration_id": out["integrationId"],
            "conversation_id": out["conversationId"],
            "token_id": c.token_id,
            "opened": out["openedDateTime"],
        }
    )
    if c.closed_at is not None:
        out["closed"] = out["closedDateTime"]
    out["control"] = _control_wire(c)
    return out


async def get_established(
    ctx: AppContext,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    only_integration: uuid.UUID | None = None,
) -> dict[str, Any]:
    """`only_integration` (WebChat tokens): the conversation must be that integration's."""
    async with ctx.db.read() as s:
        c = await repo.get(s, tenant_id, conversation_id)
    if c is None or (only_integration is not None and c.integration_id != only_integration):
        raise conversation_not_found(conversation_id)
    return established_wire(c)


async def hub_established(
    ctx: AppContext,
    tenant_id: uuid.UUID,
    hub_id: uuid.UUID,
    controlled_by: str | uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """The hub's open conversations, most recently active first, at most `ESTABLISHED_LIMIT`
    (the .NET client reads a plain array, so there is no page to ask for); `controlled_by`
    keeps those of one controller (`switchboard.parse_controlled_by`)."""
    await hubs_service.require(ctx, tenant_id, hub_id)
    async with ctx.db.read() as s:
        rows = await repo.open_of_hub(s, tenant_id, hub_id, ESTABLISHED_LIMIT, controlled_by)
    return [established_wire(c) for c in rows]


async def get(ctx: AppContext, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.db.read() as s:
        c = await repo.get(s, tenant_id, conversation_id)
        if c is None:
            raise conversation_not_found(conversation_id)
        integration = await integrations.load(s, tenant_id, c.integration_id)
        hub = await repo.hub(s, tenant_id, c.hub_id)
    return conversation_wire(c, integration, hub)


async def close(
    ctx: AppContext,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    only_integration: uuid.UUID | None = None,
) -> dict[str, Any]:
    """`only_integration` (WebChat tokens): the conversation must be that integration's, and
    the answer leaves out the `integration` node (the hub's name and description are the
    business's, not the visitor's)."""
    async with ctx.db.write() as s:
        c = await repo.get(s, tenant_id, conversation_id)
        if c is None or (only_integration is not None and c.integration_id != only_integration):
            raise conversation_not_found(conversation_id)
        if c.status == OPEN:
            now = utcnow()
            await repo.close(s, c.id, now)
            c.status, c.open_key, c.closed_at = CLOSED, None, now
            c.control_kind = c.control_integration_id = c.control_since = None
    if only_integration is not None:
        return conversation_wire(c, None, None)
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
