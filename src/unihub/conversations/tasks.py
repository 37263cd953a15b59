"""The conversations domain's periodic work."""

from __future__ import annotations

from datetime import timedelta

from unihub.conversations.service import close_dormant
from unihub.core.tasks import PeriodicTask

CLOSE_DORMANT = PeriodicTask("close dormant conversations", timedelta(minutes=1), close_dormant)

TASKS = (CLOSE_DORMANT,)
