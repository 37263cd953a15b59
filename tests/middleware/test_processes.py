"""Tests across a real process boundary: SIGKILL mid-writes, shared Redis limits, log secrecy."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from tests.middleware.served import new_tenant, scratch_env, serve, token


def test_sigkill_mid_writes_leaves_no_partial_rows():
    env = scratch_env()
    tenant = new_tenant(env, "kill-9")
    server = serve(env)
    acknowledged: list[str] = []
    enough = threading.Event()
    stop = threading.Event()

    def writer(worker: int) -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            headers = {
                "Authorization": f"Bearer {token(server.base_url, tenant['clients']['portal'])}"
            }
            i = 0
            while not stop.is_set():
                i += 1
                body = {"name": f"w{worker}-{i}", "description": "x" * 500}
                try:
                    r = c.post("/api/v1/hubs", headers=headers, json=body)
                except httpx.TransportError:
                    return  # the server died under us
                if r.status_code == 200:
                    acknowledged.append(r.json()["hubId"])
                    if len(acknowledged) >= 40:
                        enough.set()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        assert enough.wait(timeout=120), server.stderr()[-2000:]
        server.kill()  # SIGKILL while four writers are mid-request
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.kill()

    if "UNIHUB_DATABASE_URL" not in env:
        db_file = Path(env["UNIHUB_DATA_DIR"]) / "unihub.db"
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    restarted = serve(env)
    try:
        headers = {
            "Authorization": f"Bearer {token(restarted.base_url, tenant['clients']['portal'])}"
        }
        with httpx.Client(base_url=restarted.base_url, timeout=30) as c:
            hubs = []
            page = 0
            while True:
                r = c.get(
                    "/api/v1/hubs", headers=headers, params={"pageNumber": page, "pageSize": 100}
                )
                assert r.status_code == 200
                hubs += r.json()["results"]
                if len(hubs) >= r.json()["total"]:
                    break
                page += 1
        ids = {h["hubId"] for h in hubs}
        assert set(acknowledged) <= ids  # every acknowledged create survived
        for hub in hubs:  # and every stored row is whole
            assert hub["description"] == "x" * 500
            assert hub["name"].startswith("w") and hub["created"] and hub["modified"]
    finally:
        restarted.stop()


@pytest.mark.skipif(not os.environ.get("UNIHUB_TEST_REDIS_URL"), reason="needs Redis")
def test_rate_limit_holds_across_two_processes_sharing_redis():
    redis_url = os.environ["UNIHUB_TEST_REDIS_URL"]
    # A limit no test run reaches by accident; the namespace is fresh per run via the client id.
    env = scratch_env(UNIHUB_RATE_LIMIT="10/hour", UNIHUB_REDIS_URL=redis_url)
    tenant = new_tenant(env, "redis-shared")
    first = serve(env)
    second = serve(env)
    try:
        bearer = token(first.base_url, tenant["clients"]["portal"])
        headers = {"Authorization": f"Bearer {bearer}"}
        statuses = []
        for i in range(14):
            base = first.base_url if i % 2 == 0 else second.base_url
            statuses.append(httpx.get(f"{base}/api/v1/hubs", headers=headers, timeout=30))
        codes = [r.status_code for r in statuses]
        # Each process alone would allow 10; together they allow 10 in all.
        assert codes == [200] * 10 + [429] * 4, codes
        assert statuses[-1].json()["errors"][0]["code"] == 111
        assert int(statuses[-1].headers["retry-after"]) >= 1
    finally:
        first.stop()
        second.stop()


@pytest.mark.skipif(not os.environ.get("UNIHUB_TEST_REDIS_URL"), reason="needs Redis")
def test_failed_token_budget_is_shared_across_processes_through_redis():
    import redis

    redis_url = os.environ["UNIHUB_TEST_REDIS_URL"]
    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter("*token-failures:127.0.0.1*"):  # left by an earlier run
        store.delete(key)
    env = scratch_env(
        UNIHUB_RATE_LIMIT="1000/second",
        UNIHUB_TOKEN_FAILURE_LIMIT="6/hour",
        UNIHUB_REDIS_URL=redis_url,
    )
    first = serve(env)
    second = serve(env)
    try:
        statuses = []
        for i in range(8):
            base = first.base_url if i % 2 == 0 else second.base_url
            r = httpx.post(
                f"{base}/connect/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": f"unihub.portal.api.invented{i}",
                    "client_secret": "guess",
                },
                timeout=30,
            )
            statuses.append(r.status_code)
        # Each process alone would allow 6 failures; together they allow 6 in all.
        assert statuses == [401] * 6 + [429] * 2, statuses
    finally:
        first.stop()
        second.stop()
        for key in store.scan_iter("*token-failures:127.0.0.1*"):
            store.delete(key)


def test_no_secret_reaches_the_server_logs():
    env = scratch_env(UNIHUB_ACCESS_LOG="true")
    tenant = new_tenant(env, "log-secrecy")
    server = serve(env)
    secrets = [
        tenant["clients"]["portal"]["clientSecret"],
        tenant["clients"]["engine"]["clientSecret"],
    ]
    try:
        portal = token(server.base_url, tenant["clients"]["portal"])
        engine = token(server.base_url, tenant["clients"]["engine"])
        secrets += [portal, engine]
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            auth = {"Authorization": f"Bearer {portal}"}
            c.post(
                "/api/v1/hubs",
                headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
                json={"name": "logged", "description": "d"},
            )
            c.get("/api/v1/hubs", headers={"Authorization": f"Bearer {engine}"})  # 403
            c.get("/api/v1/hubs", headers={"Authorization": f"Bearer {portal}x"})  # 401
            c.get(f"/api/v1/hubs?access_token={portal}", headers=auth)
            c.post(  # a wrong secret that is one character off a real one
                "/connect/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": tenant["clients"]["portal"]["clientId"],
                    "client_secret": secrets[0][:-1],
                },
            )
            c.get("/does-not-exist", headers=auth)
    finally:
        server.stop()
    logs = server.stderr()
    assert '"logger":"unihub.access"' in logs  # the logs were really captured
    for secret in secrets:
        assert secret not in logs
        assert secret[:-1] not in logs
