"""What an operator can get wrong, said in plain words: one line on stderr, no traceback.

Exit codes: 2 for a usage or configuration mistake (a bad setting, an unknown revision), 1 for
a failure at run time (the database cannot be reached, the schema is not where it must be).
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import socket
import sqlite3
import sys
from typing import NoReturn

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from unihub.core.config import Settings
from unihub.core.migrate import InvalidTarget, SchemaError

USAGE = 2
FAILURE = 1
# Settings whose values are not repeated back (they may carry passwords).
_SENSITIVE = ("secret", "url", "key", "password")


class OperatorError(Exception):
    def __init__(self, message: str, code: int = FAILURE) -> None:
        super().__init__(message)
        self.code = code


def env_name(field: str) -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    return f"{prefix}{field}".upper()


def settings_problems(exc: ValidationError) -> list[str]:
    """One phrase per bad setting: `UNIHUB_PORT='abc': not a valid integer`."""
    problems = []
    for err in exc.errors():
        reason = str(err["msg"]).removeprefix("Value error, ")
        if not err["loc"]:
            # A check across settings (the key list): its message names them; the input is
            # every setting, secrets included, so it is never shown.
            problems.append(reason)
            continue
        field = str(err["loc"][0])
        name = env_name(field)
        shown = "" if any(word in field for word in _SENSITIVE) else f"={err.get('input')!r}"
        problems.append(f"{name}{shown}: {reason[:1].lower()}{reason[1:]}")
    return problems


def safe_url(url: str) -> str:
    """A database URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )
    return found


def _is_database_error(exc: BaseException) -> bool:
    for link in _chain(exc):
        if isinstance(link, DBAPIError | PoolTimeout | sqlite3.Error | ConnectionError):
            return True
        if isinstance(link, OSError) and link.filename is None:
            return True  # sockets: refused, unreachable, unknown host, timed out
        if type(link).__module__.startswith("asyncpg"):
            return True
    return False


def plain_reason(exc: BaseException) -> str:
    """The innermost cause in a few words: `connection refused`, `database "x" does not exist`."""
    links = _chain(exc)
    for link in reversed(links):
        if isinstance(link, socket.gaierror):
            return f"unknown host ({link.strerror})"
        if isinstance(link, TimeoutError):
            return "timed out"
        if isinstance(link, ConnectionRefusedError):
            return "connection refused (is the server running, on that host and port?)"
        if isinstance(link, OSError) and link.strerror:
            return link.strerror[:1].lower() + link.strerror[1:]
    innermost = links[-1]
    text = str(innermost).strip().splitlines()
    return text[0] if text else type(innermost).__name__


def explain(exc: BaseException, settings: Settings | None) -> tuple[str, int] | None:
    """(message, exit code) for what an operator can fix; None for a bug."""
    if isinstance(exc, OperatorError):
        return str(exc), exc.code
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        problems = settings_problems(exc)
        label = "invalid setting" if len(problems) == 1 else "invalid settings"
        return f"{label}: {'; '.join(problems)}", USAGE
    if isinstance(exc, InvalidTarget):
        return str(exc), USAGE
    if isinstance(exc, SchemaError):
        return str(exc), FAILURE
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return f"UNIHUB_DATABASE_URL is not a usable database URL: {exc}", USAGE
    if isinstance(exc, PermissionError | FileNotFoundError | IsADirectoryError) and exc.filename:
        return f"cannot use {exc.filename}: {(exc.strerror or str(exc)).lower()}", FAILURE
    if _is_database_error(exc):
        where = safe_url(settings.resolved_database_url) if settings else "the database"
        return f"cannot use the database {where}: {plain_reason(exc)}", FAILURE
    return None


def fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"unihub: {message}\n")
    sys.stderr.flush()
    raise SystemExit(code)
