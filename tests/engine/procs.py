"""Real `unihub serve` processes for the websocket, multi-process and SIGKILL tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

SRC = str(Path(__file__).resolve().parents[2] / "src")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIHUB_")} | {
        "UNIHUB_ENV_FILE": ""
    }
    env.update(
        PYTHONPATH=SRC,
        UNIHUB_DATA_DIR=str(data_dir),
        UNIHUB_SECRET_KEY="test-secret-key",
        UNIHUB_ALLOW_PRIVATE_WEBHOOKS="true",
        UNIHUB_RATE_LIMIT="off",
        UNIHUB_LOG_LEVEL="WARNING",
        **extra,
    )
    if database_url:
        env["UNIHUB_DATABASE_URL"] = database_url
    return env


@dataclass
class Server:
    base_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, exactly like a crash."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")


async def start_server(env: dict[str, str], port: int | None = None) -> Server:
    """`port`: a given one (a restart on the same address), else a free one."""
    port = port or free_port()
    log = Path(tempfile.mkstemp(prefix="unihub-serve-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "unihub.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    deadline = asyncio.get_running_loop().time() + 60
    async with httpx.AsyncClient() as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                if (await client.get(f"{server.base_url}/healthz")).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                server.kill()
                raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
            await asyncio.sleep(0.1)
