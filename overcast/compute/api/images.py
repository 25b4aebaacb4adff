"""/images (deprecated, up to 2.35): Nova's proxy of the Image service, with the caller's token.

list (id, name, links) and detail with Nova's filters (name, status, changes-since, server,
type, minDisk, minRam) and limit/marker paging; show; delete; the image metadata (Glance's
custom properties). From 2.36 on every route is a 404, as Nova's. Glance decides who sees and
changes what; its refusals come back as Nova faults of the same status.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.common.clients import ImageClient, ServiceError
from overcast.common.context import RequestContext
from overcast.common.microversion import available
from overcast.compute.api.server_views import base_url, links
from overcast.compute.api.servers import Servers

router = APIRouter(prefix="/v2.1/images", tags=["images"],
                   dependencies=[available(maximum=(2, 35))])

_RULE = "os_compute_api:images"

#: Glance v2's own attributes: everything else on an image is a custom property (metadata).
CORE = frozenset({
    "id", "name", "status", "visibility", "protected", "checksum", "owner", "size",
    "virtual_size", "min_ram", "min_disk", "disk_format", "container_format", "created_at",
    "updated_at", "tags", "file", "schema", "self", "direct_url", "locations", "os_hash_algo",
    "os_hash_value", "os_hidden", "stores"})

# nova/api/openstack/compute/views/images.py
_STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "deleted": "DELETED",
           "pending_delete": "DELETED", "killed": "ERROR"}
_PROGRESS = {"queued": 25, "saving": 50, "active": 100}
_MAX_METADATA = 128


def _token(request: Request, ctx: RequestContext) -> str:
    """The caller's token, once the policy let the caller use the proxy."""
    ctx.enforce(_RULE, {"project_id": ctx.project_id})
    return request.headers.get("x-auth-token", "")


def _fault(exc: ServiceError, image_id: str | None = None) -> faults.Fault:
    if exc.status == 404:
        return faults.NotFound(f"Image {image_id} could not be found." if image_id
                               else str(exc))
    if exc.status == 403:
        return faults.Forbidden(str(exc))
    if exc.status == 409:
        return faults.Conflict(str(exc))
    if exc.status == 413:
        return faults.OverQuota(str(exc))
    if 400 <= exc.status < 500:
        return faults.BadRequest(str(exc))
    return faults.ServiceUnavailable(f"The Image service failed: {exc}")


def metadata(image: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in image.items() if k not in CORE}


def _links(request: Request, images: ImageClient, image_id: str) -> list[dict[str, str]]:
    return [*links(request, "images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{images.base_url}/images/{image_id}"}]


def basic(request: Request, images: ImageClient, image: dict[str, Any]) -> dict[str, Any]:
    return {"id": image["id"], "name": image.get("name"),
            "links": _links(request, images, image["id"])}


def detail(request: Request, images: ImageClient, image: dict[str, Any]) -> dict[str, Any]:
    meta = metadata(image)
    out: dict[str, Any] = {
        **basic(request, images, image),
        "status": _STATUS.get(image.get("status") or "", "UNKNOWN"),
        "progress": _PROGRESS.get(image.get("status") or "", 0),
        "minDisk": image.get("min_disk") or 0, "minRam": image.get("min_ram") or 0,
        "metadata": meta, "created": _iso(image.get("created_at")),
        "updated": _iso(image.get("updated_at")),
        "OS-EXT-IMG-SIZE:size": image.get("size")}
    server = meta.get("instance_uuid")
    if server:
        out["server"] = {"id": server, "links": links(request, "servers", str(server))}
    return out


