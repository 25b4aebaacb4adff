"""/v3/{project_id}/os-availability-zone: the zones of the volume agents, available while one
of its agents is up and enabled."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.volume.api import Hsts

router = APIRouter(prefix="/v3/{project_id}/os-availability-zone", tags=["availability zones"])


@router.get("", **policy("volume_extension:availability_zone_list"))
async def list_zones(project_id: str, ctx: Ctx, hosts: Hsts) -> dict[str, Any]:
    ctx.enforce("volume_extension:availability_zone_list", {"project_id": ctx.project_id})
    return {"availabilityZoneInfo": [{"zoneName": z, "zoneState": {"available": up}}
                                     for z, up in await hosts.zones()]}
