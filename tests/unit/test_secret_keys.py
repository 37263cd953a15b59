"""UNIHUB_SECRET_KEY / UNIHUB_SECRET_KEYS and the secret box built from them: the precedence,
the refusals, and that databases written before key rotation existed still decrypt."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

import unihub.models
from unihub.core.config import Settings
from unihub.core.rotation import encrypted_columns
from unihub.core.security import SecretBox, secret_key_material


def keys(tmp_path: Path, **values: str) -> tuple[str, ...]:
    return secret_key_material(Settings(data_dir=tmp_path, **values))


def test_precedence(tmp_path: Path) -> None:
    assert keys(tmp_path, secret_key="only") == ("only",)
    assert keys(tmp_path, secret_keys=" new , old ") == ("new", "old")
    assert keys(tmp_path, secret_key="new", secret_keys="new,old") == ("new", "old")
    assert keys(tmp_path, secret_key="k", secret_keys="") == ("k",)  # empty means unset
    # Neither: the key generated once into the data dir, the same on every call.
    generated = keys(tmp_path)
    assert len(generated) == 1 and keys(tmp_path) == generated
    assert (tmp_path / "secret.key").read_text().strip() == generated[0]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"secret_keys": "sekrit-a,,sekrit-b"}, "UNIHUB_SECRET_KEYS: entry 2 of 3 is empty"),
        ({"secret_keys": ",sekrit-a"}, "UNIHUB_SECRET_KEYS: entry 1 of 2 is empty"),
        ({"secret_keys": "sekrit-a, "}, "UNIHUB_SECRET_KEYS: entry 2 of 2 is empty"),
        (
            {"secret_key": "sekrit-b", "secret_keys": "sekrit-a,sekrit-b"},
            "UNIHUB_SECRET_KEY is set and is not the first (newest) entry of UNIHUB_SECRET_KEYS",
        ),
    ],
)
def test_malformed_lists_are_refused_without_showing_keys(
    tmp_path: Path, values: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(data_dir=tmp_path, **values)
    text = str(caught.value)
    assert message in text and "sekrit" not in text


def test_tokens_from_before_rotation_existed_still_decrypt() -> None:
    # What SecretBox("legacy") wrote before it took several keys: Fernet under SHA-256 of
    # the string, HMAC keys derived from the same digest.
    digest = hashlib.sha256(b"legacy").digest()
    written = Fernet(base64.urlsafe_b64encode(digest)).encrypt(b"credentials")
    derived = hmac.new(digest, b"purpose", hashlib.sha256).digest()

    alone = SecretBox("legacy")
    assert alone.decrypt_bytes(written) == b"credentials"
    assert alone.derive_key(b"purpose") == derived

    box = SecretBox(["new", "legacy"])
    assert box.key_count == 2
    assert box.decrypt_bytes(written) == b"credentials"
    assert box.derive_key(b"purpose") == SecretBox("new").derive_key(b"purpose")
    assert box.derive_keys(b"purpose") == (SecretBox("new").derive_key(b"purpose"), derived)

    # New values are under the newest key only.
    fresh = box.encrypt("x")
    assert SecretBox("new").decrypt(fresh) == "x"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        alone.decrypt(fresh)


def test_rotated() -> None:
    box = SecretBox(["new", "old"])
    old = SecretBox("old").encrypt_bytes(b"v")
    assert box.rotated(box.encrypt_bytes(b"v")) is None  # already current: left alone
    moved = box.rotated(old)
    assert moved is not None and SecretBox("new").decrypt_bytes(moved) == b"v"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        box.rotated(SecretBox("lost").encrypt_bytes(b"v"))
    with pytest.raises(ValueError):
        SecretBox([])


def test_every_encrypted_column_is_marked() -> None:
    # The columns `unihub secrets rotate` walks; a new encrypted column must be added here
    # and marked `info=ENCRYPTED` (DEVELOPERS.md, "Secrets at rest").
    found = [c.name for c in encrypted_columns(unihub.models.Base.metadata)]
    assert found == [
        "idempotency_keys.body",
        "integrations.private_signing_key",
        "integrations.secrets",
        "signing_keys.private_key",
    ]
