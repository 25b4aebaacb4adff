"""GET /servers/{id}/diagnostics (admin): asked of the instance's compute agent. From 2.48
Nova's standard format; before it the free-form dictionary of Nova's libvirt driver
(`cpu0_time`, `memory`, `vda_read`, `<nic>_rx`, ...), derived from the same figures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from overcast.common.app import Ctx
from overcast.compute.api.server_views import policy
from overcast.compute.api.servers import Servers

router = APIRouter(prefix="/v2.1/servers", tags=["server diagnostics"])


def legacy(diag: dict[str, Any]) -> dict[str, Any]:
    """The pre-2.48 view: libvirt's flat keys, leaving out what is not known."""
    out: dict[str, Any] = {}
    for cpu in diag["cpu_details"]:
        out[f"cpu{cpu['id']}_time"] = cpu["time"]
    out["memory"] = diag["memory_details"]["maximum"]
    if diag["memory_details"]["used"] is not None:
        out["memory-actual"] = diag["memory_details"]["used"]
    for i, disk in enumerate(diag["disk_details"]):
        dev = f"vd{chr(ord('a') + i)}"
        out.update({f"{dev}_read": disk["read_bytes"], f"{dev}_read_req": disk["read_requests"],
                    f"{dev}_write": disk["write_bytes"],
                    f"{dev}_write_req": disk["write_requests"],
                    f"{dev}_errors": disk["errors_count"]})
    for i, nic in enumerate(diag["nic_details"]):
        for key, value in nic.items():
            if key != "mac_address" and not key.endswith("_rate"):
                direction, what = key.split("_", 1)
                name = f"tap{i}_{direction}" + ("" if what == "octets" else f"_{what}")
                out[name] = value
    return {k: v for k, v in out.items() if v is not None}


@router.get("/{server_id}/diagnostics", **policy("os_compute_api:os-server-diagnostics"))
async def server_diagnostics(server_id: str, ctx: Ctx, servers: Servers) -> dict[str, Any]:
    diag = await servers.diagnostics(ctx, server_id)
    return diag if ctx.microversion >= (2, 48) else legacy(diag)
