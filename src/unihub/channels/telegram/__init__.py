"""Telegram: a bot as a customer channel (docs/channels.md)."""
