from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from unihub.app import create_app
from unihub.core.config import Settings

ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(settings: Settings) -> AsyncIterator[ClientFactory]:
    """An in-process app on the suite's database with some settings changed."""
    async with AsyncExitStack() as stack:

        async def factory(**overrides: Any) -> httpx.AsyncClient:
            app = create_app(settings.model_copy(update=overrides))
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://unihub.test")
            client.app = app  # type: ignore[attr-defined]  # tests reach its context
            return await stack.enter_async_context(client)

        yield factory
