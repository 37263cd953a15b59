"""The configuration a Facebook Messenger integration is created with."""

from __future__ import annotations

from unihub.channels.base import Credential
from unihub.core.schemas import ApiModel


class MessengerConfig(ApiModel):
    page_access_token: Credential
    # Optional: the Facebook app secret (verifies X-Hub-Signature-256 on inbound webhooks)
    # and the verify token of the subscription handshake (docs/channels.md).
    app_secret: Credential | None = None
    verify_token: Credential | None = None
