"""/servers/{id}/os-instance-actions: what was asked of a server, with events for admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from overcast.common.app import Ctx
from overcast.compute.api.server_views import iso, policy
from overcast.compute.api.servers import Servers
from overcast.compute.instance_models import InstanceAction

router = APIRouter(prefix="/v2.1/servers", tags=["instance actions"])

_A = "os_compute_api:os-instance-actions:"


def _action(a: InstanceAction, mv: tuple[int, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"action": a.action, "instance_uuid": a.instance_uuid,
                           "request_id": a.request_id, "user_id": a.user_id,
                           "project_id": a.project_id, "start_time": iso(a.start_time),
                           "message": a.message}
    if mv >= (2, 58):
        out["updated_at"] = iso(a.updated_at)
    return out


@router.get("/{server_id}/os-instance-actions", **policy(_A + "list"))
async def list_actions(server_id: str, ctx: Ctx, servers: Servers) -> dict[str, Any]:
    actions = await servers.actions(ctx, server_id)
    return {"instanceActions": [_action(a, ctx.microversion) for a in actions]}


@router.get("/{server_id}/os-instance-actions/{request_id}",
            **policy(_A + "show", _A + "events", _A + "events:details"))
async def show_action(server_id: str, request_id: str, ctx: Ctx, servers: Servers
                      ) -> dict[str, Any]:
    a = await servers.action_of(ctx, server_id, request_id)
    out = _action(a, ctx.microversion)
    target = {"project_id": a.project_id}
    if ctx.microversion >= (2, 51) or ctx.can(_A + "events", target):
        admin = ctx.can(_A + "events", target)
        events = []
        for e in a.events:
            ev: dict[str, Any] = {"event": e.event, "start_time": iso(e.start_time),
                                  "finish_time": iso(e.finish_time), "result": e.result}
            if admin:
                ev["traceback"] = e.traceback
            if ctx.microversion >= (2, 62) and admin:
                ev["host"] = e.host or ""
                ev["hostId"] = ""
            elif ctx.microversion >= (2, 62):
                ev["hostId"] = ""
            if ctx.microversion >= (2, 84) and ctx.can(_A + "events:details", target):
                ev["details"] = e.details
            events.append(ev)
        out["events"] = events
    return {"instanceAction": out}
