"""The configuration a Slack integration is created with: the OAuth callback's code and the
nonce unihub issued for the install."""

from __future__ import annotations

from unihub.channels.base import Credential
from unihub.core.schemas import ApiModel


class SlackConfig(ApiModel):
    code: Credential
    nonce: Credential
