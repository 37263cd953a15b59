"""The `unihub` command as an operator runs it: separate processes, a fresh data dir."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

UNIHUB = [sys.executable, "-m", "unihub.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIHUB_")} | {
        "UNIHUB_ENV_FILE": ""
    }
    env["UNIHUB_DATA_DIR"] = str(tmp_path / "data")
    env["UNIHUB_SECRET_KEY"] = "cli-test-key"
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_tenants_create_prints_exactly_one_json_object(tmp_path: Path) -> None:
    # A fresh data dir: the command applies the migrations itself, from another directory.
    result = subprocess.run(
        [*UNIHUB, "tenants", "create", "--name", "Acme"],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    body = json.loads(lines[0])
    assert set(body) == {"tenantId", "name", "clients"}
    assert body["name"] == "Acme"
    hex_id = body["tenantId"].replace("-", "")
    assert body["clients"]["portal"]["clientId"] == f"unihub.portal.api.{hex_id}"
    assert body["clients"]["engine"]["clientId"] == f"unihub.engine.api.{hex_id}"
    assert len(body["clients"]["portal"]["clientSecret"]) >= 43


def test_tenants_create_rejects_blank_name(tmp_path: Path) -> None:
    result = subprocess.run(
        [*UNIHUB, "tenants", "create", "--name", "  "],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""


def test_first_start_bootstraps_and_prints_credentials_once(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path, UNIHUB_PORT=str(port))

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*UNIHUB, "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def wait_ready() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("server did not become ready")

    proc = start()
    try:
        wait_ready()
        assert proc.stdout is not None
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    creds_line = next(line for line in out.splitlines() if line.startswith("{"))
    creds = json.loads(creds_line)
    saved = tmp_path / "data" / "bootstrap-credentials.json"
    assert json.loads(saved.read_text()) == creds
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    # The printed credentials work against a second start, which prints nothing new.
    proc = start()
    try:
        wait_ready()
        portal = creds["clients"]["portal"]
        r = httpx.post(
            f"http://127.0.0.1:{port}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": portal["clientId"],
                "client_secret": portal["clientSecret"],
            },
        )
        assert r.status_code == 200
        proc.terminate()
        out2, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert "clientSecret" not in out2
