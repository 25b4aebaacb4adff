"""/v3/{project_id}/limits: the project's absolute limits and what it uses (no rate limits)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.volume.api import Quots

router = APIRouter(prefix="/v3/{project_id}/limits", tags=["limits"])


@router.get("", **policy("limits_extension:used_limits"))
async def show_limits(project_id: str, ctx: Ctx, quotas: Quots) -> dict[str, Any]:
    return {"limits": {"rate": [], "absolute": await quotas.absolute(ctx)}}
