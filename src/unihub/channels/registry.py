"""The adapter of each provider channel."""

from __future__ import annotations

from unihub.channels.base import ChannelAdapter
from unihub.channels.line.adapter import LineAdapter
from unihub.channels.messenger.adapter import MessengerAdapter
from unihub.channels.slack.adapter import SlackAdapter
from unihub.channels.telegram.adapter import TelegramAdapter
from unihub.channels.twilio.adapter import TwilioAdapter
from unihub.channels.types import ChannelId

TWILIO = TwilioAdapter()
MESSENGER = MessengerAdapter()
SLACK = SlackAdapter()
LINE = LineAdapter()
TELEGRAM = TelegramAdapter()

ADAPTERS: dict[ChannelId, ChannelAdapter] = {
    a.channel: a for a in (TWILIO, MESSENGER, SLACK, LINE, TELEGRAM)
}


def adapter_for(channel: ChannelId) -> ChannelAdapter | None:
    """The provider adapter of `channel`; None for channels without a provider (WebChat,
    Direct, System: the engine itself serves them)."""
    return ADAPTERS.get(channel)
