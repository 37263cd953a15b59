"""Logging set-up: one JSON object per line on stderr, each carrying the request id.

uvicorn's own loggers (`uvicorn`, `uvicorn.error`, `uvicorn.access`) have no handlers of their
own: `uvicorn_log_config` makes them propagate to the root's JSON handler, in every worker
process uvicorn starts.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from unihub.core.config import Settings
from unihub.core.request_id import request_id_var


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "requestId": request_id_var.get(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def uvicorn_level(level: str) -> str:
    """uvicorn's start-up chatter is noise at INFO (`serve` prints its own line): its loggers
    show warnings and worse, everything when DEBUG is asked for."""
    number = logging.getLevelName(level.upper())
    if number == logging.DEBUG:
        return "DEBUG"
    return str(logging.getLevelName(max(number, logging.WARNING)))


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """`uvicorn.run(log_config=...)`: the root logger's one JSON handler for everything."""
    quiet = uvicorn_level(level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            # Alembic narrates every migration at INFO; `serve` says what changed in one line.
            name: {"handlers": [], "level": quiet, "propagate": True}
            for name in (*UVICORN_LOGGERS, "alembic")
        },
    }


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # Provider URLs may carry credentials (`?access_token=`): never log outbound requests.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
