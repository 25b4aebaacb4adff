"""POST /servers/{id}/action: one action per body, as Nova's (os-start, os-stop, reboot,
resize, confirmResize, revertResize, createImage, createBackup, rebuild, lock, unlock, pause,
unpause, suspend, resume, os-getConsoleOutput, forceDelete; shelve, shelveOffload, unshelve,
rescue and unrescue in api/shelve_rescue.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.common.clients import ServiceError
from overcast.compute.api import remote_consoles, shelve_rescue
from overcast.compute.api import server_views as views
from overcast.compute.api.interfaces import Ifaces
from overcast.compute.api.server_views import policy
from overcast.compute.api.servers import Servers, _password, _token, disk_config, show_view
from overcast.compute.instance_states import TaskState as T
from overcast.compute.servers import check_disk_config, image_meta

router = APIRouter(prefix="/v2.1/servers", tags=["server actions"])


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Reboot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str


class Resize(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    flavorRef: str | int
    disk_config: str | None = Field(None, alias="OS-DCF:diskConfig")


class CreateImage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    metadata: dict[str, str] = Field(default_factory=dict)


class CreateBackup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    backup_type: str
    rotation: int | str
    metadata: dict[str, str] = Field(default_factory=dict)


class Rebuild(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    imageRef: str
    name: str | None = Field(None, min_length=1, max_length=255)
    metadata: dict[str, str] | None = None
    adminPass: str | None = None
    description: str | None = None
    disk_config: str | None = Field(None, alias="OS-DCF:diskConfig")


class Lock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    locked_reason: str | None = Field(None, max_length=255)


class ConsoleOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    length: int | str | None = None


class ServerAction(BaseModel):
    """Exactly one of these keys (an unknown one is a 400 once the server is found, as Nova's
    404 for a missing server comes first)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    start: dict[str, Any] | None = Field(None, alias="os-start")
    stop: dict[str, Any] | None = Field(None, alias="os-stop")
    reboot: Reboot | None = None
    resize: Resize | None = None
    confirmResize: dict[str, Any] | None = None
    revertResize: dict[str, Any] | None = None
    createImage: CreateImage | None = None
    createBackup: CreateBackup | None = None
    rebuild: Rebuild | None = None
    lock: Lock | None = None
    unlock: dict[str, Any] | None = None
    pause: dict[str, Any] | None = None
    unpause: dict[str, Any] | None = None
    suspend: dict[str, Any] | None = None
    resume: dict[str, Any] | None = None
    console: ConsoleOutput | None = Field(None, alias="os-getConsoleOutput")
    vnc: dict[str, Any] | None = Field(None, alias="os-getVNCConsole")
    spice: dict[str, Any] | None = Field(None, alias="os-getSPICEConsole")
    rdp: dict[str, Any] | None = Field(None, alias="os-getRDPConsole")
    serial: dict[str, Any] | None = Field(None, alias="os-getSerialConsole")
    forceDelete: dict[str, Any] | None = None
    resetState: dict[str, Any] | None = Field(None, alias="os-resetState")
    restore: dict[str, Any] | None = None
    addSecurityGroup: dict[str, Any] | None = None
    removeSecurityGroup: dict[str, Any] | None = None
    shelve: dict[str, Any] | None = None
    shelveOffload: dict[str, Any] | None = None
    unshelve: dict[str, Any] | None = None
    rescue: dict[str, Any] | None = None
    unrescue: dict[str, Any] | None = None


_RULES = ("os_compute_api:servers:start", "os_compute_api:servers:stop",
          "os_compute_api:servers:reboot", "os_compute_api:servers:resize",
          "os_compute_api:servers:confirm_resize", "os_compute_api:servers:revert_resize",
          "os_compute_api:servers:create_image", "os_compute_api:os-create-backup",
          "os_compute_api:servers:rebuild", "os_compute_api:os-lock-server:lock",
          "os_compute_api:os-lock-server:unlock",
          "os_compute_api:os-lock-server:unlock:unlock_override",
          "os_compute_api:os-pause-server:pause", "os_compute_api:os-pause-server:unpause",
          "os_compute_api:os-suspend-server:suspend", "os_compute_api:os-suspend-server:resume",
          "os_compute_api:os-console-output", "os_compute_api:os-deferred-delete:force",
          "os_compute_api:os-extended-server-attributes",
          "os_compute_api:servers:show:host_status",
          "os_compute_api:servers:show:flavor-extra-specs",
          "os_compute_api:servers:create:forced_host", "os_compute_api:servers:show",
          "os_compute_api:os-admin-actions:reset_state",
          "os_compute_api:os-deferred-delete:restore",
          "os_compute_api:os-security-groups:add", "os_compute_api:os-security-groups:remove",
          remote_consoles.RULE, *shelve_rescue.RULES)

