"""Twilio SMS: attach a number (the credentials are checked by looking it up), receive SMS
and MMS from Twilio's signed webhooks, send replies through the Messages API."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from unihub.channels.base import Account, Inbound, InboundRequest, Outgoing, Setup
from unihub.channels.errors import (
    ProviderRejected,
    ProviderUnavailable,
    Rejected,
    SignatureInvalid,
    redact,
)
from unihub.channels.http import request_json, text_field, unexpected
from unihub.channels.render import message_node, text_fallback, truncate
from unihub.channels.twilio.schemas import TwilioConfig
from unihub.channels.twilio.signature import signature_valid
from unihub.channels.types import ChannelId
from unihub.core.config import Settings
from unihub.core.context import AppContext
from unihub.core.validation import get_ignoring_case

PROVIDER = "Twilio"
BODY_LIMIT = 1600
_MEDIA_KINDS = ("image", "video", "audio")

# SIDs go into the URL path; anything beyond letters and digits could walk to another path.
_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@dataclass(frozen=True)
class TwilioCapabilities:
    sms: bool
    mms: bool
    voice: bool


@dataclass(frozen=True)
class TwilioNumber:
    phone_number: str
    capabilities: TwilioCapabilities


async def fetch_incoming_number(
    settings: Settings, account_sid: str, auth_token: str, number_sid: str
) -> TwilioNumber:
    """Prove the credentials own the number, and learn its E.164 form and capabilities."""
    secrets = [auth_token]
    for label, sid in (("account SID", account_sid), ("phone number SID", number_sid)):
        if not _SID.fullmatch(sid):
            raise ProviderRejected(PROVIDER, f"the {label} is malformed", secrets=secrets)
    path = f"/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{number_sid}.json"
    status, body = await request_json(
        PROVIDER,
        settings.twilio_api_url,
        settings.provider_timeout_s,
        "GET",
        path,
        auth=(account_sid, auth_token),
        secrets=secrets,
    )
    if status >= 400:
        message = text_field(body, "message")
        code = body.get("code")
        if message is None:
            raise unexpected(PROVIDER, status, secrets)
        reason = f"{message} ({code})" if isinstance(code, int) else message
        raise ProviderRejected(PROVIDER, reason, secrets=secrets)

    phone_number = text_field(body, "phone_number")
    capabilities = body.get("capabilities")
    if phone_number is None or not isinstance(capabilities, dict):
        raise unexpected(PROVIDER, status, secrets)
    if not _E164.fullmatch(phone_number):
        raise ProviderUnavailable(
            PROVIDER, "the number it returned is not in E.164 form", secrets=secrets
        )
    return TwilioNumber(
        phone_number=phone_number,
        capabilities=TwilioCapabilities(
            sms=get_ignoring_case(capabilities, "sms") is True,
            mms=get_ignoring_case(capabilities, "mms") is True,
            voice=get_ignoring_case(capabilities, "voice") is True,
        ),
    )


def _nodes(params: dict[str, str]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    if params.get("Body", "").strip():
        nodes.append({"type": "text", "text": params["Body"]})
    try:
        media = int(params.get("NumMedia", "0") or 0)
    except ValueError:
        media = 0
    for i in range(min(media, 10)):
        media_url = params.get(f"MediaUrl{i}")
        kind = params.get(f"MediaContentType{i}", "").split("/")[0]
        if media_url:
            if kind in _MEDIA_KINDS:
                nodes.append({"type": kind, "url": media_url})
            else:
                nodes.append({"type": "text", "text": media_url})
    return nodes


class TwilioAdapter:
    channel = ChannelId.TwilioSMS
    provider = PROVIDER
    config_model = TwilioConfig

    async def verify(
        self, ctx: AppContext, config: Any, *, tenant_id: uuid.UUID, hub_id: uuid.UUID
    ) -> Setup:
        assert isinstance(config, TwilioConfig)
        number = await fetch_incoming_number(
            ctx.settings, config.account_sid, config.auth_token, config.number_sid
        )
        caps = number.capabilities
        return Setup(
            "Customer",
            {
                "accountSid": config.account_sid,
                "numberSid": config.number_sid,
                "phoneNumber": number.phone_number,
                "capabilities": {"mms": caps.mms, "sms": caps.sms, "voice": caps.voice},
            },
            secrets={"authToken": config.auth_token},
            inbound_id=config.account_sid,
            external_key=f"TwilioSMS:{config.number_sid}",
        )

    async def receive(
        self, ctx: AppContext, request: InboundRequest, account: Account
    ) -> list[Inbound]:
        params = dict(request.form)
        signature = request.headers.get("x-twilio-signature", "")
        token = account.secrets.get("authToken", "")
        if not signature_valid(token, request.url, params, signature):
            raise SignatureInvalid.of("Twilio")
        sender = params.get("From", "").strip()
        if not sender:
            raise Rejected("Twilio parameter 'From' is required.")
        nodes = _nodes(params)
        if not nodes:
            return []  # an empty SMS: nothing to say
        sid = params.get("MessageSid")
        # Twilio retries a webhook it got no answer to: the MessageSid makes that a no-op.
        return [Inbound(nodes, external_id=sid, binding=sender, receipt=sid or None)]

    async def send(self, ctx: AppContext, out: Outgoing) -> int | None:
        node = message_node(out.payload)
        if node is None:
            return None
        config, secrets = out.account.configuration, out.account.secrets
        account_sid, sender = config.get("accountSid"), config.get("phoneNumber")
        token = secrets.get("authToken", "")
        if not account_sid or not sender or not token:
            raise Rejected("the Twilio integration lacks its account SID, number or auth token")
        if not out.binding:
            raise Rejected("the conversation has no customer binding to send to")
        form: dict[str, str] = {"To": out.binding, "From": str(sender)}
        mms = (config.get("capabilities") or {}).get("mms") is True
        if node.get("type") == "image" and mms:
            form["MediaUrl"] = str(node["url"])
            caption = node.get("title") or node.get("alt")
            if caption:
                form["Body"] = truncate(str(caption), BODY_LIMIT)
        else:
            form["Body"] = truncate(text_fallback(node), BODY_LIMIT)
        status, body = await request_json(
            PROVIDER,
            ctx.settings.twilio_api_url,
            ctx.settings.provider_timeout_s,
            "POST",
            f"/2010-04-01/Accounts/{account_sid}/Messages.json",
            data=form,
            auth=(str(account_sid), token),
            secrets=[token],
        )
        if status >= 400:
            message = text_field(body, "message") or "no reason given"
            code = body.get("code")
            reason = f"{message} ({code})" if isinstance(code, int) else message
            raise Rejected(
                redact(f"Twilio refused the message: {reason} (HTTP {status})", [token]), status
            )
        return status
