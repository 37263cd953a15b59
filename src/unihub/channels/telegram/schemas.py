"""The configuration a Telegram integration is created with."""

from __future__ import annotations

from unihub.channels.base import Credential
from unihub.core.schemas import ApiModel


class TelegramConfig(ApiModel):
    # BotFather's token, "<bot id>:<secret>"; getMe checks it when the integration is created.
    bot_token: Credential
