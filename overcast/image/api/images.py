"""/v2/images: create, list, show, update (JSON Patch), delete, deactivate/reactivate, tags."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.app import Ctx, json_body
from overcast.image.api import Data, Imgs, Who, page_limit
from overcast.image.models import Image
from overcast.image.service import SORT_KEYS, Caller, ImageQuery, parse_patch

router = APIRouter(prefix="/v2/images", tags=["images"])
stores_router = APIRouter(tags=["images"])

PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch")
#: Query parameters with a meaning of their own; any other is a property filter.
_LIST_PARAMS = {"limit", "marker", "sort_key", "sort_dir", "sort", "tag", "name", "id", "status",
                "visibility", "owner", "member_status", "disk_format", "container_format",
                "protected", "os_hidden", "size", "size_min", "size_max", "created_at", "updated_at"}


def wire_time(value: Any) -> str | None:
    """A timestamp as Glance writes it (whole seconds, Z)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def image_view(image: Image) -> dict[str, Any]:
    """An image as Glance shows it: core attributes (nulls kept), then custom properties."""
    body: dict[str, Any] = {p.name: p.value for p in image.properties}
    body.update({
        "id": image.id, "name": image.name, "status": image.status,
        "visibility": image.visibility, "protected": image.protected,
        "os_hidden": image.os_hidden, "owner": image.owner,
        "disk_format": image.disk_format, "container_format": image.container_format,
        "size": image.size, "virtual_size": image.virtual_size, "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo, "os_hash_value": image.os_hash_value,
        "min_disk": image.min_disk, "min_ram": image.min_ram,
        "tags": [t.value for t in image.tags],
        "created_at": wire_time(image.created_at), "updated_at": wire_time(image.updated_at),
        "self": f"/v2/images/{image.id}", "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    })
    if image.stores:
        body["stores"] = image.stores
    return body


def _import_headers(data: Data) -> dict[str, str]:
    return {"OpenStack-image-import-methods": ",".join(data.import_methods()),
            "OpenStack-image-store-ids": ",".join(data.stores)}


def image_target(image: Image) -> dict[str, Any]:
    """The policy target of a rule about an image: its owner and visibility."""
    return {"project_id": image.owner, "visibility": image.visibility, "member_id": None}


@router.post("", status_code=201)
async def create_image(request: Request, ctx: Ctx, images: Imgs, data: Data, who: Who,
                       response: Response) -> dict[str, Any]:
    body = await json_body(request)
    visibility = body.get("visibility", "shared")
    ctx.enforce("add_image", {"project_id": body.get("owner") or ctx.project_id,
                              "visibility": visibility})
    if visibility == "public":
        ctx.enforce("publicize_image", {"project_id": ctx.project_id})
    elif visibility == "community":
        ctx.enforce("communitize_image", {"project_id": ctx.project_id})
    image = await images.create(who, body)
    response.headers.update(_import_headers(data))
    response.headers["Location"] = f"{str(request.base_url).rstrip('/')}/v2/images/{image.id}"
    return image_view(image)


def _list_query(request: Request, images: Imgs) -> ImageQuery:
    q = ImageQuery(limit=page_limit(request, images))
    params = request.query_params
    q.marker = params.get("marker")
    q.tags = params.getlist("tag")
    sort_keys, sort_dirs = params.getlist("sort_key"), params.getlist("sort_dir")
    if "sort" in params:
        if sort_keys or sort_dirs:
            raise faults.BadRequest("The sort param cannot be used together with sort_key or "
                                    "sort_dir.")
        pairs = []
        for item in params["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key, direction or "desc"))
    else:
        keys = sort_keys or ["created_at"]
        if len(sort_dirs) > len(keys):
            raise faults.BadRequest("Number of sort dirs does not match the number of sort keys")
        dirs = sort_dirs + [sort_dirs[0] if sort_dirs else "desc"] * (len(keys) - len(sort_dirs))
        pairs = list(zip(keys, dirs, strict=True))
    for key, direction in pairs:
        if key not in SORT_KEYS:
            raise faults.BadRequest(f"Invalid sort key: {key}. It is not in the list of allowed "
                                    "sort keys.")
        if direction not in ("asc", "desc"):
            raise faults.BadRequest(f"Invalid sort direction: {direction}")
    q.sort = pairs
    for key, value in params.multi_items():
        if key in ("limit", "marker", "sort_key", "sort_dir", "sort", "tag"):
            continue
        if key in _LIST_PARAMS:
            q.filters[key] = value
        else:
            q.properties[key] = value
    return q


@router.get("")
async def list_images(request: Request, ctx: Ctx, images: Imgs, who: Who) -> dict[str, Any]:
    ctx.enforce("get_images", {"project_id": ctx.project_id})
    q = _list_query(request, images)
    page, more = await images.list(who, q)
    body: dict[str, Any] = {"images": [image_view(i) for i in page], "first": "/v2/images",
                            "schema": "/v2/schemas/images"}
    if more and page:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        params.append(("marker", page[-1].id))
        if "limit" not in request.query_params:
            params.append(("limit", str(q.limit)))
        body["next"] = f"/v2/images?{urlencode(params)}"
    return body


@router.get("/", include_in_schema=False)
@router.delete("/", include_in_schema=False)
async def empty_image_id() -> None:
    # GET/DELETE /v2/images/ name an image with an empty id: 404, not the list (tempest).
    raise faults.NotFound("No image found with an empty ID")


@router.get("/{image_id}")
async def show_image(image_id: str, ctx: Ctx, images: Imgs, who: Who) -> dict[str, Any]:
    image = await images.show(who, image_id)
    ctx.enforce("get_image", image_target(image))
    return image_view(image)


@router.patch("/{image_id}")
async def update_image(image_id: str, request: Request, ctx: Ctx, images: Imgs,
                       who: Who) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media not in PATCH_TYPES:
        raise faults.UnsupportedMediaType(
            f"Unsupported Content-Type: {media or 'none'}; use one of {', '.join(PATCH_TYPES)}",
            headers={"Accept-Patch": ", ".join(PATCH_TYPES)})
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise faults.BadRequest("Malformed JSON in request body.") from None
    ops = parse_patch(body, media)
    image = await images.show(who, image_id)
    ctx.enforce("modify_image", image_target(image))
    can = {rule: ctx.can(rule, image_target(image)) for rule in ("publicize_image", "communitize_image")}
    return image_view(await images.update(who, image_id, ops, can))


@router.delete("/{image_id}", status_code=204)
async def delete_image(image_id: str, ctx: Ctx, images: Imgs, data: Data, who: Who) -> Response:
    image = await images.show(who, image_id)
    ctx.enforce("delete_image", image_target(image))
    await data.delete_data(image.id, await images.delete(who, image))
    return Response(status_code=204)


async def _action(image_id: str, action: str, ctx: Ctx, images: Imgs, who: Caller) -> Response:
    image = await images.show(who, image_id)
    ctx.enforce(action, image_target(image))
    await images.set_status(who, image_id, action)
    return Response(status_code=204)


@router.post("/{image_id}/actions/deactivate", status_code=204)
async def deactivate(image_id: str, ctx: Ctx, images: Imgs, who: Who) -> Response:
    return await _action(image_id, "deactivate", ctx, images, who)


@router.post("/{image_id}/actions/reactivate", status_code=204)
async def reactivate(image_id: str, ctx: Ctx, images: Imgs, who: Who) -> Response:
    return await _action(image_id, "reactivate", ctx, images, who)


@stores_router.delete("/v2/stores/{store_id}/{image_id}", status_code=204)
async def delete_from_store(store_id: str, image_id: str, ctx: Ctx, images: Imgs, data: Data,
                            who: Who) -> Response:
    image = await images.show(who, image_id)
    ctx.enforce("delete_image_location", image_target(image))
    await data.delete_from_store(image, store_id)
    return Response(status_code=204)


@router.put("/{image_id}/tags/{tag}", status_code=204)
async def add_tag(image_id: str, tag: str, ctx: Ctx, images: Imgs, who: Who) -> Response:
    image = await images.show(who, image_id)
    ctx.enforce("modify_image", image_target(image))
    await images.add_tag(who, image_id, tag)
    return Response(status_code=204)


@router.delete("/{image_id}/tags/{tag}", status_code=204)
async def delete_tag(image_id: str, tag: str, ctx: Ctx, images: Imgs, who: Who) -> Response:
    image = await images.show(who, image_id)
    ctx.enforce("modify_image", image_target(image))
    await images.delete_tag(who, image_id, tag)
    return Response(status_code=204)
