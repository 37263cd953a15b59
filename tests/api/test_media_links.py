"""`/media/v1/{token}` refuses what it did not issue: forged, altered, expired tokens and
tokens of integrations that are gone all answer the same 404 (ENG005600)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import httpx

from tests.conftest import codes
from unihub.channels.media import MEDIA_PATH, media_url, read_token
from unihub.core.context import AppContext


async def test_unknown_altered_and_orphan_tokens_are_404(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    orphan = media_url(ctx, uuid.uuid4(), {"fileId": "AgAD-1"})
    token = orphan.rsplit("/", 1)[1]
    assert read_token(ctx, token) is not None  # well formed, but its integration is gone
    altered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    for path in (f"{MEDIA_PATH}nope", f"{MEDIA_PATH}{altered}", f"{MEDIA_PATH}{token}"):
        r = await client.get(path)
        assert r.status_code == 404 and codes(r) == [5600], (path, r.text)
        assert "ENG005600" in r.text
    # The link hides the provider's reference.
    assert "AgAD-1" not in orphan


def test_tokens_expire(ctx: AppContext) -> None:
    token = media_url(ctx, uuid.uuid4(), {"fileId": "x"}).rsplit("/", 1)[1]
    short = replace(ctx, settings=ctx.settings.model_copy(update={"media_url_ttl_s": 1}))
    assert read_token(short, token) is not None
    time.sleep(2.1)  # Fernet counts whole seconds
    assert read_token(short, token) is None
