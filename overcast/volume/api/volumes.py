"""/v3/{project_id}/volumes: create, list (summary and detail, Cinder's filters, sort, marker
and offset paging, all_tenants for admins, with_count from 3.45), show, update, delete (cascade,
force), metadata, and /volumes/summary (3.12)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import policy, query_bool
from overcast.common.app import Ctx
from overcast.common.clients import ServiceError
from overcast.volume.api import Cfg, Images, Vols, isotime, links, page_params, size_int, sort_params
from overcast.volume.volumes import ImageInfo, ListQuery, VolumeInfo

router = APIRouter(prefix="/v3/{project_id}/volumes", tags=["volumes"])

Size = Annotated[int, size_int]
Meta = dict[str, Annotated[str, Field(max_length=255)]]


class VolumeCreate(BaseModel):
    model_config = ConfigDict(extra="allow")  # Cinder before 3.53 ignores unknown keys
    size: Size | None = None
    name: str | None = Field(None, max_length=255)
    display_name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    display_description: str | None = Field(None, max_length=255)
    volume_type: str | None = Field(None, max_length=255)
    availability_zone: str | None = Field(None, max_length=255)
    snapshot_id: str | None = None
    source_volid: str | None = None
    imageRef: str | None = None
    image_id: str | None = None
    metadata: Meta | None = None  # openstacksdk sends null
    multiattach: bool | None = None
    consistencygroup_id: str | None = None
    backup_id: str | None = None
    group_id: str | None = None


class VolumeCreateBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    volume: VolumeCreate


class VolumeUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = Field(None, max_length=255)
    display_name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    display_description: str | None = Field(None, max_length=255)
    metadata: Meta | None = None


class VolumeUpdateBody(BaseModel):
    volume: VolumeUpdate


class MetadataBody(BaseModel):
    metadata: Meta


class MetaItemBody(BaseModel):
    meta: Meta


def view(request: Request, ctx: Ctx, info: VolumeInfo) -> dict[str, Any]:
    v = info.volume
    mv = ctx.microversion
    out: dict[str, Any] = {
        "id": v.id, "name": v.name, "description": v.description, "status": v.status,
        "size": v.size, "availability_zone": v.availability_zone,
        "created_at": isotime(v.created_at), "updated_at": isotime(v.updated_at),
        "volume_type": info.volume_type.name if info.volume_type else None,
        "snapshot_id": v.snapshot_id, "source_volid": v.source_volid,
        "metadata": info.metadata, "bootable": "true" if v.bootable else "false",
        "encrypted": False, "replication_status": None, "consistencygroup_id": None,
        "multiattach": v.multiattach, "attachments": [], "user_id": v.user_id,
        "links": links(request, v.project_id, "volumes", v.id),
    }
    target = {"project_id": v.project_id}
    if ctx.can("volume_extension:volume_tenant_attribute", target):
        out["os-vol-tenant-attr:tenant_id"] = v.project_id
    if ctx.can("volume_extension:volume_host_attribute", target):
        out["os-vol-host-attr:host"] = v.host
    if ctx.can("volume_extension:volume_mig_status_attribute", target):
        out["os-vol-mig-status-attr:migstat"] = None
        out["os-vol-mig-status-attr:name_id"] = None
        out["migration_status"] = None
    if v.image_metadata and ctx.can("volume_extension:volume_image_metadata:show", target):
        out["volume_image_metadata"] = {**v.image_metadata, "image_id": v.image_id}
    if mv >= (3, 13):
        out["group_id"] = None
    if mv >= (3, 21) and ctx.can("volume_extension:volume_host_attribute", target):
        out["provider_id"] = None
    if mv >= (3, 48):
        out["shared_targets"] = False
        out["service_uuid"] = None
    return out


def _summary(request: Request, info: VolumeInfo) -> dict[str, Any]:
    v = info.volume
    return {"id": v.id, "name": v.name, "links": links(request, v.project_id, "volumes", v.id)}


#: Everything of the list query that is not a filter.
_NOT_FILTERS = {"limit", "marker", "offset", "sort", "sort_key", "sort_dir", "all_tenants",
                "with_count", "project_id", "metadata"}


def _list_query(request: Request, ctx: Ctx, cfg: Cfg) -> ListQuery:
    q = request.query_params
    limit, marker, offset = page_params(request, cfg.osapi_max_limit)
    metadata: dict[str, str] = {}
    if q.get("metadata"):
        try:
            raw = json.loads(q["metadata"].replace("'", '"'))
        except ValueError:
            raise faults.BadRequest("Invalid metadata filter.") from None
        if not isinstance(raw, dict):
            raise faults.BadRequest("Invalid metadata filter.")
        metadata = {str(k): str(v) for k, v in raw.items()}
    filters = {("name" if k == "display_name" else k): v for k, v in q.items()
               if k not in _NOT_FILTERS}
    if ctx.microversion < (3, 34):
        filters = {k: v for k, v in filters.items() if not k.endswith("~")}
    return ListQuery(filters=filters, metadata=metadata,
                     all_tenants=bool(query_bool(q.get("all_tenants"), "all_tenants",
                                                 empty=True, strict=False)),
                     project_id=q.get("project_id"), sort=sort_params(request), limit=limit,
                     marker=marker, offset=offset)


def _page(request: Request, ctx: Ctx, items: list[dict[str, Any]], infos: list[VolumeInfo],
          total: int, limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {"volumes": items}
    if infos and len(infos) == limit:
        base = str(request.base_url).rstrip("/")
        params = {k: v for k, v in request.query_params.items() if k != "marker"}
        params.update(marker=infos[-1].volume.id, limit=str(limit))
        query = "&".join(f"{k}={v}" for k, v in params.items())
        out["volumes_links"] = [{"rel": "next", "href": f"{base}{request.url.path}?{query}"}]
    if ctx.microversion >= (3, 45) and query_bool(
            request.query_params.get("with_count"), "with_count", strict=False):
        out["count"] = total
    return out


@router.get("", **policy("volume:get_all", "volume:get_all_admin"))
async def list_volumes(project_id: str, request: Request, ctx: Ctx, vols: Vols, cfg: Cfg
                       ) -> dict[str, Any]:
    q = _list_query(request, ctx, cfg)
    infos, total = await vols.list(ctx, q)
    return _page(request, ctx, [_summary(request, i) for i in infos], infos, total, q.limit)


@router.get("/detail", **policy("volume:get_all", "volume:get_all_admin",
                                 "volume_extension:volume_tenant_attribute",
                                 "volume_extension:volume_host_attribute",
                                 "volume_extension:volume_mig_status_attribute",
                                 "volume_extension:volume_image_metadata:show"))
async def list_volumes_detail(project_id: str, request: Request, ctx: Ctx, vols: Vols,
                              cfg: Cfg) -> dict[str, Any]:
    q = _list_query(request, ctx, cfg)
    infos, total = await vols.list(ctx, q)
    return _page(request, ctx, [view(request, ctx, i) for i in infos], infos, total, q.limit)


@router.get("/summary", **policy("volume:get_volume_summary", "volume:get_all_admin"))
async def volume_summary(project_id: str, request: Request, ctx: Ctx, vols: Vols
                         ) -> dict[str, Any]:
    if ctx.microversion < (3, 12):
        raise faults.NotFound("The resource could not be found.")
    all_tenants = bool(query_bool(request.query_params.get("all_tenants"), "all_tenants",
                                  empty=True, strict=False))
    count, size = await vols.summary(ctx, all_tenants)
    out: dict[str, Any] = {"total_count": count, "total_size": size}
    if ctx.microversion >= (3, 36):
        out["metadata"] = {}
    return {"volume-summary": out}


async def _image(ctx: Ctx, images: Images, request: Request, image_ref: str) -> ImageInfo:
    token = request.headers.get("x-auth-token") or ""
    try:
        image = await images.get_image(token, image_ref)
    except ServiceError as exc:
        raise faults.BadRequest(f"Invalid image identifier or unable to access requested "
                                f"image: {exc}") from None
    if image is None:
        raise faults.NotFound(f"Image {image_ref} could not be found.")
    if image.get("status") != "active":
        raise faults.BadRequest(f"Invalid image: Image {image_ref} is not active.")
    props = {k: str(v) for k, v in image.items()
             if k in ("name", "disk_format", "container_format", "min_disk", "min_ram",
                      "checksum", "size") and v is not None}
    return ImageInfo(id=str(image["id"]), min_disk=int(image.get("min_disk") or 0),
                     size=int(image.get("size") or 0), properties=props)


@router.post("", status_code=202, **policy(
    "volume:create", "volume:create_from_image", "volume:get_all_admin",
    "volume_extension:volume_tenant_attribute", "volume_extension:volume_host_attribute",
    "volume_extension:volume_mig_status_attribute",
    "volume_extension:volume_image_metadata:show"))
async def create_volume(project_id: str, body: VolumeCreateBody, request: Request, ctx: Ctx,
                        vols: Vols, images: Images) -> dict[str, Any]:
    b = body.volume
    # No backup, group or consistency group can exist yet, so each names a missing one: the
    # 404 Cinder gives for an unknown id (a 5xx would be a server fault; the request is wrong).
    if b.backup_id:
        raise faults.NotFound(f"Backup {b.backup_id} could not be found.")
    if b.group_id:
        raise faults.NotFound(f"Group {b.group_id} could not be found.")
    if b.consistencygroup_id:
        raise faults.NotFound(f"ConsistencyGroup {b.consistencygroup_id} could not be found.")
    image_ref = b.imageRef or b.image_id
    image = await _image(ctx, images, request, image_ref) if image_ref else None
    info = await vols.create(
        ctx, size=b.size, name=b.name if b.name is not None else b.display_name,
        description=b.description if b.description is not None else b.display_description,
        volume_type=b.volume_type, zone=b.availability_zone, snapshot_id=b.snapshot_id,
        source_volid=b.source_volid, image=image, metadata=b.metadata or {},
        multiattach=bool(b.multiattach), token=request.headers.get("x-auth-token"))
    return {"volume": view(request, ctx, info)}


_VIEW_RULES = ("volume:get_all_admin", "volume_extension:volume_tenant_attribute",
               "volume_extension:volume_host_attribute",
               "volume_extension:volume_mig_status_attribute",
               "volume_extension:volume_image_metadata:show")


@router.get("/{volume_id}", **policy("volume:get", *_VIEW_RULES))
async def show_volume(project_id: str, volume_id: str, request: Request, ctx: Ctx, vols: Vols
                      ) -> dict[str, Any]:
    return {"volume": view(request, ctx, await vols.get(ctx, volume_id))}


@router.put("/{volume_id}", **policy("volume:update", *_VIEW_RULES))
async def update_volume(project_id: str, volume_id: str, body: VolumeUpdateBody,
                        request: Request, ctx: Ctx, vols: Vols) -> dict[str, Any]:
    b = body.volume
    sent = b.model_fields_set
    fields = set()
    if sent & {"name", "display_name"}:
        fields.add("name")
    if sent & {"description", "display_description"}:
        fields.add("description")
    if not fields and "metadata" not in sent:
        raise faults.BadRequest("Invalid input received: Missing required element 'volume' "
                                "in request body.")
    info = await vols.update(
        ctx, volume_id, name=b.name if "name" in sent else b.display_name,
        description=b.description if "description" in sent else b.display_description,
        metadata=b.metadata, fields=fields)
    return {"volume": view(request, ctx, info)}


@router.delete("/{volume_id}", response_class=Response, status_code=202, **policy("volume:delete",
                                                          "volume:get_all_admin"))
async def delete_volume(project_id: str, volume_id: str, request: Request, ctx: Ctx,
                        vols: Vols) -> Response:
    q = request.query_params
    cascade = bool(query_bool(q.get("cascade"), "cascade", strict=False))
    force = bool(query_bool(q.get("force"), "force", strict=False)) and ctx.microversion >= (
        3, 23)
    if force:
        raise faults.BadRequest("Invalid input received: use os-force_delete to force.")
    await vols.delete(ctx, volume_id, cascade=cascade, force=False)
    return Response(status_code=202)


# -- metadata --
@router.get("/{volume_id}/metadata", **policy("volume:get_volume_metadata",
                                               "volume:get_all_admin"))
async def show_metadata(project_id: str, volume_id: str, ctx: Ctx, vols: Vols
                        ) -> dict[str, Any]:
    return {"metadata": await vols.metadata(ctx, volume_id)}


@router.post("/{volume_id}/metadata", **policy("volume:create_volume_metadata",
                                                "volume:get_all_admin"))
async def add_metadata(project_id: str, volume_id: str, body: MetadataBody, ctx: Ctx,
                       vols: Vols) -> dict[str, Any]:
    return {"metadata": await vols.set_metadata(ctx, volume_id, body.metadata, replace=False,
                                                rule="volume:create_volume_metadata")}


@router.put("/{volume_id}/metadata", **policy("volume:update_volume_metadata",
                                               "volume:get_all_admin"))
async def replace_metadata(project_id: str, volume_id: str, body: MetadataBody, ctx: Ctx,
                           vols: Vols) -> dict[str, Any]:
    return {"metadata": await vols.set_metadata(ctx, volume_id, body.metadata, replace=True,
                                                rule="volume:update_volume_metadata")}


@router.get("/{volume_id}/metadata/{key}", **policy("volume:get_volume_metadata",
                                                     "volume:get_all_admin"))
async def show_metadata_item(project_id: str, volume_id: str, key: str, ctx: Ctx, vols: Vols
                             ) -> dict[str, Any]:
    meta = await vols.metadata(ctx, volume_id)
    if key not in meta:
        raise faults.NotFound(f"Volume {volume_id} has no metadata with key {key}.")
    return {"meta": {key: meta[key]}}


@router.put("/{volume_id}/metadata/{key}", **policy("volume:update_volume_metadata",
                                                     "volume:get_all_admin"))
async def set_metadata_item(project_id: str, volume_id: str, key: str, body: MetaItemBody,
                            ctx: Ctx, vols: Vols) -> dict[str, Any]:
    if len(body.meta) != 1 or key not in body.meta:
        raise faults.BadRequest("Request body and URI mismatch" if key not in body.meta
                                else "Request body contains too many items.")
    await vols.set_metadata(ctx, volume_id, body.meta, replace=False,
                            rule="volume:update_volume_metadata")
    return {"meta": body.meta}


@router.delete("/{volume_id}/metadata/{key}", response_class=Response,
               **policy("volume:delete_volume_metadata",
                                                        "volume:get_all_admin"))
async def delete_metadata_item(project_id: str, volume_id: str, key: str, ctx: Ctx,
                               vols: Vols) -> Response:
    await vols.delete_metadata(ctx, volume_id, key)
    return Response(status_code=200)
