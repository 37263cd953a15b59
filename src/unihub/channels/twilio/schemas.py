"""The configuration a Twilio SMS integration is created with."""

from __future__ import annotations

from unihub.channels.base import Credential
from unihub.core.schemas import ApiModel


class TwilioConfig(ApiModel):
    account_sid: Credential
    auth_token: Credential
    number_sid: Credential
