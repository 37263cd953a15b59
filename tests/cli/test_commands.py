"""`unihub --version`, `db current|history|upgrade|downgrade`, `tenants list`, and the plain
one-line errors an operator gets for what they can get wrong (no traceback)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.cli.conftest import PG
from tests.cli.procs import ok, plain_failure, run
from tests.middleware.served import free_port
from unihub import __version__
from unihub.core.migrate import revisions

CHAIN = [r.id for r in revisions()]
HEAD = CHAIN[-1]


def test_version(fresh_env: dict[str, str]) -> None:
    done = run(fresh_env, "--version")
    assert done.returncode == 0
    assert done.stdout == f"unihub {__version__}\n"


def test_db_current_upgrade_downgrade_and_history(fresh_env: dict[str, str]) -> None:
    env = fresh_env
    assert ok(env, "db", "current") == f"none (no schema yet; {len(CHAIN)} migrations pending)\n"

    done = run(env, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert f"database schema created (revision {HEAD})" in done.stderr
    assert ok(env, "db", "current") == f"{HEAD} (head)\n"
    assert "up to date" in run(env, "db", "upgrade").stderr

    middle = CHAIN[-3]
    done = run(env, "db", "downgrade", middle)
    assert done.returncode == 0, done.stderr
    assert f"downgraded from revision {HEAD} to {middle}" in done.stderr
    assert ok(env, "db", "current") == f"{middle} (2 pending: {CHAIN[-2]}, {HEAD})\n"

    history = ok(env, "db", "history").splitlines()
    assert [line.split()[0] for line in history] == CHAIN
    assert history[-3].endswith("(current)")
    assert history[-1].endswith("(head)")

    # Commands that need the database bring it back to head themselves.
    assert json.loads(ok(env, "tenants", "list")) == []
    assert ok(env, "db", "current") == f"{HEAD} (head)\n"
    assert ok(env, "db", "history").splitlines()[-1].endswith("(current, head)")


def test_downgrade_refuses_unknown_and_newer_revisions(fresh_env: dict[str, str]) -> None:
    line = plain_failure(run(fresh_env, "db", "downgrade", "9999"), 2)
    assert "unknown revision '9999'" in line and "db history" in line
    ok(fresh_env, "db", "upgrade")
    ok(fresh_env, "db", "downgrade", CHAIN[-2])
    line = plain_failure(run(fresh_env, "db", "downgrade", HEAD), 2)
    assert f"revision {HEAD} is newer than the database's {CHAIN[-2]}" in line


def test_downgrade_to_base_and_back(fresh_env: dict[str, str]) -> None:
    ok(fresh_env, "db", "upgrade")
    done = run(fresh_env, "db", "downgrade", "base")
    assert done.returncode == 0, done.stderr
    assert ok(fresh_env, "db", "current").startswith("none ")
    ok(fresh_env, "db", "upgrade")
    assert ok(fresh_env, "db", "current") == f"{HEAD} (head)\n"


def test_tenants_list_prints_one_json_array_without_secrets(fresh_env: dict[str, str]) -> None:
    a = json.loads(ok(fresh_env, "tenants", "create", "--name", "Acme"))
    b = json.loads(ok(fresh_env, "tenants", "create", "--name", "Beta"))
    out = ok(fresh_env, "tenants", "list")
    assert out.count("\n") == 1
    listed = json.loads(out)
    assert [t["tenantId"] for t in listed] == [a["tenantId"], b["tenantId"]]
    for created, item in zip((a, b), listed, strict=True):
        assert set(item) == {"tenantId", "name", "createdAt", "clients"}
        assert item["name"] == created["name"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", item["createdAt"])
        assert item["clients"] == {
            side: {"clientId": created["clients"][side]["clientId"]}
            for side in ("portal", "engine")
        }
        for side in ("portal", "engine"):
            assert created["clients"][side]["clientSecret"] not in out
    assert "ecret" not in out


@pytest.mark.parametrize(
    "args", [["db", "upgrade"], ["db", "current"], ["tenants", "list"], ["serve"]]
)
def test_a_bad_setting_is_one_plain_line(fresh_env: dict[str, str], args: list[str]) -> None:
    line = plain_failure(run({**fresh_env, "UNIHUB_PORT": "abc"}, *args), 2)
    assert line.startswith("unihub: invalid setting: UNIHUB_PORT='abc': ")
    assert "integer" in line


def test_every_bad_setting_is_named(fresh_env: dict[str, str]) -> None:
    env = {**fresh_env, "UNIHUB_LOG_LEVEL": "loud", "UNIHUB_MAX_BODY_BYTES": "0"}
    line = plain_failure(run(env, "db", "upgrade"), 2)
    assert "UNIHUB_LOG_LEVEL='loud': must be one of DEBUG, INFO" in line
    assert "UNIHUB_MAX_BODY_BYTES='0': input should be greater than or equal to 1" in line
    assert line.startswith("unihub: invalid settings: ")


@pytest.mark.parametrize("args", [["db", "upgrade"], ["tenants", "list"], ["serve"]])
def test_an_unreachable_database_is_one_plain_line(
    fresh_env: dict[str, str], args: list[str]
) -> None:
    # A closed port on this machine: PostgreSQL is not listening there.
    url = f"postgresql+asyncpg://unihub:hunter2@127.0.0.1:{free_port()}/unihub"
    line = plain_failure(run({**fresh_env, "UNIHUB_DATABASE_URL": url}, *args), 1)
    assert "cannot use the database postgresql+asyncpg://unihub:***@127.0.0.1:" in line
    assert "connection refused" in line
    assert "hunter2" not in line


@pytest.mark.skipif(not PG, reason="a PostgreSQL server to refuse the database name")
def test_a_missing_postgresql_database_is_one_plain_line(fresh_env: dict[str, str]) -> None:
    url = fresh_env["UNIHUB_DATABASE_URL"].rsplit("/", 1)[0] + "/no_such_database"
    line = plain_failure(run({**fresh_env, "UNIHUB_DATABASE_URL": url}, "db", "current"), 1)
    assert 'database "no_such_database" does not exist' in line


def test_an_unusable_database_url_is_a_usage_error(fresh_env: dict[str, str]) -> None:
    line = plain_failure(run({**fresh_env, "UNIHUB_DATABASE_URL": "nonsense"}, "db", "upgrade"), 2)
    assert "UNIHUB_DATABASE_URL" in line


def _pretend_a_newer_release_migrated(env: dict[str, str]) -> None:
    """What a newer release's migration leaves behind: a revision this one does not know."""
    if PG:
        import asyncio

        import asyncpg

        async def bump() -> None:
            url = env["UNIHUB_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
            conn = await asyncpg.connect(url)
            try:
                await conn.execute("UPDATE alembic_version SET version_num = '9001'")
            finally:
                await conn.close()

        asyncio.run(bump())
        return
    db = sqlite3.connect(Path(env["UNIHUB_DATA_DIR"]) / "unihub.db")
    db.execute("UPDATE alembic_version SET version_num = '9001'")
    db.commit()
    db.close()


def test_a_schema_from_a_newer_release_is_refused(fresh_env: dict[str, str]) -> None:
    ok(fresh_env, "db", "upgrade")
    _pretend_a_newer_release_migrated(fresh_env)
    for args in (["db", "upgrade"], ["serve"], ["serve", "--no-migrate"]):
        line = plain_failure(run(fresh_env, *args), 1)
        assert "revision 9001, which this release of unihub does not know" in line, args
    done = run(fresh_env, "db", "current")
    assert done.returncode == 1
    assert done.stdout == f"9001 (unknown to this release, whose newest is {HEAD})\n"
