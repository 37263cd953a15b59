"""Real `unihub serve` processes for tests that need a process boundary (SIGKILL, Redis, logs)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIHUB_")} | {
        "UNIHUB_ENV_FILE": ""
    }
    env.update(
        {
            "PYTHONPATH": str(REPO / "src"),
            "UNIHUB_DATA_DIR": str(data_dir),
            # The suite's key: on PostgreSQL the servers share the suite's database.
            "UNIHUB_SECRET_KEY": "test-secret-key",
            "UNIHUB_ALLOW_PRIVATE_WEBHOOKS": "true",
            "UNIHUB_RATE_LIMIT": "off",
            "UNIHUB_LOG_LEVEL": "DEBUG",
        }
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "unihub.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return out.stdout


@dataclass
class Served:
    base_url: str
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    env: dict[str, str]
    port: int
    tokens: dict[str, str] = field(default_factory=dict)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def serve(env: dict[str, str], port: int | None = None) -> Served:
    port = port or free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="unihub-served-"))
    stderr_path = log_dir / "stderr.log"
    with open(log_dir / "stdout.log", "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "unihub.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=err,
        )
    served = Served(f"http://127.0.0.1:{port}", proc, stderr_path, env, port)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {served.stderr()[-2000:]}")
        try:
            if httpx.get(f"{served.base_url}/healthz", timeout=1).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            served.kill()
            raise RuntimeError("server did not start")
        time.sleep(0.05)


def new_tenant(env: dict[str, str], name: str = "served") -> dict[str, Any]:
    created: dict[str, Any] = json.loads(cli(env, "tenants", "create", "--name", name))
    return created


def token(base_url: str, client: dict[str, str]) -> str:
    r = httpx.post(
        f"{base_url}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": client["clientSecret"],
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    value: str = r.json()["access_token"]
    return value


def scratch_env(**extra: str) -> dict[str, str]:
    """A fresh data dir; PostgreSQL when the suite runs on it (the shared test database)."""
    data_dir = Path(tempfile.mkdtemp(prefix="unihub-served-data-"))
    url = os.environ.get("UNIHUB_TEST_DATABASE_URL")
    if url:
        extra.setdefault("UNIHUB_DATABASE_URL", url)
    return server_env(data_dir, **extra)
