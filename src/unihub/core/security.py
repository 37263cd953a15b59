"""Secrets at rest: channel credentials and signing keys are encrypted, client secrets hashed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from unihub.core.config import Settings


class SecretBox:
    """Authenticated symmetric encryption (Fernet: AES-128-CBC + HMAC-SHA256) for stored secrets.

    Built from the configured keys, newest first (`secret_key_material`): it encrypts with the
    newest and decrypts with any (cryptography's MultiFernet), so a key can be replaced without
    losing what the older one encrypted; `unihub secrets rotate` then re-encrypts the stored
    values under the newest (`rotated`).
    """

    def __init__(self, key_material: str | Sequence[str]) -> None:
        materials = (key_material,) if isinstance(key_material, str) else tuple(key_material)
        if not materials:
            raise ValueError("a SecretBox needs at least one key")
        # Any operator-chosen string becomes a 32-byte key; the same string decrypts everywhere.
        self._materials = tuple(hashlib.sha256(m.encode()).digest() for m in materials)
        fernets = [Fernet(base64.urlsafe_b64encode(digest)) for digest in self._materials]
        self._newest = fernets[0]
        self._fernet = MultiFernet(fernets)

    @property
    def key_count(self) -> int:
        return len(self._materials)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self.decrypt_bytes(token.encode()).decode()

    def derive_key(self, purpose: bytes) -> bytes:
        """A key of its own for `purpose` (e.g. an HMAC), never the encryption key itself;
        derived from the newest key: use it for what is made now."""
        return self.derive_keys(purpose)[0]

    def derive_keys(self, purpose: bytes) -> tuple[bytes, ...]:
        """`derive_key` from every configured key, newest first: check with all of them what
        was made before a rotation (a keyed hash, a handed-out token)."""
        return tuple(hmac.new(m, purpose, hashlib.sha256).digest() for m in self._materials)

    def encrypt_bytes(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise ValueError(UNDECRYPTABLE) from exc

    def rotated(self, token: bytes) -> bytes | None:
        """`token` re-encrypted under the newest key, or None when it already is; ValueError
        when no configured key decrypts it."""
        try:
            self._newest.decrypt(token)
        except InvalidToken:
            pass
        else:
            return None
        try:
            return self._fernet.rotate(token)
        except InvalidToken as exc:
            raise ValueError(UNDECRYPTABLE) from exc


UNDECRYPTABLE = "stored secret cannot be decrypted with any key of UNIHUB_SECRET_KEY(S)"


def secret_key_material(settings: Settings) -> tuple[str, ...]:
    """The keys, newest first: `UNIHUB_SECRET_KEYS`, else `UNIHUB_SECRET_KEY`, else a key
    generated once into the data dir (mode 0600)."""
    configured = settings.secret_keys_in_order
    if configured:
        return configured
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32))
    return (path.read_text().strip(),)


def new_client_secret() -> str:
    """256 bits from the URL-safe alphabet [A-Za-z0-9_-]."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_prefix(secret: str) -> str:
    return secret[:12]


def new_signing_key_hex() -> str:
    """32 upper-case hex characters, as Hubster's public/private signing keys look."""
    return secrets.token_hex(16).upper()
