"""Channel and integration type tables of the reference (names and numbers)."""

from __future__ import annotations

from enum import IntEnum


class ChannelId(IntEnum):
    Direct = 1
    Bot = 2
    System = 3
    Messenger = 101
    TwilioSMS = 102
    Line = 103
    Telegram = 104
    Kik = 105
    WebChat = 106
    Slack = 1001


INTEGRATION_TYPES = ("Customer", "Agent", "Bot", "System")

# Derived integration type per channel; Direct takes its configuration's integrationType.
FIXED_INTEGRATION_TYPE: dict[ChannelId, str] = {
    ChannelId.TwilioSMS: "Customer",
    ChannelId.Messenger: "Customer",
    ChannelId.WebChat: "Customer",
    ChannelId.Line: "Customer",
    ChannelId.Telegram: "Customer",
    ChannelId.Kik: "Customer",
    ChannelId.Slack: "Agent",
    ChannelId.Bot: "Bot",
    ChannelId.System: "System",
}

INTEGRATION_ACTIVE = 3000
INTEGRATION_PAUSED = 3002


def channel_from(value: object) -> ChannelId | None:
    """A channel from its name (any case) or its number; None when unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return ChannelId(value)
        except ValueError:
            return None
    if isinstance(value, str):
        key = value.strip().lower()
        for channel in ChannelId:
            if channel.name.lower() == key or str(channel.value) == key:
                return channel
    return None
