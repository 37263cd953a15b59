"""Slack agents."""
