"""/v3/regions, /v3/services and /v3/endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, self_link
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
@router.get("/v3/regions")
async def list_regions(request: Request, ctx: Ctx, identity: Ident,
                       parent_region_id: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_regions")
    regions = await identity.catalog.list_regions(parent_region_id)
    return collection(request, "regions", [region_view(request, r) for r in regions])


@router.post("/v3/regions", status_code=201)
async def create_region(request: Request, body: RegionBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:create_region")
    region = await identity.catalog.create_region(body.region.fields())
    return {"region": region_view(request, region)}


@router.put("/v3/regions/{region_id}", status_code=201)
async def put_region(request: Request, region_id: str, body: RegionBody, ctx: Ctx,
                     identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:create_region")
    fields = body.region.fields()
    if fields.get("id") not in (None, region_id):
        raise faults.BadRequest("The region id in the body does not match the URL.")
    region = await identity.catalog.create_region(fields, region_id)
    return {"region": region_view(request, region)}


@router.get("/v3/regions/{region_id}")
async def show_region(request: Request, region_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_region")
    return {"region": region_view(request, await identity.catalog.show_region(region_id))}


@router.patch("/v3/regions/{region_id}")
async def update_region(request: Request, region_id: str, body: RegionBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:update_region")
    fields = body.region.fields()
    if fields.get("id") not in (None, region_id):
        raise faults.BadRequest("A region's id cannot change.")
    fields.pop("id", None)
    region = await identity.catalog.update_region(region_id, fields)
    return {"region": region_view(request, region)}


@router.delete("/v3/regions/{region_id}", status_code=204)
async def delete_region(region_id: str, ctx: Ctx, identity: Ident) -> Response:
    ctx.enforce("identity:delete_region")
    await identity.catalog.delete_region(region_id)
    return Response(status_code=204)


# -- services --
@router.get("/v3/services")
async def list_services(request: Request, ctx: Ctx, identity: Ident, type: str | None = None,
                        name: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_services")
    services = await identity.catalog.list_services(type, name)
    return collection(request, "services", [service_view(request, s) for s in services])


@router.post("/v3/services", status_code=201)
async def create_service(request: Request, body: ServiceCreateBody, ctx: Ctx,
                         identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:create_service")
    fields = body.service.fields()
    if not fields.get("type"):
        raise faults.BadRequest("Invalid input for field 'type': a type is required.")
    return {"service": service_view(request, await identity.catalog.create_service(fields))}


@router.get("/v3/services/{service_id}")
async def show_service(request: Request, service_id: str, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_service")
    return {"service": service_view(request, await identity.catalog.show_service(service_id))}


@router.patch("/v3/services/{service_id}")
async def update_service(request: Request, service_id: str, body: ServiceUpdateBody, ctx: Ctx,
                         identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:update_service")
    service = await identity.catalog.update_service(service_id, body.service.fields())
    return {"service": service_view(request, service)}


@router.delete("/v3/services/{service_id}", status_code=204)
async def delete_service(service_id: str, ctx: Ctx, identity: Ident) -> Response:
    ctx.enforce("identity:delete_service")
    await identity.catalog.delete_service(service_id)
    return Response(status_code=204)


# -- endpoints --
@router.get("/v3/endpoints")
async def list_endpoints(request: Request, ctx: Ctx, identity: Ident,
                         service_id: str | None = None, interface: str | None = None,
                         region_id: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_endpoints")
    endpoints = await identity.catalog.list_endpoints(service_id=service_id, interface=interface,
                                                      region_id=region_id)
    return collection(request, "endpoints", [endpoint_view(request, e) for e in endpoints])


@router.post("/v3/endpoints", status_code=201)
async def create_endpoint(request: Request, body: EndpointCreateBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:create_endpoint")
    fields = body.endpoint.fields()
    for key in ("service_id", "interface", "url"):
        if not fields.get(key):
            raise faults.BadRequest(f"Invalid input for field '{key}': it is required.")
    return {"endpoint": endpoint_view(request, await identity.catalog.create_endpoint(fields))}


@router.get("/v3/endpoints/{endpoint_id}")
async def show_endpoint(request: Request, endpoint_id: str, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_endpoint")
    return {"endpoint": endpoint_view(request, await identity.catalog.show_endpoint(endpoint_id))}


@router.patch("/v3/endpoints/{endpoint_id}")
async def update_endpoint(request: Request, endpoint_id: str, body: EndpointUpdateBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:update_endpoint")
    endpoint = await identity.catalog.update_endpoint(endpoint_id, body.endpoint.fields())
    return {"endpoint": endpoint_view(request, endpoint)}


@router.delete("/v3/endpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: str, ctx: Ctx, identity: Ident) -> Response:
    ctx.enforce("identity:delete_endpoint")
    await identity.catalog.delete_endpoint(endpoint_id)
    return Response(status_code=204)
