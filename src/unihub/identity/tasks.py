"""The identity domain's periodic work."""

from __future__ import annotations

from datetime import datetime, timedelta

from unihub.core.context import AppContext
from unihub.core.tasks import PeriodicTask


async def _prune_revocations(ctx: AppContext, _now: datetime) -> int:
    await ctx.revocations.prune()
    return 0


# Revocation records outlive every token minted with their secret, then go.
PRUNE_REVOCATIONS = PeriodicTask("prune revoked secrets", timedelta(hours=1), _prune_revocations)

TASKS = (PRUNE_REVOCATIONS,)
