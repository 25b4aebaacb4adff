"""/os-quota-sets (per project, per user with `?user_id=`) and /os-quota-class-sets.

The resources shown follow the microversion (tempest's schemas v2_1, v2_36, v2_57; quota
classes v2_1, v2_50, v2_57): the network quotas go at 2.36 (2.50 for classes), the injected
file quotas at 2.57; a body naming one that is gone is a 400."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.compute.api import Quots, nova_bool, nova_int, only_params
from overcast.compute.quotas import resources_at

router = APIRouter(tags=["quotas"])

QuotaValue = Annotated[int, nova_int(-1)]


class QuotaSetValues(BaseModel):
    """New limits (-1: none); which keys a microversion takes is checked by the route."""

    model_config = ConfigDict(extra="forbid")
    instances: QuotaValue | None = None
    cores: QuotaValue | None = None
    ram: QuotaValue | None = None
    floating_ips: QuotaValue | None = None
    fixed_ips: QuotaValue | None = None
    metadata_items: QuotaValue | None = None
    injected_files: QuotaValue | None = None
    injected_file_content_bytes: QuotaValue | None = None
    injected_file_path_bytes: QuotaValue | None = None
    key_pairs: QuotaValue | None = None
    security_groups: QuotaValue | None = None
    security_group_rules: QuotaValue | None = None
    server_groups: QuotaValue | None = None
    server_group_members: QuotaValue | None = None
    force: Annotated[bool, nova_bool] = False


class QuotaSetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quota_set: QuotaSetValues


class QuotaClassSetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quota_class_set: QuotaSetValues


def _values(ctx: Ctx, given: QuotaSetValues, *, quota_class: bool) -> dict[str, int]:
    allowed = set(resources_at(ctx.microversion, quota_class=quota_class))
    if quota_class:  # a class takes the server group quotas at any microversion
        allowed |= {"server_groups", "server_group_members"}
    values = {k: v for k, v in given.model_dump(exclude_unset=True).items()
              if k != "force" and v is not None}
    extra = sorted(k for k in values if k not in allowed)
    if extra:
        raise faults.BadRequest(
            "Invalid input for field/attribute quota_set. Additional properties are not "
            f"allowed ({', '.join(repr(k) for k in extra)} was unexpected)")
    return values


def _user(request: Request, ctx: Ctx) -> str | None:
    if ctx.microversion >= (2, 75):
        only_params(request, ("user_id",))
    return request.query_params.get("user_id") or None


def _shown(ctx: Ctx, limits: dict[str, int], *, quota_class: bool = False) -> dict[str, int]:
    return {r: limits[r] for r in resources_at(ctx.microversion, quota_class=quota_class)}


@router.get("/v2.1/os-quota-sets/{tenant_id}/defaults",
            **policy("os_compute_api:os-quota-sets:defaults"))
async def quota_defaults(tenant_id: str, ctx: Ctx, quotas: Quots) -> dict[str, Any]:
    return {"quota_set": {"id": tenant_id,
                          **_shown(ctx, await quotas.defaults(ctx, tenant_id))}}


@router.get("/v2.1/os-quota-sets/{tenant_id}/detail",
            **policy("os_compute_api:os-quota-sets:detail"))
async def quota_detail(tenant_id: str, request: Request, ctx: Ctx, quotas: Quots
                       ) -> dict[str, Any]:
    limits, used = await quotas.show(ctx, tenant_id, _user(request, ctx), detail=True)
    assert used is not None
    return {"quota_set": {"id": tenant_id, **{
        r: {"limit": limit, "in_use": used.get(r, 0), "reserved": 0}
        for r, limit in _shown(ctx, limits).items()}}}


@router.get("/v2.1/os-quota-sets/{tenant_id}", **policy("os_compute_api:os-quota-sets:show"))
async def show_quotas(tenant_id: str, request: Request, ctx: Ctx, quotas: Quots
                      ) -> dict[str, Any]:
    limits, _ = await quotas.show(ctx, tenant_id, _user(request, ctx), detail=False)
    return {"quota_set": {"id": tenant_id, **_shown(ctx, limits)}}


@router.put("/v2.1/os-quota-sets/{tenant_id}", **policy("os_compute_api:os-quota-sets:update"))
async def update_quotas(tenant_id: str, body: QuotaSetBody, request: Request, ctx: Ctx,
                        quotas: Quots) -> dict[str, Any]:
    values = _values(ctx, body.quota_set, quota_class=False)
    limits = await quotas.update(ctx, tenant_id, _user(request, ctx), values,
                                 force=body.quota_set.force)
    return {"quota_set": _shown(ctx, limits)}


@router.delete("/v2.1/os-quota-sets/{tenant_id}",
               **policy("os_compute_api:os-quota-sets:delete"))
async def delete_quotas(tenant_id: str, request: Request, ctx: Ctx, quotas: Quots) -> Response:
    await quotas.delete(ctx, tenant_id, _user(request, ctx))
    return Response(status_code=202)


@router.get("/v2.1/os-quota-class-sets/{quota_class}",
            **policy("os_compute_api:os-quota-class-sets:show"))
async def show_quota_class(quota_class: str, ctx: Ctx, quotas: Quots) -> dict[str, Any]:
    limits = await quotas.show_class(ctx, quota_class)
    return {"quota_class_set": {"id": quota_class, **_shown(ctx, limits, quota_class=True)}}


@router.put("/v2.1/os-quota-class-sets/{quota_class}",
            **policy("os_compute_api:os-quota-class-sets:update"))
async def update_quota_class(quota_class: str, body: QuotaClassSetBody, ctx: Ctx,
                             quotas: Quots) -> dict[str, Any]:
    values = _values(ctx, body.quota_class_set, quota_class=True)
    limits = await quotas.update_class(ctx, quota_class, values)
    return {"quota_class_set": _shown(ctx, limits, quota_class=True)}
