"""/os-services: compute services (admins): list, enable/disable (with a reason), force down
(2.11), delete. Before 2.53 updates name the service by host and binary under
PUT /os-services/{enable,disable,disable-log-reason,force-down}; from 2.53 ids are UUIDs and
PUT /os-services/{uuid} takes `status`, `disabled_reason` and `forced_down`."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.compute.api import Hsts, isotime, only_params
from overcast.compute.hosts import ServiceView

router = APIRouter(prefix="/v2.1/os-services", tags=["services"])

_LEGACY_ACTIONS = ("enable", "disable", "disable-log-reason", "force-down")


class ServiceUpdate(BaseModel):
    """The body of both update forms: host and binary (before 2.53), status (from 2.53)."""

    model_config = ConfigDict(extra="forbid")
    host: str | None = Field(None, min_length=1, max_length=255)
    binary: str | None = Field(None, min_length=1, max_length=255)
    disabled_reason: str | None = Field(None, min_length=1, max_length=255)
    forced_down: bool | None = None
    status: Literal["enabled", "disabled"] | None = None


def _view(ctx: Ctx, v: ServiceView) -> dict[str, Any]:
    svc = v.service
    view: dict[str, Any] = {
        "id": svc.uuid if ctx.microversion >= (2, 53) else svc.id, "binary": svc.binary,
        "disabled_reason": svc.disabled_reason, "host": svc.host, "state": "up" if v.up else "down",
        "status": "disabled" if svc.disabled else "enabled",
        "updated_at": isotime(svc.updated_at), "zone": v.zone}
    if ctx.microversion >= (2, 11):
        view["forced_down"] = svc.forced_down
    return view


@router.get("", **policy("os_compute_api:os-services:list"))
async def list_services(request: Request, ctx: Ctx, hosts: Hsts) -> dict[str, Any]:
    if ctx.microversion >= (2, 75):
        only_params(request, ("host", "binary"))
    q = request.query_params
    return {"services": [_view(ctx, v) for v in await hosts.services(
        ctx, host=q.get("host"), binary=q.get("binary"))]}


@router.put("/{service_id}", **policy("os_compute_api:os-services:update"))
async def update_service(service_id: str, body: ServiceUpdate, ctx: Ctx, hosts: Hsts
                         ) -> dict[str, Any]:
    if ctx.microversion >= (2, 53):
        return await _update_by_uuid(service_id, body, ctx, hosts)
    if service_id not in _LEGACY_ACTIONS or (
            service_id == "force-down" and ctx.microversion < (2, 11)):
        raise faults.NotFound("Unknown action")
    if body.host is None or body.binary is None or body.status is not None:
        raise faults.BadRequest("Invalid input: host and binary are required.")
    if service_id == "force-down":
        if body.forced_down is None:
            raise faults.BadRequest("Invalid input: forced_down is required.")
        v = await hosts.update_service(ctx, host=body.host, binary=body.binary,
                                       forced_down=body.forced_down)
        return {"service": {"host": v.service.host, "binary": v.service.binary,
                            "forced_down": v.service.forced_down}}
    if service_id == "disable-log-reason" and body.disabled_reason is None:
        raise faults.BadRequest("Missing disabled reason field")
    disable = service_id != "enable"
    v = await hosts.update_service(ctx, host=body.host, binary=body.binary, disabled=disable,
                                   disabled_reason=body.disabled_reason)
    out = {"host": v.service.host, "binary": v.service.binary,
           "status": "disabled" if v.service.disabled else "enabled"}
    if service_id == "disable-log-reason":
        out["disabled_reason"] = v.service.disabled_reason or ""
    return {"service": out}


async def _update_by_uuid(service_id: str, body: ServiceUpdate, ctx: Ctx, hosts: Hsts
                          ) -> dict[str, Any]:
    try:
        uuid.UUID(service_id)
    except ValueError:
        raise faults.BadRequest(f"Invalid uuid {service_id}") from None
    if body.host is not None or body.binary is not None:
        raise faults.BadRequest("Invalid input: host and binary are not allowed from 2.53.")
    if body.status is None and body.forced_down is None:
        raise faults.BadRequest("No updates were requested. Fields 'status' or 'forced_down' "
                                "should be specified.")
    if body.disabled_reason is not None and body.status != "disabled":
        raise faults.BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    disabled = None if body.status is None else body.status == "disabled"
    v = await hosts.update_service(ctx, service_id=service_id, disabled=disabled,
                                   disabled_reason=body.disabled_reason,
                                   forced_down=body.forced_down)
    return {"service": _view(ctx, v)}


@router.delete("/{service_id}", **policy("os_compute_api:os-services:delete"))
async def delete_service(service_id: str, ctx: Ctx, hosts: Hsts) -> Response:
    by_uuid = ctx.microversion >= (2, 53)
    if by_uuid:
        try:
            uuid.UUID(service_id)
        except ValueError:
            raise faults.BadRequest(f"Invalid uuid {service_id}") from None
    await hosts.delete_service(ctx, service_id, by_uuid=by_uuid)
    return Response(status_code=204)
