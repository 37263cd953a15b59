"""The configuration a LINE integration is created with: the Messaging API channel's
long-lived access token (calls) and its channel secret (webhook signatures)."""

from __future__ import annotations

from unihub.channels.base import Credential
from unihub.core.schemas import ApiModel


class LineConfig(ApiModel):
    channel_access_token: Credential
    channel_secret: Credential