_OVERRIDE = "os_compute_api:os-lock-server:unlock:unlock_override"

# key -> (Nova's action name, rule, state check, task_state, instance action record)
_SIMPLE: dict[str, tuple[str, str, str, str, str]] = {
    "start": ("start", "os_compute_api:servers:start", "start", T.POWERING_ON, "start"),
    "stop": ("stop", "os_compute_api:servers:stop", "stop", T.POWERING_OFF, "stop"),
    "pause": ("pause", "os_compute_api:os-pause-server:pause", "pause", T.PAUSING, "pause"),
    "unpause": ("unpause", "os_compute_api:os-pause-server:unpause", "unpause", T.UNPAUSING,
                "unpause"),
    "suspend": ("suspend", "os_compute_api:os-suspend-server:suspend", "suspend",
                T.SUSPENDING, "suspend"),
    "resume": ("resume", "os_compute_api:os-suspend-server:resume", "resume", T.RESUMING,
               "resume"),
    "confirmResize": ("confirmResize", "os_compute_api:servers:confirm_resize",
                      "confirm_resize", T.RESIZE_CONFIRMING, "confirmResize"),
    "revertResize": ("revertResize", "os_compute_api:servers:revert_resize", "revert_resize",
                     T.RESIZE_REVERTING, "revertResize"),
}


