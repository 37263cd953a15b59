"""What a running app holds: settings, database, crypto and token machinery, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from unihub.core.config import Settings
from unihub.core.database import Database
from unihub.core.security import SecretBox
from unihub.core.token_watch import TokenWatch
from unihub.core.tokens import Revocations, TokenKeys


@dataclass
class AppContext:
    settings: Settings
    db: Database
    box: SecretBox
    keys: TokenKeys
    revocations: Revocations
    token_watch: TokenWatch


async def get_context(request: Request) -> AppContext:
    # async on purpose: FastAPI runs plain `def` dependencies on a worker thread (a thread
    # round trip per request, the largest single cost in the GET hub profile).
    ctx: AppContext = request.app.state.ctx
    return ctx
