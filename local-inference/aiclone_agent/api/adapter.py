"""``/api/adapter``: the clone's LoRA adapter; PUT takes what GET returns and applies its ``scale``
(the other fields describe the adapter and are read-only)."""

from __future__ import annotations

from fastapi import APIRouter

from aiclone_agent.adapter.service import AdapterStatus
from aiclone_agent.api.deps import AdapterDep
from aiclone_agent.core.errors import error_responses

router = APIRouter(prefix="/api/adapter", tags=["adapter"], responses=error_responses(409, 503))


@router.get("")
async def get_adapter(adapter: AdapterDep) -> AdapterStatus:
    return adapter.status


@router.put("")
async def put_adapter(body: AdapterStatus, adapter: AdapterDep) -> AdapterStatus:
    return await adapter.set_scale(body.scale)
