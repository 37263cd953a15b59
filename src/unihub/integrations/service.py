"""Integration rules: per-channel configuration, provider verification, uniqueness, secrets.

Order of work on create: hub exists (404) -> body (400) -> name free in the hub (700) ->
provider calls, outside any transaction (400/702, 503/703) -> one insert whose constraints
settle races on the name (700) and on the outside channel (701). Nothing is stored when a
provider says no or cannot be reached.

Storage: `configuration` holds the non-secret part in wire form; credentials live in
`secrets` and the private signing key in `private_signing_key`, both encrypted with the
secret box. Answers show credentials masked; the private signing key is shown whole because
the customer needs it to verify webhooks.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from unihub.activities.schemas import MESSAGES_ADAPTER, error_path
from unihub.channels.base import Attachable, Setup
from unihub.channels.errors import Rejected, Unavailable
from unihub.channels.registry import ADAPTERS, SLACK, adapter_for
from unihub.channels.slack.adapter import NonceInvalid
from unihub.channels.types import (
    FIXED_INTEGRATION_TYPE,
    INTEGRATION_ACTIVE,
    ChannelId,
    channel_from,
)
from unihub.core.context import AppContext
from unihub.core.database import is_foreign_key_violation, is_unique_violation
from unihub.core.errors import ApiError, ErrorItem, bad_request, not_found
from unihub.core.pagination import PageParams, page_body
from unihub.core.security import new_signing_key_hex
from unihub.core.timestamps import format_ts, utcnow
from unihub.core.urlguard import check_webhook_url
from unihub.core.validation import (
    JsonBody,
    errors_from_pydantic,
    get_ignoring_case,
    validate_model,
    validate_model_into,
)
from unihub.hubs import repository as hubs_repo
from unihub.hubs import service as hubs_service
from unihub.integrations import repository as repo
from unihub.integrations.loaded import LoadedIntegration
from unihub.integrations.models import Integration
from unihub.integrations.schemas import (
    DirectConfig,
    IntegrationCreate,
    IntegrationUpdate,
    SystemConfig,
    WebChatConfig,
)

log = logging.getLogger("unihub.integrations")

# Project error codes (docs/error-codes.md).
PROVIDER_REJECTED = 702
PROVIDER_UNAVAILABLE = 703
SLACK_NONCE_INVALID = 704

_CONFIG_MODELS: dict[ChannelId, type[Any]] = {
    **{channel: adapter.config_model for channel, adapter in ADAPTERS.items()},
    ChannelId.WebChat: WebChatConfig,
    ChannelId.Direct: DirectConfig,
    ChannelId.System: SystemConfig,
}
# Verified with a provider when created; their configuration cannot be updated afterwards.
_PROVIDER_CHANNELS = frozenset(ADAPTERS)
_SIGNED_CHANNELS = frozenset({ChannelId.Direct, ChannelId.System})


# --- errors ----------------------------------------------------------------------------------


def integration_not_found(integration_id: uuid.UUID) -> ApiError:
    return not_found(799, f"Integration '{integration_id}' was not found.")


def _duplicate_name(name: str) -> ApiError:
    return bad_request(700, f"An integration named '{name}' already exists in this hub.")


def _channel_taken(external_key: str) -> ApiError:
    channel, _, ident = external_key.partition(":")
    what = {
        "TwilioSMS": f"Twilio number {ident}",
        "Messenger": f"Messenger page {ident}",
        "Slack": f"Slack team {ident}",
        "Line": f"LINE bot {ident}",
        "Telegram": f"Telegram bot {ident}",
    }.get(channel, external_key)
    return bad_request(
        701, f"The {what} is already attached to a hub; a channel can be attached only once."
    )


def _provider_error(exc: Rejected | Unavailable) -> ApiError:
    if isinstance(exc, Rejected):
        return bad_request(PROVIDER_REJECTED, str(exc))
    return ApiError.one(503, PROVIDER_UNAVAILABLE, str(exc))


def _conflict(
    exc: IntegrityError, name: str, external_key: str | None, hub_id: uuid.UUID
) -> ApiError:
    if is_unique_violation(exc, "uq_integrations_hub_id_name_key", "integrations.name_key"):
        return _duplicate_name(name)
    if external_key and is_unique_violation(
        exc, "uq_integrations_external_key", "integrations.external_key"
    ):
        return _channel_taken(external_key)
    if is_foreign_key_violation(exc):
        # The hub was deleted while the provider was being asked.
        return hubs_service.hub_not_found(hub_id)
    raise exc


# --- wire form -------------------------------------------------------------------------------


def _mask(secret: str) -> str:
    return f"{secret[:4]}..." if len(secret) > 8 else "..."


def to_wire(ctx: AppContext, row: Integration) -> dict[str, Any]:
    configuration: dict[str, Any] = orjson.loads(row.configuration)
    if row.secrets:
        stored: dict[str, str] = orjson.loads(ctx.box.decrypt(row.secrets))
        configuration.update({key: _mask(value) for key, value in stored.items()})
    if row.public_signing_key and row.private_signing_key:
        configuration["publicSigningKey"] = row.public_signing_key
        configuration["privateSigningKey"] = ctx.box.decrypt(row.private_signing_key)
    out: dict[str, Any] = {
        "integrationId": str(row.id),
        "hubId": str(row.hub_id),
        "tenantId": str(row.tenant_id),
        "integrationTypeId": row.integration_type,
        "channelId": ChannelId(row.channel_id).name,
        "name": row.name,
        "statusId": row.status_id,
    }
    if row.inbound_id is not None:
        out["inboundId"] = row.inbound_id
    out["configuration"] = configuration
    out["created"] = format_ts(row.created)
    out["modified"] = format_ts(row.modified)
    return out


# --- validation ------------------------------------------------------------------------------


def _unsupported(channel: ChannelId) -> ErrorItem:
    supported = ", ".join(c.name for c in _CONFIG_MODELS)
    if channel == ChannelId.Kik:
        return ErrorItem(
            206,
            "Value 'Kik' of 'channelId' is not supported: Kik closed its bot platform, so no "
            f"bot can be attached to it; supported are {supported}.",
        )
    return ErrorItem(
        206,
        f"Value '{channel.name}' of 'channelId' is not supported: {channel.name} integrations "
        f"cannot be created yet; supported are {supported}.",
    )


def _validate_start(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not raw:
        return None
    try:
        messages = MESSAGES_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        errs = []
        for err in exc.errors(include_url=False):
            item = dict(err)
            # Paths without pydantic's union tags: configuration.start[0].text
            item["loc"] = (error_path(tuple(err["loc"]), "configuration.start"),)
            errs.append(item)
        raise ApiError(400, errors_from_pydantic(errs, "body")) from None
    return [m.to_wire() for m in messages]


def _validate_config(channel: ChannelId, raw: dict[str, Any]) -> Any:
    config = validate_model(_CONFIG_MODELS[channel], raw, root="configuration")
    if isinstance(config, WebChatConfig | DirectConfig):
        config.start = _validate_start(config.start)
    return config


async def _check_webhook(ctx: AppContext, url: str | None) -> None:
    if url is None:
        return
    reason = await check_webhook_url(url, ctx.settings.allow_private_webhooks)
    if reason is not None:
        raise bad_request(202, f"Property 'configuration.webhookUrl' is refused: {reason}.")


def _validate_create(body: dict[str, Any]) -> tuple[IntegrationCreate, Any]:
    """The top-level body and the channel's configuration, every problem of both reported."""
    errors: list[ErrorItem] = []
    data = validate_model_into(IntegrationCreate, body, errors)
    channel = data.channel_id if data else channel_from(get_ignoring_case(body, "channelId"))
    raw_config = data.configuration if data else get_ignoring_case(body, "configuration")
    config: Any = None
    if channel is not None and channel not in _CONFIG_MODELS:
        errors.append(_unsupported(channel))
    elif channel is not None and isinstance(raw_config, dict):
        try:
            config = _validate_config(channel, raw_config)
        except ApiError as exc:
            errors.extend(exc.errors)
    if errors or data is None:
        raise ApiError(400, errors)
    return data, config


