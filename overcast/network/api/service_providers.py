"""/v2.0/service-providers: the drivers of advanced services (Neutron's `service-type`).

Neutron lists its `[service_providers] service_provider` entries; this service has no
pluggable drivers for any service type, so the list is empty, as a Neutron configured without
any is."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from overcast.common.api import policy
from overcast.common.app import Ctx

router = APIRouter(prefix="/v2.0", tags=["service-providers"])


@router.get("/service-providers", **policy("get_service_provider"))
async def list_service_providers(ctx: Ctx) -> JSONResponse:
    ctx.enforce("get_service_provider")
    return JSONResponse({"service_providers": []})
