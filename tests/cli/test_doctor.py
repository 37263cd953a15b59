"""`unihub doctor` against real things: closed ports, a bad setting, a real database (SQLite,
or the suite's PostgreSQL on its pass), Redis, and a served unihub behind the public URL."""

from __future__ import annotations

import json
import os
import subprocess

import httpx

from tests.cli.conftest import PG
from tests.cli.procs import ok, run, start
from tests.middleware.served import free_port
from unihub.core.migrate import revisions

HEAD = revisions()[-1].id
NAMES = ["settings", "database", "schema", "secret key", "redis", "public URL"]


def checks(done: subprocess.CompletedProcess[str]) -> dict[str, tuple[str, str]]:
    """{check: (status, reason)} from doctor's lines, after checking their shape."""
    assert "Traceback" not in done.stderr, done.stderr
    found = {}
    for line in done.stdout.splitlines():
        status, rest = line[:5].strip(), line[6:]
        name, _, reason = rest.partition(": ")
        assert status in ("ok", "warn", "FAIL"), line
        assert reason, line
        found[name] = (status, reason)
    return found


def test_a_fresh_install_has_only_warnings(fresh_env: dict[str, str]) -> None:
    env = {k: v for k, v in fresh_env.items() if k != "UNIHUB_SECRET_KEY"}
    done = run(env, "doctor")
    found = checks(done)
    assert list(found) == NAMES
    assert done.returncode == 0, done.stdout
    assert found["settings"][0] == "ok"
    assert found["schema"][0] == "warn"
    assert (
        found["secret key"][0] == "warn" and "UNIHUB_SECRET_KEY is unset" in found["secret key"][1]
    )
    assert found["public URL"][0] == "warn"
    if not PG:
        assert found["database"][0] == "warn" and "no database yet" in found["database"][1]
        # The doctor creates nothing: no database file, no generated key.
        assert not os.path.exists(env["UNIHUB_DATA_DIR"])
    else:
        assert found["database"] == ("ok", found["database"][1])
        assert found["database"][1].startswith("PostgreSQL ")


def test_a_bad_setting_fails_and_nothing_else_is_tried(fresh_env: dict[str, str]) -> None:
    done = run({**fresh_env, "UNIHUB_PORT": "abc"}, "doctor")
    found = checks(done)
    assert done.returncode == 1
    assert found["settings"][0] == "FAIL"
    assert "UNIHUB_PORT='abc'" in found["settings"][1]
    done = run({**fresh_env, "UNIHUB_RATE_LIMIT": "lots"}, "doctor")
    assert done.returncode == 1
    assert "UNIHUB_RATE_LIMIT='lots': not a rate" in checks(done)["settings"][1]


def test_closed_ports_fail_in_plain_words(fresh_env: dict[str, str]) -> None:
    env = {
        **fresh_env,
        "UNIHUB_DATABASE_URL": f"postgresql+asyncpg://u:hunter2@127.0.0.1:{free_port()}/x",
        "UNIHUB_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "UNIHUB_PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
    }
    done = run(env, "doctor", timeout=60)
    found = checks(done)
    assert done.returncode == 1
    assert list(found) == NAMES
    assert found["database"][0] == "FAIL" and "connection refused" in found["database"][1]
    assert "hunter2" not in done.stdout
    assert found["schema"][0] == "FAIL"
    assert found["redis"][0] == "FAIL" and "connection refused" in found["redis"][1]
    assert found["public URL"][0] == "warn" and "does not answer" in found["public URL"][1]


def test_a_public_url_that_is_no_url_fails(fresh_env: dict[str, str]) -> None:
    done = run({**fresh_env, "UNIHUB_PUBLIC_URL": "hub.example.com"}, "doctor")
    assert done.returncode == 1
    assert checks(done)["public URL"][0] == "FAIL"


def test_a_served_install_is_healthy_and_a_wrong_key_fails(fresh_env: dict[str, str]) -> None:
    redis_url = os.environ.get("UNIHUB_TEST_REDIS_URL")
    env = {**fresh_env, "UNIHUB_SECRET_KEY": "a-long-enough-secret-key-for-tests"}
    if redis_url:
        env["UNIHUB_REDIS_URL"] = redis_url
    server = start(env)
    try:
        server.wait_ready()
        creds = json.loads(server.stdout().splitlines()[1])
        portal = creds["clients"]["portal"]
        # The first token stores the (encrypted) signing key.
        r = httpx.post(
            f"{server.base_url}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": portal["clientId"],
                "client_secret": portal["clientSecret"],
            },
            timeout=30,
        )
        assert r.status_code == 200, r.text
        env["UNIHUB_PUBLIC_URL"] = server.base_url
        done = run(env, "doctor")
        found = checks(done)
        assert done.returncode == 0, done.stdout
        assert found["schema"] == ("ok", f"at revision {HEAD} (this release's newest)")
        assert found["secret key"][0] == "ok"
        assert "decrypts the stored signing keys" in found["secret key"][1]
        assert found["public URL"] == ("ok", f"GET {server.base_url}/healthz answered 200")
        if redis_url:
            assert found["redis"][0] == "ok" and found["redis"][1].startswith("answers at")
        if PG:
            assert found["database"][1].startswith("PostgreSQL ")

        done = run({**env, "UNIHUB_SECRET_KEY": "another-key-than-the-one-it-was"}, "doctor")
        assert done.returncode == 1
        status, reason = checks(done)["secret key"]
        assert status == "FAIL" and "does not decrypt the token signing keys" in reason

        # Mid-rotation: a new key first, the one the data was written with after it.
        rotating = {
            **env,
            "UNIHUB_SECRET_KEY": "",
            "UNIHUB_SECRET_KEYS": "the-new-key-for-rotation-tests,"
            "a-long-enough-secret-key-for-tests",
        }
        done = run(rotating, "doctor")
        assert done.returncode == 0, done.stdout
        status, reason = checks(done)["secret key"]
        assert status == "warn" and "2 keys configured" in reason, reason
        assert "decrypts the stored signing keys" in reason
        assert "the-new-key" not in done.stdout + done.stderr
    finally:
        server.stop()


def test_a_schema_behind_head_warns(fresh_env: dict[str, str]) -> None:
    chain = [r.id for r in revisions()]
    ok(fresh_env, "db", "upgrade")
    ok(fresh_env, "db", "downgrade", chain[-2])
    found = checks(run(fresh_env, "doctor"))
    assert found["schema"][0] == "warn"
    assert f"at revision {chain[-2]}, 1 pending ({HEAD})" in found["schema"][1]
