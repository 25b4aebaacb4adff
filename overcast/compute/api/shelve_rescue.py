"""The shelve and rescue server actions (POST /servers/{id}/action), as Nova's os-shelve and
os-rescue: shelve snapshots the server into the image "<name>-shelved" and stops it
(SHELVED; offloaded from its host at once with `[compute] shelved_offload_time = 0`, Nova's
default: SHELVED_OFFLOADED); shelveOffload (admins) frees the host of a SHELVED server;
unshelve boots it again (from that image, on a host the scheduler picks when offloaded) and
deletes the image. rescue boots the server from a rescue image (its own by default) and answers
the password; unrescue boots its own disk again."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.common.clients import ServiceError
from overcast.compute.api.servers import Servers, _password, _token
from overcast.compute.instance_states import TaskState as T
from overcast.compute.instance_states import allowed
from overcast.compute.servers import image_meta

__all__ = ["RULES", "rescue", "shelve", "shelve_offload", "unrescue", "unshelve"]

_SHELVE = "os_compute_api:os-shelve:shelve"
_UNSHELVE = "os_compute_api:os-shelve:unshelve"
_OFFLOAD = "os_compute_api:os-shelve:shelve_offload"
_RESCUE = "os_compute_api:os-rescue"
_UNRESCUE = "os_compute_api:os-unrescue"
_OVERRIDE = "os_compute_api:os-lock-server:unlock:unlock_override"
RULES = (_SHELVE, _UNSHELVE, _OFFLOAD, _RESCUE, _UNRESCUE)


async def shelve(server_id: str, request: Request, ctx: Ctx, servers: Servers) -> Response:
    inst = await servers.get(ctx, server_id)
    ctx.enforce(_SHELVE, {"project_id": inst.project_id, "user_id": inst.user_id})
    if not allowed("shelve", inst.vm_state, inst.task_state):
        # Checked before the image is made, so a refused shelve leaves nothing behind.
        attr, state = (("task_state", inst.task_state) if inst.task_state
                       else ("vm_state", inst.vm_state))
        raise faults.Conflict(f"Cannot 'shelve' instance {inst.uuid} while it is in "
                              f"{attr} {state}")
    token = _token(request)
    props = {k: v for k, v in (inst.image_meta.get("properties") or {}).items()
             if isinstance(v, str) and k not in ("image_type", "instance_uuid", "base_image_ref",
                                                 "owner_user_name", "owner_project_name")}
    body: dict[str, Any] = {
        **props, "name": f"{inst.display_name}-shelved", "container_format": "bare",
        "disk_format": "qcow2", "image_type": "snapshot", "instance_uuid": inst.uuid,
        "base_image_ref": inst.image_ref, "user_id": inst.user_id,
        "min_ram": int(inst.image_meta.get("min_ram") or 0),
        "min_disk": int(inst.flavor.get("root_gb") or inst.image_meta.get("min_disk") or 0)}
    try:
        image = await servers.images.create_image(token, body)
    except ServiceError as exc:
        raise faults.BadRequest(f"The shelved image could not be created: {exc}") from exc
    try:
        await servers.action(ctx, server_id, "shelve", _SHELVE, ctx.request_id,
                             state_action="shelve", task_state=T.SHELVING, record="shelve",
                             updates={"snapshot_image_id": image["id"]}, token=token,
                             lock_rule=_OVERRIDE)
    except faults.Fault:
        await _forget_image(servers, token, image["id"])  # the state changed meanwhile
        raise
    return Response(status_code=202)


async def _forget_image(servers: Servers, token: str, image_id: str) -> None:
    try:
        await servers.images.delete_image(token, image_id)
    except ServiceError:
        pass  # an unused queued image; the Image service keeps it, harmless


async def shelve_offload(server_id: str, ctx: Ctx, servers: Servers) -> Response:
    await servers.action(ctx, server_id, "shelveOffload", _OFFLOAD, ctx.request_id,
                         state_action="shelve_offload", task_state=T.SHELVING_OFFLOADING,
                         record="shelveOffload", lock_rule=_OVERRIDE)
    return Response(status_code=202)


async def unshelve(server_id: str, request: Request, ctx: Ctx, servers: Servers) -> Response:
    await servers.unshelve(ctx, server_id, ctx.request_id, _token(request), _UNSHELVE,
                           _OVERRIDE)
    return Response(status_code=202)


async def rescue(server_id: str, spec: dict[str, Any] | None, request: Request, ctx: Ctx,
                 servers: Servers) -> Response:
    spec = spec or {}
    extra = sorted(set(spec) - {"adminPass", "rescue_image_ref"})
    if extra:
        raise faults.BadRequest("Invalid input for field/attribute rescue. Additional "
                                f"properties are not allowed ({', '.join(extra)})")
    password = spec.get("adminPass")
    if password is not None and not isinstance(password, str):
        raise faults.BadRequest("Invalid input for field/attribute adminPass.")
    token = _token(request)
    inst = await servers.get(ctx, server_id)
    ctx.enforce(_RESCUE, {"project_id": inst.project_id, "user_id": inst.user_id})
    updates: dict[str, Any] = {}
    ref = spec.get("rescue_image_ref")
    if ref is not None:
        if not isinstance(ref, str) or not ref:
            raise faults.BadRequest("Invalid input for field/attribute rescue_image_ref.")
        image = await servers._image(ctx, token, ref)
        updates["rescue_image"] = {"id": image["id"], **image_meta(image)}
    await servers.action(ctx, server_id, "rescue", _RESCUE, ctx.request_id,
                         state_action="rescue", task_state=T.RESCUING, record="rescue",
                         token=token, lock_rule=_OVERRIDE,
                         extra={"rescue_image": updates["rescue_image"]} if updates else None)
    return JSONResponse({"adminPass": password or _password()})


async def unrescue(server_id: str, ctx: Ctx, servers: Servers) -> Response:
    await servers.action(ctx, server_id, "unrescue", _UNRESCUE, ctx.request_id,
                         state_action="unrescue", task_state=T.UNRESCUING, record="unrescue",
                         lock_rule=_OVERRIDE)
    return Response(status_code=202)
