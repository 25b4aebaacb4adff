"""/os-availability-zone: the zones of compute hosts (anyone), and with `detail` every zone
with its hosts and services, the internal one included (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.compute.api import Hsts, isotime

router = APIRouter(prefix="/v2.1/os-availability-zone", tags=["availability zones"])


@router.get("", **policy("os_compute_api:os-availability-zone:list"))
async def list_zones(ctx: Ctx, hosts: Hsts) -> dict[str, Any]:
    zones = await hosts.zones(ctx, detail=False)
    return {"availabilityZoneInfo": [
        {"zoneName": zone, "zoneState": {"available": available}, "hosts": None}
        for zone, available, _ in zones]}


@router.get("/detail", **policy("os_compute_api:os-availability-zone:detail"))
async def list_zones_detail(ctx: Ctx, hosts: Hsts) -> dict[str, Any]:
    info = []
    for zone, available, by_host in await hosts.zones(ctx, detail=True):
        shown: dict[str, Any] | None = None
        if available:
            shown = {host: {v.service.binary: {"available": v.up,
                                               "active": not v.service.disabled,
                                               "updated_at": isotime(v.service.updated_at)}
                            for v in views}
                     for host, views in by_host.items()}
        info.append({"zoneName": zone, "zoneState": {"available": available}, "hosts": shown})
    return {"availabilityZoneInfo": info}