def _iso(value: Any) -> str | None:
    if not value:
        return None
    return _when(str(value)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise faults.BadRequest(f"Invalid timestamp: {text}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise faults.BadRequest(f"Invalid {name}: {text}") from None


def _matches(image: dict[str, Any], q: dict[str, str]) -> bool:
    if "name" in q and image.get("name") != q["name"]:
        return False
    if "status" in q and _STATUS.get(image.get("status") or "", "UNKNOWN") != \
            q["status"].upper():
        return False
    if "changes-since" in q and _when(str(image.get("updated_at"))) < _when(q["changes-since"]):
        return False
    if "server" in q and image.get("instance_uuid") != q["server"].rstrip("/").rsplit("/")[-1]:
        return False
    if "type" in q and image.get("image_type") != q["type"]:
        return False
    if "minDisk" in q and (image.get("min_disk") or 0) < _int(q["minDisk"], "minDisk"):
        return False
    return not ("minRam" in q and (image.get("min_ram") or 0) < _int(q["minRam"], "minRam"))


async def _list(request: Request, ctx: RequestContext, servers: Servers, full: bool) -> dict[str, Any]:
    q = dict(request.query_params)
    try:
        found = await servers.images.list_images(_token(request, ctx))
    except ServiceError as exc:
        raise _fault(exc) from exc
    found = [i for i in found if _matches(i, q)]
    if "marker" in q:
        ids = [i["id"] for i in found]
        if q["marker"] not in ids:
            raise faults.BadRequest(f"marker [{q['marker']}] not found")
        found = found[ids.index(q["marker"]) + 1:]
    limit = _int(q["limit"], "limit") if "limit" in q else None
    if limit is not None and limit < 0:
        raise faults.BadRequest("limit must be a positive integer")
    more = limit is not None and len(found) > limit
    page = found[:limit] if limit is not None else found
    view = detail if full else basic
    out: dict[str, Any] = {"images": [view(request, servers.images, i) for i in page]}
    if more and page:
        params = {k: v for k, v in q.items() if k != "marker"}
        params["marker"] = page[-1]["id"]
        path = "/images/detail" if full else "/images"
        out["images_links"] = [{"rel": "next", "href":
                                f"{base_url(request)}/v2.1{path}?{urlencode(params)}"}]
    return out


async def _get(request: Request, ctx: RequestContext, servers: Servers, image_id: str) -> dict[str, Any]:
    try:
        image = await servers.images.get_image(_token(request, ctx), image_id)
    except ServiceError as exc:
        raise _fault(exc, image_id) from exc
    if image is None:
        raise faults.NotFound(f"Image {image_id} could not be found.")
    return image


async def _patch(request: Request, ctx: RequestContext, servers: Servers, image_id: str,
                 ops: list[dict[str, Any]]) -> dict[str, Any]:
    if not ops:
        return await _get(request, ctx, servers, image_id)
    try:
        return await servers.images.update_image(_token(request, ctx), image_id, ops)
    except ServiceError as exc:
        raise _fault(exc, image_id) from exc


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metadata: dict[str, str]


class MetaItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    meta: dict[str, str]


def _check(items: dict[str, str]) -> None:
    for k, v in items.items():
        if not k or len(k) > 255 or len(v) > 255:
            raise faults.BadRequest("Metadata keys and values must be 1 to 255 characters.")
        if k in CORE:
            raise faults.BadRequest(f"Metadata key {k} is reserved by the Image service.")


def _quota(items: dict[str, Any]) -> None:
    if len(items) > _MAX_METADATA:
        raise faults.Forbidden("Quota exceeded for metadata_items: "
                               f"Requested {len(items)}, but the limit is {_MAX_METADATA}")


@router.get("", **policy(_RULE))
async def list_images(request: Request, ctx: Ctx, servers: Servers) -> dict[str, Any]:
    return await _list(request, ctx, servers, full=False)


@router.get("/detail", **policy(_RULE))
async def list_images_detail(request: Request, ctx: Ctx, servers: Servers) -> dict[str, Any]:
    return await _list(request, ctx, servers, full=True)


@router.get("/{image_id}", **policy(_RULE))
async def show_image(image_id: str, request: Request, ctx: Ctx, servers: Servers
                     ) -> dict[str, Any]:
    return {"image": detail(request, servers.images, await _get(request, ctx, servers, image_id))}


@router.delete("/{image_id}", status_code=204, **policy(_RULE))
async def delete_image(image_id: str, request: Request, ctx: Ctx, servers: Servers) -> Response:
    await _get(request, ctx, servers, image_id)
    try:
        await servers.images.delete_image(_token(request, ctx), image_id)
    except ServiceError as exc:
        raise _fault(exc, image_id) from exc
    return Response(status_code=204)


@router.get("/{image_id}/metadata", **policy(_RULE))
async def list_metadata(image_id: str, request: Request, ctx: Ctx, servers: Servers
                        ) -> dict[str, Any]:
    return {"metadata": metadata(await _get(request, ctx, servers, image_id))}


@router.post("/{image_id}/metadata", **policy(_RULE))
async def add_metadata(image_id: str, body: Metadata, request: Request, ctx: Ctx,
                       servers: Servers) -> dict[str, Any]:
    _check(body.metadata)
    current = metadata(await _get(request, ctx, servers, image_id))
    _quota({**current, **body.metadata})
    ops = [{"op": "replace" if k in current else "add", "path": f"/{k}", "value": v}
           for k, v in body.metadata.items()]
    return {"metadata": metadata(await _patch(request, ctx, servers, image_id, ops))}


@router.put("/{image_id}/metadata", **policy(_RULE))
async def replace_metadata(image_id: str, body: Metadata, request: Request, ctx: Ctx,
                           servers: Servers) -> dict[str, Any]:
    _check(body.metadata)
    _quota(body.metadata)
    current = metadata(await _get(request, ctx, servers, image_id))
    ops: list[dict[str, Any]] = [{"op": "remove", "path": f"/{k}"}
                                 for k in current if k not in body.metadata]
    ops += [{"op": "replace" if k in current else "add", "path": f"/{k}", "value": v}
            for k, v in body.metadata.items()]
    return {"metadata": metadata(await _patch(request, ctx, servers, image_id, ops))}


@router.get("/{image_id}/metadata/{key}", **policy(_RULE))
async def show_metadata(image_id: str, key: str, request: Request, ctx: Ctx, servers: Servers
                        ) -> dict[str, Any]:
    meta = metadata(await _get(request, ctx, servers, image_id))
    if key not in meta:
        raise faults.NotFound(f"Image {image_id} has no metadata item {key}.")
    return {"meta": {key: meta[key]}}


@router.put("/{image_id}/metadata/{key}", **policy(_RULE))
async def set_metadata(image_id: str, key: str, body: MetaItem, request: Request, ctx: Ctx,
                       servers: Servers) -> dict[str, Any]:
    if key not in body.meta:
        raise faults.BadRequest("Request body and URI mismatch")
    if len(body.meta) != 1:
        raise faults.BadRequest("Request body contains too many items")
    _check(body.meta)
    current = metadata(await _get(request, ctx, servers, image_id))
    _quota({**current, **body.meta})
    op = "replace" if key in current else "add"
    await _patch(request, ctx, servers, image_id,
                 [{"op": op, "path": f"/{key}", "value": body.meta[key]}])
    return {"meta": body.meta}


@router.delete("/{image_id}/metadata/{key}", status_code=204, **policy(_RULE))
async def delete_metadata(image_id: str, key: str, request: Request, ctx: Ctx,
                          servers: Servers) -> Response:
    current = metadata(await _get(request, ctx, servers, image_id))
    if key not in current:
        raise faults.NotFound(f"Image {image_id} has no metadata item {key}.")
    await _patch(request, ctx, servers, image_id, [{"op": "remove", "path": f"/{key}"}])
    return Response(status_code=204)
