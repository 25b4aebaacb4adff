"""/v3/{project_id}/snapshots: create (force for an in-use volume; from 3.66 no force needed),
list (summary and detail), show, update, delete, metadata, and the snapshot actions
os-reset_status and os-force_delete (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import policy, query_bool
from overcast.common.app import Ctx
from overcast.volume.api import Cfg, Snaps, isotime, links, page_params
from overcast.volume.snapshots import SnapshotInfo

router = APIRouter(prefix="/v3/{project_id}/snapshots", tags=["snapshots"])

Meta = dict[str, str]


class SnapshotCreate(BaseModel):
    model_config = ConfigDict(extra="allow")
    volume_id: str
    name: str | None = Field(None, max_length=255)
    display_name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    display_description: str | None = Field(None, max_length=255)
    force: bool | str | None = False
    metadata: Meta | None = None


class SnapshotCreateBody(BaseModel):
    snapshot: SnapshotCreate


class SnapshotUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = Field(None, max_length=255)
    display_name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    display_description: str | None = Field(None, max_length=255)


class SnapshotUpdateBody(BaseModel):
    snapshot: SnapshotUpdate


class MetadataBody(BaseModel):
    metadata: Meta


class MetaItemBody(BaseModel):
    meta: Meta


class SnapshotAction(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    reset_status: dict[str, str] | None = Field(None, alias="os-reset_status")
    force_delete: dict[str, Any] | None = Field(None, alias="os-force_delete")


def view(request: Request, ctx: Ctx, info: SnapshotInfo) -> dict[str, Any]:
    x = info.snapshot
    out: dict[str, Any] = {
        "id": x.id, "name": x.name, "description": x.description, "status": x.status,
        "size": x.size, "volume_id": x.volume_id, "metadata": info.metadata,
        "created_at": isotime(x.created_at), "updated_at": isotime(x.updated_at),
        "links": links(request, x.project_id, "snapshots", x.id)}
    if ctx.can("volume_extension:extended_snapshot_attributes", {"project_id": x.project_id}):
        out["os-extended-snapshot-attributes:progress"] = x.progress
        out["os-extended-snapshot-attributes:project_id"] = x.project_id
    if ctx.microversion >= (3, 14):
        out["group_snapshot_id"] = None
    if ctx.microversion >= (3, 41):
        out["user_id"] = x.user_id
    return out


_VIEW = ("volume_extension:extended_snapshot_attributes", "volume:get_all_admin")


async def _list(request: Request, ctx: Ctx, snaps: Snaps, cfg: Cfg) -> list[SnapshotInfo]:
    q = request.query_params
    limit, marker, offset = page_params(request, cfg.osapi_max_limit)
    filters = {k: v for k, v in q.items() if k in ("name", "status", "volume_id", "project_id")}
    return await snaps.list(ctx, all_tenants=bool(query_bool(
        q.get("all_tenants"), "all_tenants", empty=True, strict=False)), filters=filters,
        limit=limit, marker=marker, offset=offset)


@router.get("", **policy("volume:get_all_snapshots", *_VIEW))
async def list_snapshots(project_id: str, request: Request, ctx: Ctx, snaps: Snaps, cfg: Cfg
                         ) -> dict[str, Any]:
    infos = await _list(request, ctx, snaps, cfg)
    return {"snapshots": [{k: v for k, v in view(request, ctx, i).items()
                           if k in ("id", "name", "description", "status", "size",
                                    "volume_id", "metadata", "created_at", "updated_at")}
                          for i in infos]}


@router.get("/detail", **policy("volume:get_all_snapshots", *_VIEW))
async def list_snapshots_detail(project_id: str, request: Request, ctx: Ctx, snaps: Snaps,
                                cfg: Cfg) -> dict[str, Any]:
    return {"snapshots": [view(request, ctx, i)
                          for i in await _list(request, ctx, snaps, cfg)]}


@router.post("", status_code=202, **policy("volume:create_snapshot", *_VIEW))
async def create_snapshot(project_id: str, body: SnapshotCreateBody, request: Request,
                          ctx: Ctx, snaps: Snaps) -> dict[str, Any]:
    b = body.snapshot
    force = b.force if isinstance(b.force, bool) or b.force is None else query_bool(
        b.force, "force")
    info = await snaps.create(
        ctx, b.volume_id, name=b.name if b.name is not None else b.display_name,
        description=b.description if b.description is not None else b.display_description,
        force=bool(force), allow_in_use=ctx.microversion >= (3, 66), metadata=b.metadata or {})
    return {"snapshot": view(request, ctx, info)}


@router.get("/{snapshot_id}", **policy("volume:get_snapshot", *_VIEW))
async def show_snapshot(project_id: str, snapshot_id: str, request: Request, ctx: Ctx,
                        snaps: Snaps) -> dict[str, Any]:
    return {"snapshot": view(request, ctx, await snaps.get(ctx, snapshot_id))}


@router.put("/{snapshot_id}", **policy("volume:update_snapshot", *_VIEW))
async def update_snapshot(project_id: str, snapshot_id: str, body: SnapshotUpdateBody,
                          request: Request, ctx: Ctx, snaps: Snaps) -> dict[str, Any]:
    b = body.snapshot
    sent = b.model_fields_set
    fields = set()
    if sent & {"name", "display_name"}:
        fields.add("name")
    if sent & {"description", "display_description"}:
        fields.add("description")
    if not fields:
        raise faults.BadRequest("Invalid input received: Missing required element 'snapshot' "
                                "in request body.")
    info = await snaps.update(
        ctx, snapshot_id, b.name if "name" in sent else b.display_name,
        b.description if "description" in sent else b.display_description, fields)
    return {"snapshot": view(request, ctx, info)}


@router.delete("/{snapshot_id}", response_class=Response, status_code=202, **policy("volume:delete_snapshot",
                                                            "volume:get_all_admin"))
async def delete_snapshot(project_id: str, snapshot_id: str, ctx: Ctx, snaps: Snaps
                          ) -> Response:
    await snaps.delete(ctx, snapshot_id, force=False)
    return Response(status_code=202)


@router.post("/{snapshot_id}/action", response_class=Response, status_code=202, **policy(
    "volume_extension:snapshot_admin_actions:reset_status",
    "volume_extension:snapshot_admin_actions:force_delete", "volume:get_all_admin"))
async def snapshot_action(project_id: str, snapshot_id: str, body: SnapshotAction, ctx: Ctx,
                          snaps: Snaps) -> Response:
    if body.reset_status is not None:
        status = body.reset_status.get("status")
        if not status:
            raise faults.BadRequest("Must specify 'status'")
        await snaps.reset_status(ctx, snapshot_id, status)
    elif "force_delete" in body.model_fields_set:
        await snaps.delete(ctx, snapshot_id, force=True)
    else:
        names = list(body.model_extra or {}) or ["(none)"]
        raise faults.BadRequest(f"There is no such action: {names[0]}")
    return Response(status_code=202)


@router.get("/{snapshot_id}/metadata", **policy("volume:get_snapshot_metadata",
                                                 "volume:get_all_admin"))
async def show_metadata(project_id: str, snapshot_id: str, ctx: Ctx, snaps: Snaps
                        ) -> dict[str, Any]:
    info = await snaps.get(ctx, snapshot_id, "volume:get_snapshot_metadata")
    return {"metadata": info.metadata}


@router.post("/{snapshot_id}/metadata", **policy("volume:update_snapshot_metadata",
                                                  "volume:get_all_admin"))
async def add_metadata(project_id: str, snapshot_id: str, body: MetadataBody, ctx: Ctx,
                       snaps: Snaps) -> dict[str, Any]:
    return {"metadata": await snaps.set_metadata(ctx, snapshot_id, body.metadata,
                                                 replace=False)}


@router.put("/{snapshot_id}/metadata", **policy("volume:update_snapshot_metadata",
                                                 "volume:get_all_admin"))
async def replace_metadata(project_id: str, snapshot_id: str, body: MetadataBody, ctx: Ctx,
                           snaps: Snaps) -> dict[str, Any]:
    return {"metadata": await snaps.set_metadata(ctx, snapshot_id, body.metadata,
                                                 replace=True)}


@router.put("/{snapshot_id}/metadata/{key}", **policy("volume:update_snapshot_metadata",
                                                       "volume:get_all_admin"))
async def set_metadata_item(project_id: str, snapshot_id: str, key: str, body: MetaItemBody,
                            ctx: Ctx, snaps: Snaps) -> dict[str, Any]:
    if key not in body.meta or len(body.meta) != 1:
        raise faults.BadRequest("Request body and URI mismatch")
    await snaps.set_metadata(ctx, snapshot_id, body.meta, replace=False)
    return {"meta": body.meta}


@router.delete("/{snapshot_id}/metadata/{key}", response_class=Response,
               **policy("volume:delete_snapshot_metadata",
                                                          "volume:get_all_admin"))
async def delete_metadata_item(project_id: str, snapshot_id: str, key: str, ctx: Ctx,
                               snaps: Snaps) -> Response:
    await snaps.delete_metadata(ctx, snapshot_id, key)
    return Response(status_code=200)
