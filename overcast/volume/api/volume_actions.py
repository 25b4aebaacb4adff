"""POST /v3/{project_id}/volumes/{volume_id}/action: os-extend, os-reset_status (admin),
os-set_bootable, os-update_readonly_flag, os-force_delete (admin). The attachment, upload,
retype, revert and migration actions answer 501 until they exist."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.volume.api import Vols, cinder_bool, size_int

router = APIRouter(prefix="/v3/{project_id}/volumes", tags=["volume actions"])

_UNSUPPORTED = ("os-attach", "os-detach", "os-reserve", "os-unreserve", "os-begin_detaching",
                "os-roll_detaching", "os-initialize_connection", "os-terminate_connection",
                "os-volume_upload_image", "os-retype", "os-migrate_volume", "revert",
                "os-migrate_volume_completion", "os-reimage", "os-unmanage",
                "os-force_detach", "os-reset_status_attachments")


class Extend(BaseModel):
    new_size: Annotated[int, size_int]


class ResetStatus(BaseModel):
    status: str | None = None
    attach_status: str | None = None
    migration_status: str | None = None


class Bootable(BaseModel):
    bootable: Annotated[bool, cinder_bool]


class Readonly(BaseModel):
    readonly: Annotated[bool, cinder_bool]


class VolumeAction(BaseModel):
    """One action per request, named by its key."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    extend: Extend | None = Field(None, alias="os-extend")
    reset_status: ResetStatus | None = Field(None, alias="os-reset_status")
    set_bootable: Bootable | None = Field(None, alias="os-set_bootable")
    update_readonly: Readonly | None = Field(None, alias="os-update_readonly_flag")
    force_delete: dict[str, Any] | None = Field(None, alias="os-force_delete")


@router.post("/{volume_id}/action", response_class=Response, status_code=202, **policy(
    "volume:extend", "volume_extension:volume_admin_actions:reset_status",
    "volume_extension:volume_actions:set_bootable", "volume:update_readonly_flag",
    "volume_extension:volume_admin_actions:force_delete", "volume:get_all_admin",
    "volume:get"))
async def volume_action(project_id: str, volume_id: str, body: VolumeAction, ctx: Ctx,
                        vols: Vols) -> Response:
    sent = sorted(body.model_fields_set)  # extra keys included
    if len(sent) != 1:
        raise faults.BadRequest("Invalid request body: exactly one action is expected.")
    if body.extend is not None:
        await vols.extend(ctx, volume_id, body.extend.new_size)
        return Response(status_code=202)
    if body.reset_status is not None:
        await vols.reset_status(ctx, volume_id, body.reset_status.status,
                                body.reset_status.attach_status)
        return Response(status_code=202)
    if body.set_bootable is not None:
        await vols.set_flag(ctx, volume_id, "volume_extension:volume_actions:set_bootable",
                            body.set_bootable.bootable)
        return Response(status_code=200)
    if body.update_readonly is not None:
        await vols.set_flag(ctx, volume_id, "volume:update_readonly_flag",
                            body.update_readonly.readonly)
        return Response(status_code=202)
    if "force_delete" in body.model_fields_set:
        await vols.delete(ctx, volume_id, cascade=True, force=True)
        return Response(status_code=202)
    name = sent[0]
    if name in _UNSUPPORTED:
        await vols.get(ctx, volume_id)  # an unknown or another project's volume: 404 first
        raise faults.NotImplementedFault(f"The volume action {name} is not supported yet.")
    raise faults.BadRequest(f"There is no such action: {name}")
