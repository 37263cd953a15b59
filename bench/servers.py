"""Server processes under test: `unihub serve`, the bare-ASGI ceiling, the engine ceiling and
the engine bench's webhook receiver, on free ports."""

from __future__ import annotations

import json
import os
import shutil
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

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    workers: int
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serving_pids(self) -> list[int]:
        """The processes that answer requests: the workers, or the process itself alone."""
        if self.workers == 1:
            return [self.proc.pid]
        # `python -m` → uvicorn supervisor → workers (plus multiprocessing's resource tracker).
        kids = [p for p in _children(self.proc.pid) if _status_kb(p, "VmRSS") > 30_000]
        return kids or [self.proc.pid]

    def peak_rss_mb(self) -> float:
        return sum(_status_kb(p, "VmHWM") for p in self.serving_pids()) / 1024

    def rss_mb(self) -> float:
        return sum(_status_kb(p, "VmRSS") for p in self.serving_pids()) / 1024

    def bootstrap_credentials(self) -> dict[str, Any]:
        creds: dict[str, Any] = json.loads(
            (self.data_dir / "bootstrap-credentials.json").read_text()
        )
        return creds

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _wait_ready(server: Server, path: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}")
        try:
            if httpx.get(server.url + path, timeout=1.0).status_code == 200:
                # With several workers, give the others time to bind and load too.
                if server.workers > 1:
                    time.sleep(1.5)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not become ready")


def _python_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    # The checkout's own sources win over whatever the venv was installed from.
    env["PYTHONPATH"] = f"{ROOT / 'src'}:{ROOT}"
    env.update(extra)
    return env


def start_unihub(
    database_url: str | None,
    workers: int = 1,
    name: str = "unihub",
    extra_env: dict[str, str] | None = None,
    wrap: list[str] | None = None,
) -> Server:
    """`unihub serve`; `extra_env` adds settings, `wrap` prefixes the Python command line
    (e.g. `-m pyinstrument ...`)."""
    data_dir = Path(tempfile.mkdtemp(prefix="unihub-bench-"))
    port = free_port()
    extra = {
        "UNIHUB_DATA_DIR": str(data_dir),
        "UNIHUB_SECRET_KEY": SECRET_KEY,
        "UNIHUB_RATE_LIMIT": "off",
        "UNIHUB_ACCESS_LOG": "false",
        "UNIHUB_LOG_LEVEL": "WARNING",
        "UNIHUB_ALLOW_PRIVATE_WEBHOOKS": "true",
    }
    if database_url:
        extra["UNIHUB_DATABASE_URL"] = database_url
    extra.update(extra_env or {})
    env = _python_env(extra)
    # The caller's database and its durability must not leak into the server under test
    # (other settings may: `python -m bench` sets the fake Twilio's URL that way).
    for key in ("UNIHUB_DATABASE_URL", "UNIHUB_SQLITE_SYNCHRONOUS"):
        if key not in extra:
            env.pop(key, None)
    cmd = [sys.executable, *(wrap or []), "-m", "unihub.cli", "serve", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    # Server logs (e.g. wrk cutting connections mid-request at the end of a run) go to a file.
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, cwd=data_dir, stdout=subprocess.DEVNULL, stderr=log)
    server = Server(name, proc, port, workers, data_dir, extra)
    _wait_ready(server, "/healthz")
    return server


def start_ceiling(workers: int = 1) -> Server:
    """The bare ASGI app with the options `unihub serve` passes to uvicorn."""
    data_dir = Path(tempfile.mkdtemp(prefix="unihub-bench-ceiling-"))
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench.ceiling:app", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers), "--loop", "uvloop"]
    cmd += ["--http", "httptools", "--log-level", "warning", "--no-access-log"]
    cmd += ["--no-proxy-headers"]
    proc = subprocess.Popen(cmd, env=_python_env({}), cwd=ROOT, stdout=subprocess.DEVNULL)
    server = Server("ceiling", proc, port, workers, data_dir)
    _wait_ready(server, "/")
    return server


def _uvicorn(app: str, port: int, workers: int = 1, factory: bool = False) -> list[str]:
    """uvicorn with the options `unihub serve` passes (`unihub.cli.serve`)."""
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--loop", "uvloop", "--http", "httptools"]
    cmd += ["--log-level", "warning", "--no-access-log", "--no-proxy-headers"]
    return cmd + (["--factory"] if factory else [])


def start_engine_ceiling(extra_env: dict[str, str]) -> Server:
    """`bench.engine_ceiling` (one process), configured by its ENGINE_CEILING_ variables;
    a SQLite database goes into the server's scratch data dir unless a URL is given."""
    data_dir = Path(tempfile.mkdtemp(prefix="unihub-bench-engine-ceiling-"))
    port = free_port()
    env = dict(extra_env)
    env.setdefault("ENGINE_CEILING_DATABASE", str(data_dir / "ceiling.db"))
    cmd = _uvicorn("bench.engine_ceiling:create_app", port, factory=True)
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        cmd, env=_python_env(env), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log
    )
    server = Server("engine ceiling", proc, port, 1, data_dir, env)
    _wait_ready(server, "/healthz")
    return server


def start_receiver() -> Server:
    """The engine bench's webhook receiver (`bench.engine_receiver`), its own process."""
    data_dir = Path(tempfile.mkdtemp(prefix="unihub-bench-receiver-"))
    port = free_port()
    cmd = _uvicorn("bench.engine_receiver:app", port)
    proc = subprocess.Popen(cmd, env=_python_env({}), cwd=ROOT, stdout=subprocess.DEVNULL)
    server = Server("receiver", proc, port, 1, data_dir)
    _wait_ready(server, "/stats")
    return server