# --- channel preparation ---------------------------------------------------------------------


def _local(channel: ChannelId, config: Any) -> Setup:
    """WebChat, Direct and System: nothing to ask anyone, the configuration is the answer."""
    if isinstance(config, WebChatConfig):
        wire: dict[str, Any] = {"allowedOrigins": config.allowed_origins, "echo": config.echo}
        if config.start:
            wire["start"] = config.start
        return Setup("Customer", wire)
    if isinstance(config, DirectConfig):
        wire = {"integrationType": config.integration_type, "echo": config.echo}
        if config.webhook_url:
            wire["webhookUrl"] = config.webhook_url
        if config.start:
            wire["start"] = config.start
        if config.standby:
            wire["standby"] = True
        return Setup(config.integration_type, wire, regenerate_keys=config.regenerate_keys)
    assert isinstance(config, SystemConfig)
    return Setup(
        "System",
        {"webhookUrl": config.webhook_url, "events": config.events},
        regenerate_keys=config.regenerate_keys,
    )


async def _prepare(
    ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID, channel: ChannelId, config: Any
) -> Setup:
    adapter = adapter_for(channel)
    if adapter is not None:
        try:
            return await adapter.verify(ctx, config, tenant_id=tenant_id, hub_id=hub_id)
        except NonceInvalid as exc:
            raise bad_request(SLACK_NONCE_INVALID, str(exc)) from None
        except (Rejected, Unavailable) as exc:
            raise _provider_error(exc) from None
    await _check_webhook(ctx, getattr(config, "webhook_url", None))
    return _local(channel, config)


