"""Twilio: check an account's credentials by looking up the number an integration sends from."""

from __future__ import annotations

import re
from dataclasses import dataclass

from unihub.channels._http import request_json, text_field, unexpected
from unihub.channels.errors import ProviderRejected, ProviderUnavailable
from unihub.core.config import Settings

PROVIDER = "Twilio"

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
    flags = {str(k).lower(): v is True for k, v in capabilities.items()}
    return TwilioNumber(
        phone_number=phone_number,
        capabilities=TwilioCapabilities(
            sms=flags.get("sms", False),
            mms=flags.get("mms", False),
            voice=flags.get("voice", False),
        ),
    )
