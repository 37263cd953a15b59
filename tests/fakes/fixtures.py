"""Pytest fixtures for the fake providers: one server per session, state reset per test.

Import these names into a conftest (`from tests.fakes.fixtures import *`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import TypeVar

import pytest

from tests.fakes.base import FakeProvider
from tests.fakes.graph import FakeGraph
from tests.fakes.line import FakeLine
from tests.fakes.server import run_app_in_thread
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio

__all__ = [
    "closed_port_url",
    "fake_graph",
    "fake_graph_server",
    "fake_line",
    "fake_line_server",
    "fake_slack",
    "fake_slack_server",
    "fake_telegram",
    "fake_telegram_server",
    "fake_twilio",
    "fake_twilio_server",
]


T = TypeVar("T", bound=FakeProvider)


def _serve(fake: T) -> Iterator[T]:
    fake.base_url, stop = run_app_in_thread(fake.app)
    try:
        yield fake
    finally:
        stop()


@pytest.fixture(scope="session")
def fake_twilio_server() -> Iterator[FakeTwilio]:
    yield from _serve(FakeTwilio())


@pytest.fixture(scope="session")
def fake_graph_server() -> Iterator[FakeGraph]:
    yield from _serve(FakeGraph())


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[FakeSlack]:
    yield from _serve(FakeSlack())


@pytest.fixture(scope="session")
def fake_line_server() -> Iterator[FakeLine]:
    yield from _serve(FakeLine())


@pytest.fixture
def fake_line(fake_line_server: FakeLine) -> FakeLine:
    fake_line_server.reset()
    return fake_line_server


@pytest.fixture(scope="session")
def fake_telegram_server() -> Iterator[FakeTelegram]:
    yield from _serve(FakeTelegram())


@pytest.fixture
def fake_telegram(fake_telegram_server: FakeTelegram) -> FakeTelegram:
    fake_telegram_server.reset()
    return fake_telegram_server


@pytest.fixture
def fake_twilio(fake_twilio_server: FakeTwilio) -> FakeTwilio:
    fake_twilio_server.reset()
    return fake_twilio_server


@pytest.fixture
def fake_graph(fake_graph_server: FakeGraph) -> FakeGraph:
    fake_graph_server.reset()
    return fake_graph_server


@pytest.fixture
def fake_slack(fake_slack_server: FakeSlack) -> FakeSlack:
    fake_slack_server.reset()
    return fake_slack_server


@pytest.fixture
def closed_port_url() -> str:
    """A 127.0.0.1 URL nobody listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