def _signing_pair(box_encrypt: Any) -> tuple[str, str]:
    return new_signing_key_hex(), box_encrypt(new_signing_key_hex())


# --- operations ------------------------------------------------------------------------------


async def create(
    ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID, body: JsonBody
) -> dict[str, Any]:
    await hubs_service.require(ctx, tenant_id, hub_id)
    data, config = _validate_create(body.object())
    name_key = data.name.casefold()
    # Checked before any provider call so a taken name does not spend a Slack nonce; the
    # constraint still decides races at insert time.
    if await repo.name_taken(ctx.db, hub_id, name_key):
        raise _duplicate_name(data.name)
    prepared = await _prepare(ctx, tenant_id, hub_id, data.channel_id, config)

    now = utcnow()
    row = Integration(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        hub_id=hub_id,
        channel_id=int(data.channel_id),
        integration_type=FIXED_INTEGRATION_TYPE.get(data.channel_id, prepared.integration_type),
        name=data.name,
        name_key=name_key,
        status_id=data.status_id,
        inbound_id=prepared.inbound_id,
        external_key=prepared.external_key,
        configuration=orjson.dumps(prepared.configuration).decode(),
        secrets=ctx.box.encrypt(orjson.dumps(prepared.secrets).decode())
        if prepared.secrets
        else None,
        created=now,
        modified=now,
    )
    if data.channel_id in _SIGNED_CHANNELS:
        row.public_signing_key, row.private_signing_key = _signing_pair(ctx.box.encrypt)
    try:
        await ctx.db.transact(lambda s: repo.add(s, row))
    except IntegrityError as exc:
        raise _conflict(exc, data.name, prepared.external_key, hub_id) from None
    if row.status_id == INTEGRATION_ACTIVE:
        await _attach_or_undo(ctx, row)
    return to_wire(ctx, row)


async def _attach_or_undo(ctx: AppContext, row: Integration) -> None:
    """Tell the provider where to send events (Telegram's setWebhook) once the row exists,
    so its id is in the URL and a bot already attached elsewhere (701) is never re-pointed;
    when the provider says no, the row goes again: nothing stays stored."""
    adapter = adapter_for(ChannelId(row.channel_id))
    if not isinstance(adapter, Attachable):
        return
    try:
        await adapter.attached(ctx, LoadedIntegration.from_row(row).account(ctx.box))
    except (Rejected, Unavailable) as exc:
        async with ctx.db.write() as s:
            await repo.remove(s, row.tenant_id, row.id)
        raise _provider_error(exc) from None


async def _detach(ctx: AppContext, row: Integration) -> None:
    """Deleted or paused: the provider stops calling (best effort: the row is gone or
    paused either way, and a paused or unknown integration's webhooks are refused)."""
    adapter = adapter_for(ChannelId(row.channel_id))
    if not isinstance(adapter, Attachable):
        return
    try:
        await adapter.detached(ctx, LoadedIntegration.from_row(row).account(ctx.box))
    except (Rejected, Unavailable) as exc:
        log.warning("detaching integration %s from its provider failed: %s", row.id, exc)


async def _require(ctx: AppContext, tenant_id: uuid.UUID, integration_id: uuid.UUID) -> Integration:
    async with ctx.db.read() as s:
        row = await repo.get(s, tenant_id, integration_id)
    if row is None:
        raise integration_not_found(integration_id)
    return row


async def get(ctx: AppContext, tenant_id: uuid.UUID, integration_id: uuid.UUID) -> dict[str, Any]:
    return to_wire(ctx, await _require(ctx, tenant_id, integration_id))


