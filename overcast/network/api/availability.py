"""/v2.0/availability_zones, /v2.0/network-ip-availabilities."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from overcast.common.api import policy, state
from overcast.common.app import Ctx
from overcast.network.availability import Availability

router = APIRouter(prefix="/v2.0", tags=["availability"])

A = Annotated[Availability, Depends(state("availability", Availability))]


@router.get("/availability_zones", **policy("get_availability_zone"))
async def list_availability_zones(ctx: Ctx, availability: A) -> JSONResponse:
    return JSONResponse({"availability_zones": availability.zones(ctx)})


@router.get("/network-ip-availabilities", **policy("get_network_ip_availability",
                                                    "context_is_admin"))
async def list_ip_availabilities(ctx: Ctx, availability: A) -> JSONResponse:
    return JSONResponse({"network_ip_availabilities": await availability.ip_usage(ctx)})


@router.get("/network-ip-availabilities/{network_id}",
            **policy("get_network_ip_availability", "context_is_admin"))
async def show_ip_availability(network_id: str, ctx: Ctx, availability: A) -> JSONResponse:
    return JSONResponse({"network_ip_availability":
                         await availability.ip_usage(ctx, network_id)})
