"""Drive `wrk` (installed from Debian when absent) and parse its `--latency` report."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua" / "request.lua"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    prefix = [] if _is_root() else ["sudo", "-n"]
    env = ["env", "DEBIAN_FRONTEND=noninteractive"]
    subprocess.run([*prefix, *env, "apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if not shutil.which("wrk"):
        subprocess.run([*prefix, *env, "apt-get", "update", "-qq"], check=True)
        subprocess.run([*prefix, *env, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


@dataclass
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers plus socket errors


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"unparsable latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse(output: str) -> WrkResult:
    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+(\S+)", output, re.M)
        return _ms(m.group(1)) if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return WrkResult(
        requests=int(total.group(1)) if total else 0,
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=pct("50"),
        p99_ms=pct("99"),
        errors=errors,
    )


def run(
    wrk: str,
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    unique: bool = False,
    duration_s: int,
    threads: int,
    connections: int,
) -> WrkResult:
    """`body` may contain `{u}`, replaced per request by a value unique across the run."""
    lines = [f"method\t{method}", f"unique\t{int(unique)}"]
    lines += [f"header\t{k}\t{v}" for k, v in (headers or {}).items()]
    if body:
        lines.append(f"body\t{body}")
    if any("\n" in line for line in lines):
        raise ValueError("wrk request spec values must be single-line")
    with tempfile.NamedTemporaryFile("w", suffix=".spec", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency"]
    cmd += ["-s", str(LUA), url, "--", fh.name]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=duration_s + 60)
    Path(fh.name).unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    return parse(done.stdout)
