"""/os-hosts (deprecated: 404 from 2.43; os-hypervisors and os-services replace it): list the
hosts of the services, show a host's resources, enable or disable it; maintenance mode and
the startup, shutdown and reboot power actions are 501 (no driver here has them), after the
host is found, as Nova answers with its libvirt driver."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, model_validator

from overcast.common import faults
from overcast.common.api import policy, state
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.compute.legacy_hosts import NOT_SUPPORTED, LegacyHosts

__all__ = ["router"]

router = APIRouter(prefix="/v2.1/os-hosts", tags=["hosts"],
                   dependencies=[available(maximum=(2, 42))])

LHosts = Annotated[LegacyHosts, Depends(state("legacy_hosts", LegacyHosts))]
_P = "os_compute_api:os-hosts:"
_Switch = Literal["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]


class HostUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: _Switch | None = None
    maintenance_mode: _Switch | None = None

    @model_validator(mode="after")
    def _one_of(self) -> HostUpdate:
        if self.status is None and self.maintenance_mode is None:
            raise ValueError("'status' or 'maintenance_mode' is required")
        return self


@router.get("", **policy(_P + "list"))
async def list_hosts(request: Request, ctx: Ctx, hosts: LHosts) -> dict[str, Any]:
    zone = request.query_params.get("zone")
    return {"hosts": [{"host_name": h.host_name, "service": h.service, "zone": h.zone}
                      for h in await hosts.entries(ctx, zone)]}


@router.get("/{host_name}", **policy(_P + "show"))
async def show_host(host_name: str, ctx: Ctx, hosts: LHosts) -> dict[str, Any]:
    return {"host": await hosts.resources(ctx, host_name)}


@router.put("/{host_name}", **policy(_P + "update"))
async def update_host(host_name: str, body: HostUpdate, ctx: Ctx, hosts: LHosts
                      ) -> dict[str, Any]:
    ctx.enforce(_P + "update", {"project_id": ctx.project_id})
    if body.maintenance_mode is not None:
        # Refused before anything changes, so a status given with it is not half applied.
        await hosts.check_exists(host_name)
        raise faults.NotImplementedFault(NOT_SUPPORTED)
    assert body.status is not None
    result = await hosts.set_enabled(ctx, host_name, body.status.lower() == "enable")
    return {"host": host_name, "status": result}


async def _power(action: str, host_name: str, ctx: Ctx, hosts: LegacyHosts) -> dict[str, Any]:
    ctx.enforce(_P + ("start" if action == "startup" else action), {"project_id": ctx.project_id})
    await hosts.check_exists(host_name)
    raise faults.NotImplementedFault(NOT_SUPPORTED)


@router.get("/{host_name}/startup", **policy(_P + "start"))
async def startup_host(host_name: str, ctx: Ctx, hosts: LHosts) -> dict[str, Any]:
    return await _power("startup", host_name, ctx, hosts)


@router.get("/{host_name}/shutdown", **policy(_P + "shutdown"))
async def shutdown_host(host_name: str, ctx: Ctx, hosts: LHosts) -> dict[str, Any]:
    return await _power("shutdown", host_name, ctx, hosts)


@router.get("/{host_name}/reboot", **policy(_P + "reboot"))
async def reboot_host(host_name: str, ctx: Ctx, hosts: LHosts) -> dict[str, Any]:
    return await _power("reboot", host_name, ctx, hosts)
