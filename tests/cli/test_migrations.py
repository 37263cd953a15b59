"""The migration chain is one line in the documented order, and processes starting together
over one fresh database (PostgreSQL on its pass, a shared SQLite file otherwise) migrate it
once, under the lock, and bootstrap the default tenant once."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from alembic.script import ScriptDirectory

from tests.cli.procs import UNIHUB, ok, start
from unihub.core.migrate import alembic_config, revisions

REPO = Path(__file__).resolve().parents[2]
VERSIONS = REPO / "src" / "unihub" / "migrations" / "versions"
# Revisions whose number is lower than one applied before them (DEVELOPERS.md says why).
OUT_OF_ORDER = {"0005", "0006"}


def documented_chain() -> list[str]:
    text = (REPO / "DEVELOPERS.md").read_text()
    found = re.search(r"The chain, oldest first:\s*`([0-9 ]+)`", text)
    assert found, "DEVELOPERS.md lists the migration chain"
    return found.group(1).split()


def test_the_chain_is_linear_numbered_and_documented() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_bases()) == 1
    assert len(script.get_heads()) == 1
    chain = [r.id for r in revisions()]
    previous = None
    for rev_id in chain:
        rev = script.get_revision(rev_id)
        assert rev is not None
        assert rev.down_revision == previous, rev_id
        assert Path(rev.path).name.startswith(f"{rev_id}_"), rev.path
        previous = rev_id
    # Every file is in the chain (no stray branch).
    files = sorted(p.name for p in VERSIONS.glob("*.py"))
    assert len(files) == len(chain)
    assert chain == documented_chain()
    # Numbers only go up, but for the documented exceptions.
    for i, rev_id in enumerate(chain):
        if rev_id not in OUT_OF_ORDER:
            assert all(int(rev_id) > int(earlier) for earlier in chain[:i]), rev_id


def test_processes_upgrading_together_migrate_once(fresh_env: dict[str, str]) -> None:
    procs = [
        subprocess.Popen(
            [*UNIHUB, "db", "upgrade"],
            env=fresh_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in results] == [0] * 4, [err for _, _, err in results]
    said = sorted(err.strip() for _, _, err in results)
    head = revisions()[-1].id
    assert said == [
        f"database is up to date (revision {head})",
        f"database is up to date (revision {head})",
        f"database is up to date (revision {head})",
        f"database schema created (revision {head})",
    ]
    assert ok(fresh_env, "db", "current") == f"{head} (head)\n"


def test_servers_starting_together_create_one_default_tenant(fresh_env: dict[str, str]) -> None:
    servers = [start(fresh_env) for _ in range(3)]
    try:
        for server in servers:
            server.wait_ready()
    finally:
        for server in servers:
            server.stop()
    printed = [s for s in servers if "Created the default tenant." in s.stdout()]
    assert len(printed) == 1
    tenants = json.loads(ok(fresh_env, "tenants", "list"))
    assert [t["name"] for t in tenants] == ["default"]
    creds = json.loads(printed[0].stdout().splitlines()[1])
    assert creds["tenantId"] == tenants[0]["tenantId"]
