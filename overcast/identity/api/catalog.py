"""/v3/regions, /v3/services and /v3/endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.schemas import (
    EndpointCreateBody,
    EndpointUpdateBody,
    RegionBody,
    ServiceCreateBody,
    ServiceUpdateBody,
)
from overcast.identity.models import Endpoint, Region, Service

router = APIRouter(tags=["catalog"])


def region_view(request: Request, r: Region) -> dict[str, Any]:
    return {**r.extra, "id": r.id, "description": r.description,
            "parent_region_id": r.parent_region_id,
            "links": self_link(request, f"/v3/regions/{r.id}")}


def service_view(request: Request, s: Service) -> dict[str, Any]:
    return {**s.extra, "id": s.id, "type": s.type, "enabled": s.enabled,
            "links": self_link(request, f"/v3/services/{s.id}")}


def endpoint_view(request: Request, e: Endpoint) -> dict[str, Any]:
    return {**e.extra, "id": e.id, "service_id": e.service_id, "interface": e.interface,
            "url": e.url, "region_id": e.region_id, "region": e.region_id, "enabled": e.enabled,
            "links": self_link(request, f"/v3/endpoints/{e.id}")}


# -- regions --
@router.get("/v3/regions", **policy("identity:list_regions"))
async def list_regions(request: Request, ctx: Ctx, identity: Ident,
                       parent_region_id: str | None = None) -> dict[str, Any]:
    regions = await identity.catalog.list_regions(ctx, parent_region_id)
    return listing(request, "regions", regions, lambda r: region_view(request, r),
                   identity.list_limit)


@router.post("/v3/regions", status_code=201, **policy("identity:create_region"))
async def create_region(request: Request, body: RegionBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    return {"region": region_view(request, await identity.catalog.create_region(
        ctx, body.region.fields()))}


@router.put("/v3/regions/{region_id}", status_code=201, **policy("identity:create_region"))
async def put_region(request: Request, region_id: str, body: RegionBody, ctx: Ctx,
                     identity: Ident) -> dict[str, Any]:
    return {"region": region_view(request, await identity.catalog.create_region(
        ctx, body.region.fields(), region_id))}


@router.get("/v3/regions/{region_id}", **policy("identity:get_region"))
async def show_region(request: Request, region_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"region": region_view(request, await identity.catalog.show_region(ctx, region_id))}


@router.patch("/v3/regions/{region_id}", **policy("identity:update_region"))
async def update_region(request: Request, region_id: str, body: RegionBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    return {"region": region_view(request, await identity.catalog.update_region(
        ctx, region_id, body.region.fields()))}


@router.delete("/v3/regions/{region_id}", status_code=204, **policy("identity:delete_region"))
async def delete_region(region_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.catalog.delete_region(ctx, region_id)
    return Response(status_code=204)


# -- services --
@router.get("/v3/services", **policy("identity:list_services"))
async def list_services(request: Request, ctx: Ctx, identity: Ident, type: str | None = None,
                        name: str | None = None) -> dict[str, Any]:
    services = await identity.catalog.list_services(ctx, type, name)
    return listing(request, "services", services, lambda s: service_view(request, s),
                   identity.list_limit)


@router.post("/v3/services", status_code=201, **policy("identity:create_service"))
async def create_service(request: Request, body: ServiceCreateBody, ctx: Ctx,
                         identity: Ident) -> dict[str, Any]:
    return {"service": service_view(request, await identity.catalog.create_service(
        ctx, body.service.fields()))}


@router.get("/v3/services/{service_id}", **policy("identity:get_service"))
async def show_service(request: Request, service_id: str, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    return {"service": service_view(request, await identity.catalog.show_service(
        ctx, service_id))}


@router.patch("/v3/services/{service_id}", **policy("identity:update_service"))
async def update_service(request: Request, service_id: str, body: ServiceUpdateBody, ctx: Ctx,
                         identity: Ident) -> dict[str, Any]:
    return {"service": service_view(request, await identity.catalog.update_service(
        ctx, service_id, body.service.fields()))}


@router.delete("/v3/services/{service_id}", status_code=204, **policy("identity:delete_service"))
async def delete_service(service_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.catalog.delete_service(ctx, service_id)
    return Response(status_code=204)


# -- endpoints --
@router.get("/v3/endpoints", **policy("identity:list_endpoints"))
async def list_endpoints(request: Request, ctx: Ctx, identity: Ident,
                         service_id: str | None = None, interface: str | None = None,
                         region_id: str | None = None) -> dict[str, Any]:
    endpoints = await identity.catalog.list_endpoints(ctx, service_id=service_id,
                                                      interface=interface, region_id=region_id)
    return listing(request, "endpoints", endpoints, lambda e: endpoint_view(request, e),
                   identity.list_limit)


@router.post("/v3/endpoints", status_code=201, **policy("identity:create_endpoint"))
async def create_endpoint(request: Request, body: EndpointCreateBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    return {"endpoint": endpoint_view(request, await identity.catalog.create_endpoint(
        ctx, body.endpoint.fields()))}


@router.get("/v3/endpoints/{endpoint_id}", **policy("identity:get_endpoint"))
async def show_endpoint(request: Request, endpoint_id: str, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    return {"endpoint": endpoint_view(request, await identity.catalog.show_endpoint(
        ctx, endpoint_id))}


@router.patch("/v3/endpoints/{endpoint_id}", **policy("identity:update_endpoint"))
async def update_endpoint(request: Request, endpoint_id: str, body: EndpointUpdateBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    return {"endpoint": endpoint_view(request, await identity.catalog.update_endpoint(
        ctx, endpoint_id, body.endpoint.fields()))}


@router.delete("/v3/endpoints/{endpoint_id}", status_code=204,
               **policy("identity:delete_endpoint"))
async def delete_endpoint(endpoint_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.catalog.delete_endpoint(ctx, endpoint_id)
    return Response(status_code=204)
