"""Remote consoles: POST /servers/{id}/remote-consoles (2.6+), the older os-getVNCConsole,
os-getSPICEConsole, os-getRDPConsole and os-getSerialConsole actions (to 2.5; in
server_actions.py), and GET /os-console-auth-tokens/{token} (admin, 2.31+). The guest's
password: GET and DELETE /servers/{id}/os-server-password."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from overcast.common import faults
from overcast.common.api import lifespan_state, state
from overcast.common.api import policy as _policy
from overcast.common.app import Ctx
from overcast.compute.api.server_views import policy
from overcast.compute.api.servers import Servers
from overcast.compute.consoles import Consoles
from overcast.compute.guest_passwords import GuestPasswords

router = APIRouter(prefix="/v2.1", tags=["remote consoles"])

ConsolesDep = Annotated[Consoles, Depends(state("consoles", Consoles))]
PasswordsDep = Annotated[GuestPasswords, Depends(state("guest_passwords", GuestPasswords))]
RULE = "os_compute_api:os-remote-consoles"


class RemoteConsoleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["vnc", "spice", "serial", "rdp", "mks"]
    type: Literal["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5", "webmks"]


class RemoteConsoleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    remote_console: RemoteConsoleSpec


async def console_url(ctx: Ctx, servers: Servers, consoles: Consoles, server_id: str,
                      protocol: str, console_type: str) -> str:
    """The URL of a new console of the server: load (404), authorize, ask its host."""
    inst = await servers.get(ctx, server_id)
    ctx.enforce(RULE, {"project_id": inst.project_id})
    return await consoles.create(ctx, inst, protocol, console_type)


@router.post("/servers/{server_id}/remote-consoles", **policy(RULE))
async def create_remote_console(server_id: str, body: RemoteConsoleCreate, ctx: Ctx,
                                servers: Servers, consoles: ConsolesDep) -> dict[str, Any]:
    if ctx.microversion < (2, 6):
        raise faults.NotFound("The resource could not be found.")
    spec = body.remote_console
    if ctx.microversion < (2, 8) and (spec.protocol == "mks" or spec.type == "webmks"):
        field = "protocol" if spec.protocol == "mks" else "type"
        raise faults.BadRequest(f"Invalid input for field/attribute {field}. Value: "
                                f"{getattr(spec, field)}. '{getattr(spec, field)}' is not one "
                                f"of the values allowed before microversion 2.8")
    url = await console_url(ctx, servers, consoles, server_id, spec.protocol, spec.type)
    return {"remote_console": {"protocol": spec.protocol, "type": spec.type, "url": url}}


@router.get("/os-console-auth-tokens/{console_token}",
            **_policy("os_compute_api:os-console-auth-tokens"))
async def show_console_token(console_token: str, ctx: Ctx,
                             consoles: ConsolesDep) -> dict[str, Any]:
    ctx.enforce("os_compute_api:os-console-auth-tokens", {"project_id": ctx.project_id})
    # Before 2.31 only RDP tokens could be shown, and RDP is gone: Nova answers 400.
    if ctx.microversion < (2, 31):
        raise faults.BadRequest("The request is not valid before microversion 2.31.")
    conn = await consoles.validate(console_token)
    if conn is None:
        raise faults.NotFound("Token not found")
    return {"console": {"instance_uuid": conn.instance_uuid, "host": conn.host,
                        "port": conn.port, "internal_access_path": conn.internal_access_path}}


@router.get("/servers/{server_id}/os-server-password",
            **policy("os_compute_api:os-server-password:show"))
async def show_password(server_id: str, ctx: Ctx, servers: Servers,
                        passwords: PasswordsDep) -> dict[str, Any]:
    inst = await servers.get(ctx, server_id)
    ctx.enforce("os_compute_api:os-server-password:show", {"project_id": inst.project_id})
    return {"password": await passwords.get(inst.uuid)}


@router.delete("/servers/{server_id}/os-server-password", status_code=204,
               **policy("os_compute_api:os-server-password:clear"))
async def clear_password(server_id: str, ctx: Ctx, servers: Servers,
                         passwords: PasswordsDep) -> Response:
    inst = await servers.get(ctx, server_id)
    ctx.enforce("os_compute_api:os-server-password:clear", {"project_id": inst.project_id})
    await passwords.clear(inst.uuid)
    return Response(status_code=204)


#: The pre-2.6 actions: ServerAction field -> (protocol, the only types its schema allows).
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vnc": ("vnc", ("novnc", "xvpvnc")), "spice": ("spice", ("spice-html5",)),
    "rdp": ("rdp", ()), "serial": ("serial", ("serial",))}
_ACTION_NAMES = {"vnc": "os-getVNCConsole", "spice": "os-getSPICEConsole",
                 "rdp": "os-getRDPConsole", "serial": "os-getSerialConsole"}


async def console_action(key: str, body: dict[str, Any] | None, server_id: str,
                         request: Request, ctx: Ctx, servers: Servers) -> JSONResponse:
    """os-getVNCConsole and its siblings (2.1 to 2.5): {"console": {"type", "url"}}."""
    if ctx.microversion >= (2, 6):  # replaced by remote-consoles: Nova's 404 for the action
        raise faults.NotFound("The resource could not be found.")
    protocol, types = ACTIONS[key]
    if protocol == "rdp":  # removed from Nova with the Hyper-V driver
        raise faults.BadRequest("Unavailable console type rdp.")
    console_type = (body or {}).get("type")
    if set(body or {}) - {"type"} or console_type not in types:
        raise faults.BadRequest(f"Invalid input for field/attribute type. Value: "
                                f"{console_type}. '{console_type}' is not one of "
                                f"{list(types)} ({_ACTION_NAMES[key]})")
    consoles = lifespan_state(request, "consoles", Consoles)
    url = await console_url(ctx, servers, consoles, server_id, protocol, str(console_type))
    return JSONResponse({"console": {"type": console_type, "url": url}})
