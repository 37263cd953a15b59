"""Signed webhook requests, byte-for-byte as the reference's C# receiver verifies them.

The signature is HMAC-SHA256 over the raw body bytes, keyed with the UTF-8 bytes of the
receiving integration's private signing key (the 32 hex characters, not their decoded value),
base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import timedelta

SOURCE_SYSTEM = "engine.hubster.io"
TIMEOUT_S = 10.0
# The reference's retry table, read as its rows say: retry 0 comes immediately, retries 1-5
# come 2, 4, 6, 8 and 10 minutes after the previous failure. With the first delivery that is
# seven attempts in all; `RETRY_DELAYS[n - 1]` is the wait after the n-th failed attempt.
RETRY_DELAYS = (
    timedelta(0),
    timedelta(minutes=2),
    timedelta(minutes=4),
    timedelta(minutes=6),
    timedelta(minutes=8),
    timedelta(minutes=10),
)
MAX_ATTEMPTS = 1 + len(RETRY_DELAYS)


def sign(body: bytes, private_key: str) -> str:
    digest = hmac.new(private_key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def webhook_headers(
    *,
    body: bytes,
    private_key: str,
    public_key: str,
    hub_id: uuid.UUID,
    integration_id: uuid.UUID,
    conversation_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "x-source-system": SOURCE_SYSTEM,
        "x-hub-id": str(hub_id),
        "x-integration-id": str(integration_id),
        "x-conversation-id": str(conversation_id),
        "x-hubster-public-key": public_key,
        "x-hubster-signature": sign(body, private_key),
        # Stable across retries and restarts: receivers de-duplicate on it.
        "x-hubster-delivery-id": str(delivery_id),
    }
