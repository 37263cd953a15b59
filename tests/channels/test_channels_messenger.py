from __future__ import annotations

import logging

import pytest
from tests.fakes.graph import FakeGraph

from unihub.channels.errors import ProviderRejected, ProviderUnavailable
from unihub.channels.messenger.adapter import MessengerPage, resolve_page
from unihub.core.config import Settings

TOKEN = "EAAGm0PX4ZCpsBAPageTokenS3cr3t"


def settings(url: str) -> Settings:
    return Settings(graph_api_url=url, provider_timeout_s=0.5)


@pytest.fixture
def graph(fake_graph: FakeGraph) -> FakeGraph:
    fake_graph.add_page(TOKEN, "1234567890", "Acme Support", "987654321")
    return fake_graph


async def test_resolves_page_and_app(graph: FakeGraph, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="unihub")
    page = await resolve_page(settings(graph.api_url), TOKEN)
    assert page == MessengerPage(page_id="1234567890", page_name="Acme Support", app_id="987654321")
    me, app = graph.requests
    assert me.path == "/v19.0/me"
    assert me.query == {"fields": "id,name", "access_token": TOKEN}
    assert app.path == "/v19.0/app"
    assert app.query == {"access_token": TOKEN}
    assert TOKEN not in caplog.text


def test_httpx_logger_is_kept_quiet() -> None:
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


async def test_invalid_token_is_rejected_without_leaking_it(graph: FakeGraph) -> None:
    bad = "EAAbadTokenThatIsSecret"
    with pytest.raises(ProviderRejected) as info:
        await resolve_page(settings(graph.api_url), bad)
    assert str(info.value) == (
        "Facebook Messenger rejected the page access token: "
        "Invalid OAuth access token - Cannot parse access token (190)."
    )
    assert bad not in str(info.value)


async def test_echoed_token_is_redacted(graph: FakeGraph) -> None:
    # Graph sometimes quotes the malformed token back; it must not reach our text.
    error = ProviderRejected(
        "Facebook Messenger", f"Malformed access token {TOKEN}", secrets=[TOKEN]
    )
    assert TOKEN not in str(error)
    assert "[redacted]" in str(error)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("error500", "answered HTTP 500"),
        ("slow", "no answer within 0.5 s"),
        ("garbage", "not JSON"),
    ],
)
async def test_provider_failures_are_unavailable(
    graph: FakeGraph, caplog: pytest.LogCaptureFixture, mode: str, reason: str
) -> None:
    caplog.set_level(logging.DEBUG)
    graph.mode = mode  # type: ignore[assignment]
    with pytest.raises(ProviderUnavailable) as info:
        await resolve_page(settings(graph.api_url), TOKEN)
    assert str(info.value).startswith("Facebook Messenger is unavailable: ")
    assert reason in str(info.value)
    assert TOKEN not in str(info.value)
    assert TOKEN not in caplog.text


async def test_failure_on_second_call_is_unavailable(graph: FakeGraph) -> None:
    graph.mode, graph.mode_paths = "error500", {"/app"}
    with pytest.raises(ProviderUnavailable, match="HTTP 500"):
        await resolve_page(settings(graph.api_url), TOKEN)


async def test_refused_connection_is_unavailable(closed_port_url: str) -> None:
    with pytest.raises(ProviderUnavailable) as info:
        await resolve_page(settings(closed_port_url), TOKEN)
    assert "could not connect" in str(info.value)
    assert TOKEN not in str(info.value)
    assert info.value.__cause__ is None
