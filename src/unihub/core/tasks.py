"""Periodic work, declared by the domain that owns it (its `tasks.py`) and run by the engine
runtime's worker loop in every process.

Each task must be safe to run in several processes at once (they all run it): the work is a
set-based UPDATE or DELETE whose second run finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from unihub.core.context import AppContext


@dataclass(frozen=True, slots=True)
class PeriodicTask:
    name: str
    every: timedelta
    # (context, the engine clock's now) -> how many things it did, for the log
    run: Callable[[AppContext, datetime], Awaitable[int]]
