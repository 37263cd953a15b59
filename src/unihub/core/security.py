"""Secrets at rest: channel credentials and signing keys are encrypted, client secrets hashed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from unihub.core.config import Settings


class SecretBox:
    """Authenticated symmetric encryption (Fernet: AES-128-CBC + HMAC-SHA256) for stored secrets."""

    def __init__(self, key_material: str) -> None:
        # Any operator-chosen string becomes a 32-byte key; the same string decrypts everywhere.
        digest = hashlib.sha256(key_material.encode()).digest()
        self._material = digest
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with UNIHUB_SECRET_KEY") from exc

    def derive_key(self, purpose: bytes) -> bytes:
        """A key of its own for `purpose` (e.g. an HMAC), never the encryption key itself."""
        return hmac.new(self._material, purpose, hashlib.sha256).digest()

    def encrypt_bytes(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with UNIHUB_SECRET_KEY") from exc


def secret_key_material(settings: Settings) -> str:
    """`UNIHUB_SECRET_KEY`, else a key generated once into the data dir (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
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
    return path.read_text().strip()


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
