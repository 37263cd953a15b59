"""`unihub serve` as a process: its one start line, uvicorn's own logs in JSON, the forwarded
client address behind a proxy (rate limit and logs), `--log-level` and `--no-migrate`."""

from __future__ import annotations

import socket
import time

import httpx

from tests.cli.procs import Server, json_lines, ok, plain_failure, run, start
from unihub.cli.errors import safe_url
from unihub.core.migrate import revisions

HEAD = revisions()[-1].id


def _database(env: dict[str, str]) -> str:
    url = (
        env.get("UNIHUB_DATABASE_URL") or f"sqlite+aiosqlite:///{env['UNIHUB_DATA_DIR']}/unihub.db"
    )
    return safe_url(url)


def _wait_for(server: Server, text: str) -> None:
    deadline = time.monotonic() + 30
    while text not in server.stderr():
        assert time.monotonic() < deadline, f"{text!r} never logged: {server.stderr()[-2000:]}"
        time.sleep(0.1)


def test_every_log_line_is_json_uvicorn_included(fresh_env: dict[str, str]) -> None:
    # Two workers: uvicorn configures logging again in each process it starts.
    server = start(fresh_env, "--workers", "2")
    try:
        server.wait_ready()
        # Not HTTP: uvicorn (httptools) answers 400 and logs a warning of its own.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            raw.recv(1024)
        _wait_for(server, "Invalid HTTP request received.")
    finally:
        assert server.stop() == 0
    lines = json_lines(server.stderr())
    invalid = [e for e in lines if e["msg"] == "Invalid HTTP request received."]
    assert invalid and invalid[0]["logger"] == "uvicorn.error"
    assert invalid[0]["level"] == "warning"
    started = [e for e in lines if e["logger"] == "unihub.serve" and "listening" in e["msg"]]
    assert len(started) == 1
    url = f"http://127.0.0.1:{server.port}"
    assert started[0]["msg"].startswith("unihub ")
    assert (
        f"listening on {url} with database {_database(fresh_env)} (schema {HEAD})"
        in (started[0]["msg"])
    )
    assert started[0]["listen"] == url and started[0]["workers"] == 2
    # stdout: only the default tenant's credentials, on this first start.
    out = server.stdout().splitlines()
    assert len(out) == 2 and out[0].startswith("Created the default tenant.")
    json_lines(out[1])


def _started(server: Server) -> dict[str, object]:
    """The one line `serve` says where it listens with."""
    (line,) = [
        e
        for e in json_lines(server.stderr())
        if e["logger"] == "unihub.serve" and "listening" in e["msg"]
    ]
    return line


def _anonymous(server: Server, forwarded_for: str) -> int:
    r = httpx.get(
        f"{server.base_url}/api/v1/hubs", headers={"X-Forwarded-For": forwarded_for}, timeout=30
    )
    return r.status_code


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(fresh_env: dict[str, str]) -> None:
    env = {**fresh_env, "UNIHUB_RATE_LIMIT": "3/hour"}
    server = start(env, "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1")
    try:
        server.wait_ready()
        assert [_anonymous(server, "203.0.113.7") for _ in range(4)] == [401, 401, 401, 429]
        # Another client behind the same proxy is not limited by the first one's requests.
        assert _anonymous(server, "203.0.113.8") == 401
    finally:
        server.stop()
    access = [e for e in json_lines(server.stderr()) if e["logger"] == "unihub.access"]
    assert [e["clientIp"] for e in access if e["path"] == "/api/v1/hubs"] == [
        *["203.0.113.7"] * 4,
        "203.0.113.8",
    ]
    started = _started(server)
    assert started["proxyHeaders"] is True
    assert "trusting X-Forwarded-* from 127.0.0.1" in started["msg"]


def test_forwarded_headers_of_an_untrusted_peer_are_ignored(fresh_env: dict[str, str]) -> None:
    # Through the settings this time; the proxy trusted is not the peer these requests come from.
    env = {
        **fresh_env,
        "UNIHUB_RATE_LIMIT": "3/hour",
        "UNIHUB_PROXY_HEADERS": "true",
        "UNIHUB_FORWARDED_ALLOW_IPS": "10.9.9.9",
    }
    server = start(env)
    try:
        server.wait_ready()
        statuses = [_anonymous(server, f"203.0.113.{i}") for i in range(1, 5)]
        assert statuses == [401, 401, 401, 429]  # one bucket: the peer's
    finally:
        server.stop()
    access = [e for e in json_lines(server.stderr()) if e["logger"] == "unihub.access"]
    assert {e["clientIp"] for e in access} == {"127.0.0.1"}


def test_log_level_option_wins_over_the_setting(fresh_env: dict[str, str]) -> None:
    server = start({**fresh_env, "UNIHUB_LOG_LEVEL": "INFO"}, "--log-level", "warning")
    try:
        server.wait_ready(logs_access=False)
        assert httpx.get(f"{server.base_url}/healthz", timeout=30).status_code == 200
    finally:
        server.stop()
    lines = json_lines(server.stderr())
    # The start line is always there; the access log (INFO) is not at WARNING.
    assert [e["msg"] for e in lines if e["level"] == "info"] == [_started(server)["msg"]]


def test_no_migrate_serves_only_a_current_schema(fresh_env: dict[str, str]) -> None:
    line = plain_failure(run(fresh_env, "serve", "--no-migrate"), 1)
    assert f"the database has no schema, this unihub needs {HEAD}" in line
    assert "unihub db upgrade" in line
    assert ok(fresh_env, "db", "current").startswith("none ")  # nothing was migrated

    chain = [r.id for r in revisions()]
    ok(fresh_env, "db", "upgrade")
    ok(fresh_env, "db", "downgrade", chain[-2])
    line = plain_failure(run(fresh_env, "serve", "--no-migrate"), 1)
    assert f"the database is at revision {chain[-2]}, this unihub needs {HEAD}" in line

    ok(fresh_env, "db", "upgrade")
    server = start(fresh_env, "--no-migrate")
    try:
        server.wait_ready()
    finally:
        server.stop()
    assert f"(schema {HEAD})" in str(_started(server)["msg"])


def test_a_port_in_use_is_one_plain_line(fresh_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = plain_failure(run(fresh_env, "serve", "--port", str(port)), 1)
    assert line == f"unihub: cannot listen on http://127.0.0.1:{port}: address already in use"
    assert ok(fresh_env, "db", "current").startswith("none ")  # it stopped before migrating


def test_a_bad_log_level_is_a_usage_error(fresh_env: dict[str, str]) -> None:
    done = run(fresh_env, "serve", "--log-level", "loud")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "'loud' is not one of" in done.stderr
