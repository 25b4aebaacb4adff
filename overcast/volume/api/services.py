"""/v3/{project_id}/os-services: the scheduler and every volume agent with their state (admins);
PUT .../os-services/{enable,disable,disable-log-reason}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.volume.api import Hsts, isotime
from overcast.volume.hosts import ServiceView

router = APIRouter(prefix="/v3/{project_id}/os-services", tags=["services"])


class ServiceUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")
    host: str = Field(min_length=1, max_length=255)
    binary: str = Field("cinder-volume", min_length=1, max_length=255)
    disabled_reason: str | None = Field(None, max_length=255)


def _view(ctx: Ctx, v: ServiceView) -> dict[str, Any]:
    svc = v.service
    out: dict[str, Any] = {
        "binary": svc.binary, "host": svc.host, "zone": svc.availability_zone,
        "status": "disabled" if svc.disabled else "enabled", "state": "up" if v.up else "down",
        "updated_at": isotime(svc.updated_at), "disabled_reason": svc.disabled_reason,
        "frozen": svc.frozen}
    if svc.binary == "cinder-volume":
        out["replication_status"] = "disabled"
        out["active_backend_id"] = None
    if ctx.microversion >= (3, 7):
        out["cluster"] = None
    if ctx.microversion >= (3, 49):
        out["backend_state"] = "up" if v.up else "down"
    return out


@router.get("", **policy("volume_extension:services:index"))
async def list_services(project_id: str, request: Request, ctx: Ctx, hosts: Hsts
                        ) -> dict[str, Any]:
    q = request.query_params
    return {"services": [_view(ctx, v) for v in await hosts.services(
        ctx, q.get("host"), q.get("binary"))]}


@router.put("/{action}", **policy("volume_extension:services:update"))
async def update_service(project_id: str, action: str, body: ServiceUpdate, ctx: Ctx,
                         hosts: Hsts) -> dict[str, Any]:
    if action not in ("enable", "disable", "disable-log-reason"):
        raise faults.NotFound("Unknown action")
    if action == "disable-log-reason" and not body.disabled_reason:
        raise faults.BadRequest("Disabled reason contains invalid characters or is too long")
    v = await hosts.set_disabled(ctx, body.host, body.binary, action != "enable",
                                 body.disabled_reason)
    return {"host": v.service.host, "service": v.service.binary, "binary": v.service.binary,
            "status": "disabled" if v.service.disabled else "enabled",
            "disabled": v.service.disabled, "disabled_reason": v.service.disabled_reason}
