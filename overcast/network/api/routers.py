"""/v2.0/routers, with add_router_interface and remove_router_interface."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from overcast.common.api import lifespan_state, policy
from overcast.common.app import Ctx
from overcast.network.api.collection import WireModel, resource_routes
from overcast.network.notifications import Notifier
from overcast.network.routers import Routers

router = APIRouter(prefix="/v2.0", tags=["routers"])


class RouterIn(WireModel):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    admin_state_up: bool | None = None
    external_gateway_info: dict[str, Any] | None = None
    routes: list[Any] | None = None
    distributed: bool | None = None
    ha: bool | None = None
    availability_zone_hints: list[str] | None = None
    flavor_id: str | None = None
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class RouterCreate(WireModel):
    router: RouterIn


class RouterUpdate(WireModel):
    router: RouterIn


class InterfaceBody(WireModel):
    subnet_id: str | None = None
    port_id: str | None = None


resource_routes(router, path="routers", resource="router", collection="routers",
                key="routers", kind=Routers, create_model=RouterCreate,
                update_model=RouterUpdate, bulk=False)


@router.put("/routers/{ident}/add_router_interface",
            **policy("add_router_interface", "context_is_admin"))
async def add_router_interface(ident: str, body: InterfaceBody, request: Request,
                               ctx: Ctx) -> JSONResponse:
    routers = lifespan_state(request, "routers", Routers)
    info = await routers.add_interface(ctx, ident, body.attrs())
    await lifespan_state(request, "notifier", Notifier).info(
        ctx, "router.interface.create", {"router_interface": info})
    return JSONResponse(info)


@router.put("/routers/{ident}/remove_router_interface",
            **policy("remove_router_interface", "context_is_admin"))
async def remove_router_interface(ident: str, body: InterfaceBody, request: Request,
                                  ctx: Ctx) -> JSONResponse:
    routers = lifespan_state(request, "routers", Routers)
    info = await routers.remove_interface(ctx, ident, body.attrs())
    await lifespan_state(request, "notifier", Notifier).info(
        ctx, "router.interface.delete", {"router_interface": info})
    return JSONResponse(info)
