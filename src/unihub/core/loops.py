"""State that belongs to one asyncio event loop (locks, timers, connection pools).

A process serves from one loop, but tests and tools drive one app or database from several;
such state must never cross loops. `PerLoop` keeps one value per running loop and forgets it
with the loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    def __init__(self, factory: Callable[[asyncio.AbstractEventLoop], T]) -> None:
        self._factory = factory
        self._values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )
        # The last loop's value, without a weak-reference lookup: this runs on hot paths.
        self._last: tuple[asyncio.AbstractEventLoop, T] | None = None

    def get(self) -> T:
        """The running loop's value, made on first use."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]
        value = self._values.get(loop)
        if value is None:
            value = self._values[loop] = self._factory(loop)
        self._last = (loop, value)
        return value

    def pop(self) -> T | None:
        """Forget the running loop's value, returning it if there was one."""
        loop = asyncio.get_running_loop()
        if self._last is not None and self._last[0] is loop:
            self._last = None
        return self._values.pop(loop, None)
