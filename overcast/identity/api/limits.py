"""/v3/registered_limits, /v3/limits and /v3/limits/model: Keystone's unified limits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.schemas import (
    LimitsCreateBody,
    LimitUpdateBody,
    RegisteredLimitsCreateBody,
    RegisteredLimitUpdateBody,
)
from overcast.identity.limits import LimitFilter, LimitView
from overcast.identity.models import RegisteredLimit

router = APIRouter(prefix="/v3", tags=["unified-limits"])


def registered_limit_view(request: Request, r: RegisteredLimit) -> dict[str, Any]:
    return {"id": r.id, "service_id": r.service_id, "region_id": r.region_id,
            "resource_name": r.resource_name, "default_limit": r.default_limit,
            "description": r.description,
            "links": self_link(request, f"/v3/registered_limits/{r.id}")}


def limit_view(request: Request, v: LimitView) -> dict[str, Any]:
    return {"id": v.limit.id, "project_id": v.limit.project_id, "domain_id": v.limit.domain_id,
            "service_id": v.registered.service_id, "region_id": v.registered.region_id,
            "resource_name": v.registered.resource_name,
            "resource_limit": v.limit.resource_limit, "description": v.limit.description,
            "links": self_link(request, f"/v3/limits/{v.limit.id}")}


# -- registered limits --
@router.head("/registered_limits", **policy("identity:list_registered_limits"))
@router.get("/registered_limits", **policy("identity:list_registered_limits"))
async def list_registered_limits(request: Request, ctx: Ctx, identity: Ident,
                                 service_id: str | None = None, region_id: str | None = None,
                                 resource_name: str | None = None) -> dict[str, Any]:
    rows = await identity.limits.list_registered(ctx, LimitFilter(service_id, region_id,
                                                                  resource_name))
    return listing(request, "registered_limits", rows,
                   lambda r: registered_limit_view(request, r), identity.limits.list_limit)


@router.post("/registered_limits", status_code=201,
             **policy("identity:create_registered_limits"))
async def create_registered_limits(request: Request, body: RegisteredLimitsCreateBody, ctx: Ctx,
                                   identity: Ident) -> dict[str, Any]:
    rows = await identity.limits.create_registered(
        ctx, [item.fields() for item in body.registered_limits])
    # Keystone's answer is the collection without its links
    return {"registered_limits": [registered_limit_view(request, r) for r in rows]}


@router.head("/registered_limits/{registered_limit_id}",
             **policy("identity:get_registered_limit"))
@router.get("/registered_limits/{registered_limit_id}", **policy("identity:get_registered_limit"))
async def show_registered_limit(request: Request, registered_limit_id: str, ctx: Ctx,
                                identity: Ident) -> dict[str, Any]:
    row = await identity.limits.show_registered(ctx, registered_limit_id)
    return {"registered_limit": registered_limit_view(request, row)}


@router.patch("/registered_limits/{registered_limit_id}",
              **policy("identity:update_registered_limit"))
async def update_registered_limit(request: Request, registered_limit_id: str,
                                  body: RegisteredLimitUpdateBody, ctx: Ctx,
                                  identity: Ident) -> dict[str, Any]:
    row = await identity.limits.update_registered(ctx, registered_limit_id,
                                                  body.registered_limit.fields())
    return {"registered_limit": registered_limit_view(request, row)}


@router.delete("/registered_limits/{registered_limit_id}", status_code=204,
               **policy("identity:delete_registered_limit"))
async def delete_registered_limit(registered_limit_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.limits.delete_registered(ctx, registered_limit_id)
    return Response(status_code=204)


# -- limits --
@router.head("/limits/model", **policy("identity:get_limit_model"))
@router.get("/limits/model", **policy("identity:get_limit_model"))
async def show_limit_model(ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"model": identity.limits.show_model(ctx)}


@router.head("/limits", **policy("identity:list_limits", "service_or_admin"))
@router.get("/limits", **policy("identity:list_limits", "service_or_admin"))
async def list_limits(request: Request, ctx: Ctx, identity: Ident, service_id: str | None = None,
                      region_id: str | None = None, resource_name: str | None = None,
                      project_id: str | None = None,
                      domain_id: str | None = None) -> dict[str, Any]:
    rows = await identity.limits.list(ctx, LimitFilter(service_id, region_id, resource_name,
                                                       project_id, domain_id))
    return listing(request, "limits", rows, lambda v: limit_view(request, v),
                   identity.limits.list_limit)


@router.post("/limits", status_code=201, **policy("identity:create_limits"))
async def create_limits(request: Request, body: LimitsCreateBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    rows = await identity.limits.create(ctx, [item.fields() for item in body.limits])
    return {"limits": [limit_view(request, v) for v in rows]}


@router.head("/limits/{limit_id}", **policy("identity:get_limit"))
@router.get("/limits/{limit_id}", **policy("identity:get_limit"))
async def show_limit(request: Request, limit_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"limit": limit_view(request, await identity.limits.show(ctx, limit_id))}


@router.patch("/limits/{limit_id}", **policy("identity:update_limit"))
async def update_limit(request: Request, limit_id: str, body: LimitUpdateBody, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    view = await identity.limits.update(ctx, limit_id, body.limit.fields())
    return {"limit": limit_view(request, view)}


@router.delete("/limits/{limit_id}", status_code=204, **policy("identity:delete_limit"))
async def delete_limit(limit_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.limits.delete(ctx, limit_id)
    return Response(status_code=204)
