"""Twilio SMS (and MMS) customers."""
