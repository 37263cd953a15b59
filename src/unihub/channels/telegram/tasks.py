"""Telegram's periodic work: forget inline buttons too old to be pressed usefully."""

from __future__ import annotations

from datetime import datetime, timedelta

from unihub.channels.telegram import repository as repo
from unihub.core.context import AppContext
from unihub.core.tasks import PeriodicTask

# A press of an older button is only answered (its spinner stops), not turned into a reply.
BUTTONS_KEPT = timedelta(days=90)


async def purge_buttons(ctx: AppContext, now: datetime) -> int:
    return await repo.purge_buttons(ctx.db, now - BUTTONS_KEPT)


TASKS = (PeriodicTask("purge Telegram buttons", timedelta(hours=1), purge_buttons),)
