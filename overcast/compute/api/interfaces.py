"""/servers/{id}/os-interface: a server's ports (list, show, attach, detach), their security
groups (/servers/{id}/os-security-groups), and
/os-server-external-events: what Networking tells Compute about ports (admin or service)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import state
from overcast.common.app import Ctx
from overcast.compute.api.server_views import policy
from overcast.compute.interfaces import EVENT_NAMES, ExternalEvent, Interfaces, attachment

router = APIRouter(prefix="/v2.1", tags=["interfaces"])

Ifaces = Annotated[Interfaces, Depends(state("interfaces", Interfaces))]


class FixedIp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ip_address: str


class AttachmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    net_id: str | None = None
    port_id: str | None = None
    fixed_ips: list[FixedIp] | None = Field(None, max_length=1)
    tag: str | None = Field(None, max_length=60)


class AttachInterface(BaseModel):
    """POST /servers/{id}/os-interface (Nova's attach_interfaces create schema)."""

    model_config = ConfigDict(extra="forbid")
    interfaceAttachment: AttachmentSpec | None = None


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    server_uuid: str
    status: str = "completed"
    tag: str | None = Field(None, max_length=255)


class ExternalEvents(BaseModel):
    """POST /os-server-external-events."""

    model_config = ConfigDict(extra="forbid")
    events: list[Event] = Field(min_length=1)


def _token(request: Request) -> str:
    return request.headers.get("x-auth-token", "")


@router.get("/servers/{server_id}/os-interface",
            **policy("os_compute_api:os-attach-interfaces:list"))
async def list_interfaces(server_id: str, request: Request, ctx: Ctx, ifaces: Ifaces
                          ) -> dict[str, Any]:
    ports = await ifaces.list_interfaces(ctx, server_id, _token(request))
    tag = ctx.microversion >= (2, 70)
    return {"interfaceAttachments": [attachment(p, tag) for p in ports]}


@router.get("/servers/{server_id}/os-interface/{port_id}",
            **policy("os_compute_api:os-attach-interfaces:show"))
async def show_interface(server_id: str, port_id: str, request: Request, ctx: Ctx,
                         ifaces: Ifaces) -> dict[str, Any]:
    port = await ifaces.show_interface(ctx, server_id, port_id, _token(request))
    return {"interfaceAttachment": attachment(port, ctx.microversion >= (2, 70))}


@router.post("/servers/{server_id}/os-interface",
             **policy("os_compute_api:os-attach-interfaces:create",
                      "network:attach_external_network",
                      "os_compute_api:os-lock-server:unlock:unlock_override"))
async def attach_interface(server_id: str, body: AttachInterface, request: Request, ctx: Ctx,
                           ifaces: Ifaces) -> dict[str, Any]:
    spec = body.interfaceAttachment or AttachmentSpec()
    if spec.tag is not None and ctx.microversion < (2, 49):
        raise faults.BadRequest("Additional properties are not allowed ('tag' was unexpected)")
    if spec.net_id and spec.port_id:
        raise faults.BadRequest("Must not input both network_id and port_id")
    fixed = spec.fixed_ips[0].ip_address if spec.fixed_ips else None
    if fixed is not None and not spec.net_id:
        raise faults.BadRequest("Must input network_id when request IP address")
    port = await ifaces.attach(ctx, server_id, _token(request), ctx.request_id,
                               net_id=spec.net_id, port_id=spec.port_id, fixed_ip=fixed,
                               tag=spec.tag)
    return {"interfaceAttachment": attachment(port, ctx.microversion >= (2, 70))}


@router.delete("/servers/{server_id}/os-interface/{port_id}", status_code=202,
               **policy("os_compute_api:os-attach-interfaces:delete",
                        "os_compute_api:os-lock-server:unlock:unlock_override"))
async def detach_interface(server_id: str, port_id: str, request: Request, ctx: Ctx,
                           ifaces: Ifaces) -> Response:
    await ifaces.detach(ctx, server_id, port_id, _token(request), ctx.request_id)
    return Response(status_code=202)


@router.get("/servers/{server_id}/os-security-groups",
            **policy("os_compute_api:os-security-groups:list"))
async def server_security_groups(server_id: str, request: Request, ctx: Ctx, ifaces: Ifaces
                                 ) -> dict[str, Any]:
    """The security groups of the server's ports, Nova's proxy to Networking."""
    return {"security_groups": await ifaces.security_groups(ctx, server_id, _token(request))}


@router.post("/os-server-external-events",
             **policy("os_compute_api:os-server-external-events:create"))
async def external_events(body: ExternalEvents, ctx: Ctx, ifaces: Ifaces) -> JSONResponse:
    for e in body.events:
        since = EVENT_NAMES.get(e.name)
        if since is None or ctx.microversion < since:
            raise faults.BadRequest(f"Invalid input for field/attribute name. Value: {e.name}. "
                                    f"'{e.name}' is not one of {sorted(EVENT_NAMES)}")
        try:
            uuid.UUID(e.server_uuid)
        except ValueError:
            raise faults.BadRequest(f"Invalid input for field/attribute server_uuid. Value: "
                                    f"{e.server_uuid}. '{e.server_uuid}' is not a "
                                    "'uuid'") from None
        if e.status not in ("failed", "completed", "in-progress"):
            raise faults.BadRequest(f"Invalid input for field/attribute status. Value: "
                                    f"{e.status}.")
    events, code = await ifaces.external_events(
        ctx, [ExternalEvent(e.name, e.server_uuid, e.status, e.tag) for e in body.events])
    return JSONResponse({"events": events}, status_code=code)
