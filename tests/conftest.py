"""Shared fixtures: one app per session on the backend chosen by UNIHUB_TEST_DATABASE_URL.

Without that variable the suite runs on a fresh SQLite file; `make test` runs it a second time
against PostgreSQL. Every test gets its own tenant, so tests never see each other's data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from unihub.app import create_app
from unihub.core.config import Settings
from unihub.core.context import AppContext
from unihub.core.migrate import upgrade
from unihub.tenants import service as tenants_service

# A stray `.env` in the working directory must not change the suite's settings: the tests'
# own processes read no env file (their subprocess helpers pass this on too).
os.environ["UNIHUB_ENV_FILE"] = ""

pytest_plugins: list[str] = []
if Path(__file__).parent.joinpath("fakes", "fixtures.py").exists():
    pytest_plugins.append("tests.fakes.fixtures")


def make_settings(**overrides: Any) -> Settings:
    data_dir = Path(tempfile.mkdtemp(prefix="unihub-test-"))
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": os.environ.get("UNIHUB_TEST_DATABASE_URL") or None,
        "secret_key": "test-secret-key",
        "allow_private_webhooks": True,
        "rate_limit": "off",
        "revocation_cache_s": 0.5,
        "access_log": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(request: pytest.FixtureRequest) -> Settings:
    overrides: dict[str, Any] = {}
    if "tests.fakes.fixtures" in pytest_plugins:
        # The app's providers are the session's fake servers (started before the app).
        twilio = request.getfixturevalue("fake_twilio_server")
        graph = request.getfixturevalue("fake_graph_server")
        slack = request.getfixturevalue("fake_slack_server")
        line = request.getfixturevalue("fake_line_server")
        telegram = request.getfixturevalue("fake_telegram_server")
        overrides = {
            "twilio_api_url": twilio.base_url,
            "graph_api_url": graph.api_url,
            "slack_api_url": slack.base_url,
            "slack_authorize_url": f"{slack.base_url}/oauth/v2/authorize",
            "slack_client_id": slack.client_id,
            "slack_client_secret": slack.client_secret,
            "slack_signing_secret": "test-slack-signing-secret",
            "line_api_url": line.base_url,
            "line_data_api_url": line.data_url,
            "telegram_api_url": telegram.base_url,
            # Providers call the ASGI test client's host; Telegram bots get webhooks there.
            "public_url": "http://unihub.test",
            "telegram_poll_timeout_s": 1,
            "telegram_poll_lease_s": 3.0,
            # Fakes in "slow" mode answer after 3 s; the app gives up sooner.
            "provider_timeout_s": 1.0,
        }
    s = make_settings(**overrides)
    upgrade(s)
    return s


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def ctx(app: Any) -> AppContext:
    context: AppContext = app.state.ctx
    return context


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://unihub.test") as c:
        yield c


@dataclass
class TenantCreds:
    tenant_id: str
    portal_client_id: str
    portal_secret: str
    engine_client_id: str
    engine_secret: str
    portal_token: str
    engine_token: str

    @property
    def portal(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.portal_token}"}

    @property
    def engine(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.engine_token}"}


async def get_token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    r = await client.post(
        "/connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def new_tenant(ctx: AppContext, client: httpx.AsyncClient, name: str = "t") -> TenantCreds:
    async with ctx.db.write() as s:
        created = await tenants_service.create_tenant(s, name)
    portal = created["clients"]["portal"]
    engine = created["clients"]["engine"]
    return TenantCreds(
        tenant_id=created["tenantId"],
        portal_client_id=portal["clientId"],
        portal_secret=portal["clientSecret"],
        engine_client_id=engine["clientId"],
        engine_secret=engine["clientSecret"],
        portal_token=await get_token(client, portal["clientId"], portal["clientSecret"]),
        engine_token=await get_token(client, engine["clientId"], engine["clientSecret"]),
    )


@pytest.fixture
async def tenant(ctx: AppContext, client: httpx.AsyncClient) -> TenantCreds:
    return await new_tenant(ctx, client, "tenant-a")


@pytest.fixture
async def other_tenant(ctx: AppContext, client: httpx.AsyncClient) -> TenantCreds:
    return await new_tenant(ctx, client, "tenant-b")


def codes(response: httpx.Response) -> list[int]:
    """The error codes of an error-model answer, after checking its shape."""
    body = response.json()
    assert body["status"] == response.status_code
    assert body["errors"], body
    for err in body["errors"]:
        assert err["description"].endswith(")") and "(code: " in err["description"], err
    return [e["code"] for e in body["errors"]]
