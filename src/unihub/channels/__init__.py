"""Outbound calls to the messaging providers an integration is connected to."""
