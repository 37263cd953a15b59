"""`unihub` as an operator runs it: separate processes, their output read back whole."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.middleware.served import free_port

UNIHUB = [sys.executable, "-m", "unihub.cli"]


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*UNIHUB, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def ok(env: dict[str, str], *args: str) -> str:
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def plain_failure(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The operator's view of a mistake: one short line on stderr, nothing on stdout."""
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert lines[0].startswith("unihub: ")
    return lines[0]


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of `text` as JSON (fails on the first line that is not)."""
    out = []
    for line in text.splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"not a JSON line: {line!r}") from None
    return out


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    out_path: Path
    err_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90, *, logs_access: bool = True) -> None:
        """Until /readyz answers 200, from this very process: the probe's request id must
        show in its access log (another test's server may have taken a port picked free)."""
        probe = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.stderr()}")
            try:
                r = httpx.get(f"{self.base_url}/readyz", headers={"X-Request-Id": probe}, timeout=1)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError(f"serve did not become ready: {self.stderr()[-2000:]}")
        while logs_access and probe not in self.stderr():
            assert self.proc.poll() is None, f"serve exited: {self.stderr()[-2000:]}"
            assert time.monotonic() < deadline, f"port {self.port} answered by another server"
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


def start(env: dict[str, str], *args: str, port: int | None = None) -> Server:
    port = port or free_port()
    logs = Path(tempfile.mkdtemp(prefix="unihub-cli-serve-"))
    out, err = logs / "stdout.log", logs / "stderr.log"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [*UNIHUB, "serve", "--port", str(port), *args], env=env, stdout=o, stderr=e
        )
    return Server(proc, port, out, err)
