"""Runtime code imports only what pyproject.toml's `dependencies` install.

`twilio` (signatures are `channels/twilio/signature.py`), `coredis` (limits' async-redis extra:
rate limits use redis-py) and `websockets` (the tests' client; uvicorn[standard] brings its
own for serving) are not runtime dependencies. The shared development environment has them
installed, so a fresh process refuses to import them and loads every unihub module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

SCRIPT = """
import importlib, pkgutil, sys
for name in ("twilio", "coredis", "websockets"):
    sys.modules[name] = None  # importing it now raises ImportError

import unihub
for module in pkgutil.walk_packages(unihub.__path__, "unihub."):
    if not module.name.startswith("unihub.migrations"):  # alembic's env.py runs on import
        importlib.import_module(module.name)

from unihub.middleware.ratelimit import make_storage
storage = make_storage("redis://127.0.0.1:1/0")  # limits' redispy implementation, no coredis
print(type(storage).__name__, sorted(m for m in ("twilio", "coredis") if sys.modules.get(m)))
"""


def test_runtime_imports_need_no_dev_or_dropped_packages() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIHUB_")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**env, "PYTHONPATH": SRC, "UNIHUB_ENV_FILE": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "RedisStorage []"
