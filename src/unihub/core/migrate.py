"""Schema migrations, shipped inside the package so any working directory works."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

from unihub.core.config import Settings

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(settings: Settings) -> None:
    """Apply pending migrations (idempotent). Safe to call from inside a running event loop."""
    if settings.is_sqlite:
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(settings.resolved_database_url)
    # env.py runs its own event loop; a thread keeps that legal when a loop is already running.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            command.upgrade(cfg, "head")
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    t = threading.Thread(target=run, name="unihub-migrate")
    t.start()
    t.join()
    if errors:
        raise errors[0]
