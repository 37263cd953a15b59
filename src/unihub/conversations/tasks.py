"""The conversations domain's periodic work."""

from __future__ import annotations

from datetime import datetime, timedelta

from unihub.conversations import repository as repo
from unihub.conversations.service import close_dormant
from unihub.core.context import AppContext
from unihub.core.tasks import PeriodicTask

# Providers redeliver within hours (LINE, Messenger) and Telegram's update ids only grow:
# a week of receipts covers every redelivery.
RECEIPTS_KEPT = timedelta(days=7)


async def purge_receipts(ctx: AppContext, now: datetime) -> int:
    async with ctx.db.write() as s:
        return await repo.purge_receipts(s, now - RECEIPTS_KEPT)


CLOSE_DORMANT = PeriodicTask("close dormant conversations", timedelta(minutes=1), close_dormant)
PURGE_RECEIPTS = PeriodicTask("purge inbound receipts", timedelta(hours=1), purge_receipts)

TASKS = (CLOSE_DORMANT, PURGE_RECEIPTS)
