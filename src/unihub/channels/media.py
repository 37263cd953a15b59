"""Provider media behind unihub URLs: files Telegram and LINE serve only with the bot's
credentials reach agents as `/media/v1/<token>`, a link that needs no credential.

The token is a Fernet token under a key derived for this purpose alone: it cannot be guessed
or altered, it hides the provider's file reference, and it expires after
`UNIHUB_MEDIA_URL_TTL_S` (Fernet's own timestamp); a link made before a key rotation works
as long as its key is still configured. The route (`inbound.media`) fetches the
file from the provider at each request through the adapter's `fetch_media`, so nothing is
stored and a deleted integration's links stop working.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from unihub.channels.base import Account
from unihub.core.config import Settings
from unihub.core.context import AppContext
from unihub.core.security import SecretBox

MEDIA_PATH = "/media/v1/"
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # Telegram's getFile limit; LINE's files are smaller


@dataclass(frozen=True, slots=True)
class Media:
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class MediaRef:
    integration_id: uuid.UUID
    ref: dict[str, str]


@runtime_checkable
class MediaSource(Protocol):
    """An adapter whose provider keeps customers' files behind the bot's credentials."""

    async def fetch_media(self, ctx: AppContext, account: Account, ref: Mapping[str, str]) -> Media:
        """The file `ref` names (as the adapter put it in `media_url`); `errors.Rejected`
        when the provider no longer has it, `errors.Unavailable` when it cannot be asked."""
        ...


def _fernet(box: SecretBox) -> MultiFernet:
    """New links under the newest secret key; links made under an older one keep working
    until that key leaves UNIHUB_SECRET_KEYS."""
    keys = box.derive_keys(b"unihub media url")
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in keys])


def base_url(settings: Settings) -> str:
    """Where agents reach this server: `UNIHUB_PUBLIC_URL`, else the address it serves on."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{settings.host}:{settings.port}"


def media_url(ctx: AppContext, integration_id: uuid.UUID, ref: Mapping[str, str]) -> str:
    payload = orjson.dumps({"i": str(integration_id), "r": dict(ref)})
    token = _fernet(ctx.box).encrypt(payload).decode()
    return f"{base_url(ctx.settings)}{MEDIA_PATH}{token}"


def read_token(ctx: AppContext, token: str) -> MediaRef | None:
    """The reference behind a media token; None when forged, altered or expired."""
    try:
        raw = _fernet(ctx.box).decrypt(token.encode(), ttl=int(ctx.settings.media_url_ttl_s))
        data = orjson.loads(raw)
        ref = data["r"]
        if not isinstance(ref, dict):
            return None
        return MediaRef(uuid.UUID(data["i"]), {str(k): str(v) for k, v in ref.items()})
    except (InvalidToken, ValueError, KeyError, TypeError):
        return None
