"""``GET /api/overview``: the agent, its link and the gateway over the last hour (admin only)."""

from __future__ import annotations

from fastapi import APIRouter

from aiclone_agent.api.deps import OverviewDep
from aiclone_agent.overview.protocol import OverviewResponse

router = APIRouter(tags=["overview"])


@router.get("/api/overview")
async def overview(sampler: OverviewDep) -> OverviewResponse:
    return sampler.overview()
