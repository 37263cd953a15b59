from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.engine.receiver import Receiver
from tests.fakes.server import run_app_in_thread
from unihub.delivery.engine import EngineRuntime


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.base_url, stop = run_app_in_thread(receiver.app)
    try:
        yield receiver
    finally:
        if receiver.gate is not None:
            receiver.gate.set()
        stop()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Iterator[Receiver]:
    receiver_server.reset()
    yield receiver_server
    if receiver_server.gate is not None:
        receiver_server.gate.set()
    receiver_server.fail_status = None


@pytest.fixture
def engine(app: Any) -> EngineRuntime:
    runtime: EngineRuntime = app.state.engine
    return runtime
