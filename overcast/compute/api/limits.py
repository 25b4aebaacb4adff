"""/limits: the caller's project's absolute limits with what it uses (`?tenant_id=` for
another project, admins), and no rate limits (Nova has had none since Newton). Keys per
microversion as tempest's schemas v2_1, v2_36, v2_39, v2_57."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.compute.api import Quots, only_params

router = APIRouter(tags=["limits"])

# (limit name, quota resource, dropped at)
_LIMITS = (
    ("maxImageMeta", "metadata_items", (2, 39)),
    ("maxPersonality", "injected_files", (2, 57)),
    ("maxPersonalitySize", "injected_file_content_bytes", (2, 57)),
    ("maxSecurityGroupRules", "security_group_rules", (2, 36)),
    ("maxSecurityGroups", "security_groups", (2, 36)),
    ("maxServerMeta", "metadata_items", None),
    ("maxTotalCores", "cores", None),
    ("maxTotalFloatingIps", "floating_ips", (2, 36)),
    ("maxTotalInstances", "instances", None),
    ("maxTotalKeypairs", "key_pairs", None),
    ("maxTotalRAMSize", "ram", None),
    ("maxServerGroups", "server_groups", None),
    ("maxServerGroupMembers", "server_group_members", None),
)
_USED = (
    ("totalCoresUsed", "cores", None),
    ("totalInstancesUsed", "instances", None),
    ("totalRAMUsed", "ram", None),
    ("totalFloatingIpsUsed", "floating_ips", (2, 36)),
    ("totalSecurityGroupsUsed", "security_groups", (2, 36)),
    ("totalServerGroupsUsed", "server_groups", None),
)


@router.get("/v2.1/limits", **policy("os_compute_api:limits", "os_compute_api:limits:other_project"))
async def show_limits(request: Request, ctx: Ctx, quotas: Quots) -> dict[str, Any]:
    if ctx.microversion >= (2, 75):
        only_params(request, ("tenant_id", "reserved"))
    project_id = ctx.project_id or ""
    ctx.enforce("os_compute_api:limits", {"project_id": project_id})
    asked = request.query_params.get("tenant_id")
    if asked and asked != project_id and ctx.can("os_compute_api:limits:other_project",
                                                 {"project_id": asked}):
        project_id = asked  # as Nova, a refused tenant_id quietly shows the caller's own
    limits = await quotas.limits(project_id)
    used = await quotas.usage(project_id)
    mv = ctx.microversion
    absolute: dict[str, int] = {}
    for name, resource, gone in _LIMITS:
        if gone is None or mv < gone:
            absolute[name] = limits[resource]
    for name, resource, gone in _USED:
        if gone is None or mv < gone:
            absolute[name] = used.get(resource, 0)
    return {"limits": {"absolute": absolute, "rate": []}}