async def update(
    ctx: AppContext, tenant_id: uuid.UUID, integration_id: uuid.UUID, body: JsonBody
) -> dict[str, Any]:
    current = await _require(ctx, tenant_id, integration_id)
    channel = ChannelId(current.channel_id)
    data = validate_model(IntegrationUpdate, body.object())
    if data.channel_id is not None and data.channel_id != channel:
        raise bad_request(
            206,
            f"Property 'channelId' cannot change (this integration is {channel.name}); delete "
            "it and create a new one instead.",
        )
    values: dict[str, Any] = {}
    if data.name is not None:
        values["name"] = data.name
        values["name_key"] = data.name.casefold()
    if data.status_id is not None:
        values["status_id"] = data.status_id
    # Provider channels keep their configuration: changing it would need re-verification,
    # so (as the reference says) it is ignored; name and status still apply.
    if data.configuration is not None and channel not in _PROVIDER_CHANNELS:
        raw_config = data.configuration
        if channel == ChannelId.Direct and get_ignoring_case(raw_config, "integrationType") is None:
            # The reference's clients update a Direct integration without restating its type.
            raw_config = {**raw_config, "integrationType": current.integration_type}
        config = _validate_config(channel, raw_config)
        await _check_webhook(ctx, getattr(config, "webhook_url", None))
        prepared = _local(channel, config)
        values["configuration"] = orjson.dumps(prepared.configuration).decode()
        values["integration_type"] = FIXED_INTEGRATION_TYPE.get(channel, prepared.integration_type)
        if prepared.regenerate_keys and channel in _SIGNED_CHANNELS:
            values["public_signing_key"], values["private_signing_key"] = _signing_pair(
                ctx.box.encrypt
            )
    if not values:
        return to_wire(ctx, current)
    resuming = values.get("status_id") == INTEGRATION_ACTIVE != current.status_id
    pausing = current.status_id == INTEGRATION_ACTIVE != values.get("status_id", INTEGRATION_ACTIVE)
    if resuming and isinstance(adapter_for(channel), Attachable):
        # Re-pointed before the status changes: a refusal leaves it paused, as it was.
        adapter = adapter_for(channel)
        assert isinstance(adapter, Attachable)
        try:
            await adapter.attached(ctx, LoadedIntegration.from_row(current).account(ctx.box))
        except (Rejected, Unavailable) as exc:
            raise _provider_error(exc) from None
    values["modified"] = utcnow()
    try:
        async with ctx.db.write() as s:
            row = await repo.get(s, tenant_id, integration_id)
            if row is None:
                raise integration_not_found(integration_id)
            await repo.update_fields(s, row, values)
    except IntegrityError as exc:
        raise _conflict(exc, str(data.name), None, current.hub_id) from None
    if pausing:
        await _detach(ctx, row)
    return to_wire(ctx, row)


async def create_or_update(
    ctx: AppContext, tenant_id: uuid.UUID, target_id: uuid.UUID, body: JsonBody
) -> dict[str, Any]:
    """The reference's POST /integrations/hubs/{id}: create when the id names a hub, update
    when it names an integration (ids are random GUIDs, so they never name both)."""
    async with ctx.db.read() as s:
        hub = await hubs_repo.get(s, tenant_id, target_id)
        row = None if hub is not None else await repo.get(s, tenant_id, target_id)
    if hub is not None:
        return await create(ctx, tenant_id, target_id, body)
    if row is not None:
        return await update(ctx, tenant_id, target_id, body)
    raise not_found(699, f"No hub or integration '{target_id}' was found.")


async def delete(ctx: AppContext, tenant_id: uuid.UUID, integration_id: uuid.UUID) -> None:
    async with ctx.db.write() as s:
        row = await repo.get(s, tenant_id, integration_id)
        if row is None or not await repo.remove(s, tenant_id, integration_id):
            raise integration_not_found(integration_id)
    if row.status_id == INTEGRATION_ACTIVE:
        await _detach(ctx, row)


async def list_page(
    ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID | None, params: PageParams
) -> dict[str, Any]:
    if hub_id is not None:
        await hubs_service.require(ctx, tenant_id, hub_id)
    async with ctx.db.read() as s:
        total = await repo.count(s, tenant_id, hub_id)
        rows = await repo.page(s, tenant_id, hub_id, params.offset, params.page_size)
    return page_body(params, total, [to_wire(ctx, r) for r in rows])


async def list_by_channel(
    ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID, channel: ChannelId
) -> list[dict[str, Any]]:
    await hubs_service.require(ctx, tenant_id, hub_id)
    async with ctx.db.read() as s:
        rows = await repo.by_channel(s, tenant_id, hub_id, int(channel))
    return [to_wire(ctx, r) for r in rows]


async def slack_authorize(
    ctx: AppContext, tenant_id: uuid.UUID, hub_id: uuid.UUID
) -> dict[str, Any]:
    await hubs_service.require(ctx, tenant_id, hub_id)
    try:
        url, nonce, expires = await SLACK.start_install(ctx, tenant_id, hub_id)
    except Unavailable as exc:
        raise _provider_error(exc) from None
    return {"url": url, "nonce": nonce, "expires": format_ts(expires)}
