"""Liveness and readiness, without auth, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter

from unihub.core.auth import Context
from unihub.core.responses import JSON

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health_live", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="health_ready",
    summary="The database is reachable",
    responses={503: {"description": "The database is unreachable"}},
)
async def readyz(ctx: Context) -> JSON:
    try:
        await ctx.db.ping()
    except Exception:
        return JSON(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSON({"status": "ok", "database": "ok"})
