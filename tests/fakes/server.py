"""Run an ASGI app on a real socket so tests exercise the real httpx client path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp


def run_app_in_thread(
    app: ASGIApp, startup_timeout_s: float = 10.0
) -> tuple[str, Callable[[], None]]:
    """Serve `app` on 127.0.0.1 (a free port) in a daemon thread; return (base_url, stop)."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-provider", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("fake provider server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return f"http://127.0.0.1:{port}", stop