@router.post("/{server_id}/action", **policy(*_RULES))
async def server_action(server_id: str, body: ServerAction, request: Request, ctx: Ctx,
                        servers: Servers, interfaces: Ifaces) -> Response:
    await servers.get(ctx, server_id)  # 404 before anything about the body
    given = [k for k in body.model_fields_set] + list(body.model_extra or {})
    if len(given) != 1:
        raise faults.BadRequest("There is no such action: one action per request")
    key = given[0]
    if key in (body.model_extra or {}):
        raise faults.BadRequest(f"There is no such action: {key}")
    rid = ctx.request_id
    token = _token(request)
    if key in _SIMPLE:
        name, rule, check, task, record = _SIMPLE[key]
        await servers.action(ctx, server_id, name, rule, rid, state_action=check,
                             task_state=task, record=record, lock_rule=_OVERRIDE)
        # Nova answers confirmResize with 204, the others with 202.
        return Response(status_code=204 if key == "confirmResize" else 202)
    if key == "shelve":
        return await shelve_rescue.shelve(server_id, request, ctx, servers)
    if key == "shelveOffload":
        return await shelve_rescue.shelve_offload(server_id, ctx, servers)
    if key == "unshelve":
        return await shelve_rescue.unshelve(server_id, request, ctx, servers)
    if key == "rescue":
        return await shelve_rescue.rescue(server_id, body.rescue, request, ctx, servers)
    if key == "unrescue":
        return await shelve_rescue.unrescue(server_id, ctx, servers)
    if key == "resetState":
        state = (body.resetState or {}).get("state")
        if state not in ("active", "error"):
            raise faults.BadRequest("Invalid input for field/attribute state. Value: "
                                    f"{state}. It must be 'active' or 'error'")
        await servers.action(ctx, server_id, "resetState",
                             "os_compute_api:os-admin-actions:reset_state", rid,
                             state_action=None, task_state=None, record="resetState",
                             updates={"vm_state": state, "task_state": None})
        return Response(status_code=202)
    if key == "restore":
        # No deferred delete here (Nova's reclaim_instance_interval = 0): nothing is ever
        # SOFT_DELETED, so a restore always finds the wrong state.
        inst = await servers.get(ctx, server_id)
        ctx.enforce("os_compute_api:os-deferred-delete:restore", {"project_id": inst.project_id})
        raise faults.Conflict(f"Cannot 'restore' instance {inst.uuid} while it is in vm_state "
                              f"{inst.vm_state}")
    if key == "reboot" and body.reboot is not None:
        kind = body.reboot.type.upper()
        if kind not in ("SOFT", "HARD"):
            raise faults.BadRequest("Argument 'type' for reboot must be a string with value "
                                    "'SOFT' or 'HARD'.")
        inst = await servers.get(ctx, server_id)
        if kind == "SOFT" and inst.vm_state != "active":
            raise faults.Conflict(f"Cannot 'reboot' instance {inst.uuid} while it is in "
                                  f"vm_state {inst.vm_state}")
        await servers.action(ctx, server_id, "reboot", "os_compute_api:servers:reboot", rid,
                             state_action="reboot",
                             task_state=T.REBOOTING_HARD if kind == "HARD" else T.REBOOTING,
                             record="reboot", lock_rule=_OVERRIDE)
        return Response(status_code=202)
    if key == "resize" and body.resize is not None:
        auto = disk_config(body.resize.disk_config)
        inst = await servers.get(ctx, server_id)
        check_disk_config(auto, inst.image_meta, inst.image_ref)
        new = await servers.flavor_for_resize(ctx, inst, str(body.resize.flavorRef))
        await servers.check_resize_quota(ctx, inst, new)
        resize_updates: dict[str, Any] = {"new_flavor": new}
        if auto is not None:
            resize_updates["auto_disk_config"] = auto
        await servers.action(ctx, server_id, "resize", "os_compute_api:servers:resize", rid,
                             state_action="resize", task_state=T.RESIZE_PREP, record="resize",
                             updates=resize_updates, lock_rule=_OVERRIDE)
        return Response(status_code=202)
    if key in ("createImage", "createBackup"):
        return await _snapshot(server_id, body, request, ctx, servers, token)
    if key == "rebuild" and body.rebuild is not None:
        rb = body.rebuild
        auto = disk_config(rb.disk_config)
        image = await servers._image(ctx, token, rb.imageRef)
        inst = await servers.get(ctx, server_id)
        check_disk_config(auto, image_meta(image), image["id"])
        flavor = inst.flavor
        if flavor.get("memory_mb", 0) < (image.get("min_ram") or 0):
            raise faults.BadRequest("Flavor's memory is too small for requested image.")
        if flavor.get("root_gb") and flavor["root_gb"] < (image.get("min_disk") or 0):
            raise faults.BadRequest("Flavor's disk is too small for requested image.")
        updates: dict[str, Any] = {"image_ref": image["id"], "image_meta": image_meta(image)}
        if rb.name is not None:
            updates["display_name"] = rb.name
        if rb.description is not None and ctx.microversion >= (2, 19):
            updates["display_description"] = rb.description
        if auto is not None:
            updates["auto_disk_config"] = auto
        await servers.action(ctx, server_id, "rebuild", "os_compute_api:servers:rebuild", rid,
                             state_action="rebuild", task_state=T.REBUILDING, record="rebuild",
                             updates=updates, token=token, lock_rule=_OVERRIDE)
        if rb.metadata is not None:
            await servers.replace_metadata(ctx, server_id, rb.metadata, rule=None)
        view = await show_view(request, ctx, servers, server_id)
        inst = await servers.get(ctx, server_id)
        server = views.for_update(ctx, view["server"], rebuild=True, user_data=inst.user_data)
        server["adminPass"] = rb.adminPass or _password()
        return JSONResponse({"server": server}, status_code=202)
    if key == "lock":
        reason = body.lock.locked_reason if body.lock is not None else None
        if reason is not None and ctx.microversion < (2, 73):
            raise faults.BadRequest("Additional properties are not allowed ('locked_reason' "
                                    "was unexpected)")
        await servers.lock(ctx, server_id, rid, reason)
        return Response(status_code=202)
    if key == "unlock":
        await servers.unlock(ctx, server_id, rid)
        return Response(status_code=202)
    if key == "console":
        raw = body.console.length if body.console is not None else None
        length = None
        if raw is not None:
            try:
                length = int(raw)
            except (TypeError, ValueError):
                raise faults.BadRequest("Invalid input for field/attribute length.") from None
            if length < -1:
                raise faults.BadRequest("Invalid input for field/attribute length.")
            length = None if length == -1 else length
        out = await servers.console_output(ctx, server_id, length)
        return JSONResponse({"output": out})
    if key in remote_consoles.ACTIONS:
        return await remote_consoles.console_action(key, getattr(body, key), server_id, request,
                                                    ctx, servers)
    if key in ("addSecurityGroup", "removeSecurityGroup"):
        group = getattr(body, key) or {}
        await interfaces.security_group(ctx, server_id, token, str(group.get("name") or ""),
                                        add=key == "addSecurityGroup")
        return Response(status_code=202)
    if key == "forceDelete":
        await servers.delete(ctx, server_id, rid, force=True)
        return Response(status_code=202)
    raise faults.BadRequest(f"There is no such action: {key}")


