"""/v3/{project_id}/os-quota-sets/{target}: show (with ?usage=true), defaults, update
(admin), delete (back to the defaults); /os-quota-class-sets/default."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from overcast.common import faults
from overcast.common.api import policy, query_bool
from overcast.common.app import Ctx
from overcast.volume.api import MAX_INT, Quots
from overcast.volume.quotas import RESOURCES

router = APIRouter(prefix="/v3/{project_id}", tags=["quotas"])


class QuotaSet(BaseModel):
    model_config = ConfigDict(extra="allow")


class QuotaSetBody(BaseModel):
    quota_set: QuotaSet


@router.get("/os-quota-sets/{target}/defaults", **policy("volume_extension:quotas:show"))
async def quota_defaults(project_id: str, target: str, ctx: Ctx, quotas: Quots
                         ) -> dict[str, Any]:
    ctx.enforce("volume_extension:quotas:show", {"project_id": target})
    return {"quota_set": {"id": target, **quotas.defaults()}}


@router.get("/os-quota-sets/{target}", **policy("volume_extension:quotas:show"))
async def show_quotas(project_id: str, target: str, request: Request, ctx: Ctx, quotas: Quots
                      ) -> dict[str, Any]:
    usage = bool(query_bool(request.query_params.get("usage"), "usage", strict=False))
    return {"quota_set": {"id": target, **await quotas.show(ctx, target, usage)}}


@router.put("/os-quota-sets/{target}", **policy("volume_extension:quotas:update"))
async def update_quotas(project_id: str, target: str, body: QuotaSetBody, ctx: Ctx,
                        quotas: Quots) -> dict[str, Any]:
    values: dict[str, int] = {}
    for key, raw in (body.quota_set.model_extra or {}).items():
        if key in ("tenant_id", "id"):
            continue
        if key not in RESOURCES and not key.startswith(("volumes_", "snapshots_",
                                                        "gigabytes_")):
            raise faults.BadRequest(f"Bad key(s) in quota set: {key}")
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise faults.BadRequest(f"Quota value {raw} for {key} is not an integer.") from None
        if isinstance(raw, bool) or value < -1 or value > MAX_INT:
            raise faults.BadRequest(f"Invalid input received: Quota limit {value} for {key} "
                                    f"must be -1 or greater.")
        values[key] = value
    return {"quota_set": await quotas.update(ctx, target, values)}


@router.delete("/os-quota-sets/{target}", response_class=Response, **policy("volume_extension:quotas:delete"))
async def delete_quotas(project_id: str, target: str, ctx: Ctx, quotas: Quots) -> Response:
    await quotas.reset(ctx, target)
    return Response(status_code=200)


@router.get("/os-quota-class-sets/{class_name}", **policy("volume_extension:quota_classes"))
async def quota_class(project_id: str, class_name: str, ctx: Ctx, quotas: Quots
                      ) -> dict[str, Any]:
    ctx.enforce("volume_extension:quota_classes", {"project_id": ctx.project_id})
    if class_name != "default":
        raise faults.NotFound(f"Quota class {class_name} could not be found.")
    return {"quota_class_set": {"id": class_name, **quotas.defaults()}}
