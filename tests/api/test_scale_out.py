"""Two `unihub serve` processes over one database, as docs/deployment.md describes.

A token minted by one process is accepted by the other, and every write through one process
is visible to the very next read through the other (no per-process caches of hub data).
Runs on both passes: PostgreSQL (the production shape) and one shared SQLite file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TenantCreds, codes
from unihub.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
            "UNIHUB_DATABASE_URL": settings.resolved_database_url,
            "UNIHUB_SECRET_KEY": settings.secret_key or "",
            "UNIHUB_DATA_DIR": tempfile.mkdtemp(prefix="unihub-scale-"),
            "UNIHUB_RATE_LIMIT": "off",
            "UNIHUB_LOG_LEVEL": "WARNING",
        }
    )
    cmd = [sys.executable, "-m", "unihub.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(proc: subprocess.Popen[bytes], url: str) -> None:
    # Readiness wait, not a timing assertion: a generous bound only to avoid hanging forever.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"server exited ({proc.returncode}): {err[-2000:]}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


@pytest.fixture(scope="module")
def two_servers(settings: Settings) -> Iterator[tuple[str, str]]:
    started = [_start(settings), _start(settings)]
    try:
        for proc, url in started:
            _wait_ready(proc, url)
        yield started[0][1], started[1][1]
    finally:
        for proc, _ in started:
            proc.send_signal(signal.SIGINT)
        for proc, _ in started:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def test_token_from_one_process_works_on_the_other(
    two_servers: tuple[str, str], tenant: TenantCreds
) -> None:
    a, b = two_servers
    async with httpx.AsyncClient() as http:
        r = await http.post(
            a + "/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.portal_client_id,
                "client_secret": tenant.portal_secret,
            },
        )
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await http.get(b + "/api/v1/hubs", headers=bearer)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 0
        # Both processes publish the same signing keys.
        ka = (await http.get(a + "/.well-known/jwks.json")).json()
        kb = (await http.get(b + "/.well-known/jwks.json")).json()
        assert ka == kb and ka["keys"]


async def test_writes_through_one_process_are_read_through_the_other(
    two_servers: tuple[str, str], tenant: TenantCreds
) -> None:
    a, b = two_servers
    async with httpx.AsyncClient(headers=tenant.portal) as http:
        r = await http.post(a + "/api/v1/hubs", json={"name": "Shared", "description": "x"})
        assert r.status_code == 200, r.text
        hub = r.json()
        path = f"/api/v1/hubs/{hub['hubId']}"

        r = await http.get(b + path)
        assert r.status_code == 200
        assert r.json() == hub

        r = await http.put(b + path, json={"description": "changed on b", "statusId": 2002})
        assert r.status_code == 200
        r = await http.get(a + path)
        assert r.json()["description"] == "changed on b"
        assert r.json()["statusId"] == 2002

        listed = (await http.get(a + "/api/v1/hubs")).json()
        assert listed["total"] == 1 and listed["results"][0]["hubId"] == hub["hubId"]

        # A name taken through one process is a conflict through the other.
        r = await http.post(b + "/api/v1/hubs", json={"name": "shared", "description": "y"})
        assert r.status_code == 400 and codes(r) == [600]

        assert (await http.delete(a + path)).status_code == 200
        r = await http.get(b + path)
        assert r.status_code == 404 and codes(r) == [699]
        assert (await http.get(b + "/api/v1/hubs")).json()["total"] == 0