async def _snapshot(server_id: str, body: ServerAction, request: Request, ctx: Ctx,
                    servers: Servers, token: str) -> Response:
    backup = body.createBackup is not None
    spec = body.createBackup if backup else body.createImage
    assert spec is not None
    rule = "os_compute_api:os-create-backup" if backup else "os_compute_api:servers:create_image"
    inst = await servers.get(ctx, server_id)
    ctx.enforce(rule, {"project_id": inst.project_id})
    from overcast.compute.instance_states import allowed

    if not allowed("snapshot", inst.vm_state, inst.task_state):
        attr, state = (("task_state", inst.task_state) if inst.task_state
                       else ("vm_state", inst.vm_state))
        raise faults.Conflict(f"Cannot '{'createBackup' if backup else 'createImage'}' instance "
                              f"{inst.uuid} while it is in {attr} {state}")
    props = {k: v for k, v in (inst.image_meta.get("properties") or {}).items()
             if isinstance(v, str) and k not in ("image_type", "instance_uuid", "base_image_ref",
                                                 "owner_user_name", "owner_project_name")}
    # The request's metadata overrides the snapshot's own properties (image_type too), as
    # Nova's extra_properties do; not the name, formats and minimums.
    image_body: dict[str, Any] = {
        **props, "image_type": "backup" if backup else "snapshot",
        "instance_uuid": inst.uuid, "base_image_ref": inst.image_ref, "user_id": inst.user_id,
        **spec.metadata, "name": spec.name, "container_format": "bare", "disk_format": "qcow2",
        "min_ram": int(inst.image_meta.get("min_ram") or 0),
        "min_disk": int(inst.flavor.get("root_gb") or inst.image_meta.get("min_disk") or 0),
    }
    backup_info: dict[str, Any] | None = None
    if backup and isinstance(body.createBackup, CreateBackup):
        try:
            rotation = int(body.createBackup.rotation)
        except (TypeError, ValueError):
            raise faults.BadRequest("Invalid input for field/attribute rotation.") from None
        if rotation < 0:
            raise faults.BadRequest("Invalid input for field/attribute rotation.")
        image_body["backup_type"] = body.createBackup.backup_type
        backup_info = {"type": body.createBackup.backup_type, "rotation": rotation}
    try:
        image = await servers.images.create_image(token, image_body)
    except ServiceError as exc:
        raise faults.BadRequest(f"The image could not be created: {exc}") from exc
    await servers.action(ctx, server_id, "createImage", rule, ctx.request_id,
                         state_action="snapshot",
                         task_state=T.IMAGE_BACKUP if backup else T.IMAGE_SNAPSHOT,
                         record="createBackup" if backup else "createImage",
                         updates={"snapshot_image_id": image["id"]}, token=token,
                         lock_rule=_OVERRIDE, extra={"backup": backup_info} if backup_info
                         else None)
    location = f"{str(request.base_url).rstrip('/')}/images/{image['id']}"
    if ctx.microversion >= (2, 45):
        return JSONResponse({"image_id": image["id"]}, status_code=202)
    return Response(status_code=202, headers={"Location": location})
