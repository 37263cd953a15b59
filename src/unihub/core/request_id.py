"""Request ids: echoed when sane, else made; set by the outermost (observability) layer."""

from __future__ import annotations

import itertools
import re
import uuid
from contextvars import ContextVar

from starlette.types import Scope

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
HEADER = "X-Request-Id"
SANE_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"
_SANE_ID = re.compile(SANE_PATTERN)


# Unique, not secret: a random per-process prefix and a counter (uuid4 costs a syscall).
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)


def _new_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def request_id(scope: Scope) -> str:
    """A sane incoming `X-Request-Id`, else a new one."""
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _SANE_ID.match(incoming) else _new_id()
    return _new_id()
