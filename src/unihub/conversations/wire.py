"""Activities as stored and as delivered: the activity JSON, the stored row's values and the
Direct/System payloads of outbox rows. Shared by accepting (`accept`) and the switchboard's
control events (`switchboard`), so both write exactly the same shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson

from unihub.conversations.models import Conversation
from unihub.delivery import outbox
from unihub.integrations.loaded import LoadedIntegration

SYSTEM_SENDER: dict[str, Any] = {"integrationType": "System", "channelType": "System"}


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


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


def activity(
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
    standby: bool = False,
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "eventTrigger": trigger, "eventId": event_id}
    if external_id is not None:
        out["externalId"] = external_id
    out["isEcho"] = is_echo
    if standby:
        out["standby"] = True
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


def direct(c: Conversation, receiver: LoadedIntegration, activity: dict[str, Any]) -> bytes:
    return orjson.dumps({**_header(c, receiver), "activity": activity})


def system(c: Conversation, receiver: LoadedIntegration, activity: dict[str, Any]) -> bytes:
    return orjson.dumps({**_header(c, receiver), "activities": [activity]})


def stored_values(
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


def outbox_row(
    c: Conversation,
    activity_id: uuid.UUID,
    event_id: int,
    seq: int,
    receiver: LoadedIntegration,
    channel: str,
    payload: bytes,
    now: datetime,
) -> dict[str, Any]:
    return outbox.outbox_row(
        tenant_id=c.tenant_id,
        hub_id=c.hub_id,
        conversation_id=c.id,
        binding=c.binding,
        activity_id=activity_id,
        event_id=event_id,
        seq=seq,
        receiver_id=receiver.id,
        channel=channel,
        payload=payload,
        now=now,
    )
