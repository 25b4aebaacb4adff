"""/v2/images: create, list, show, update (JSON Patch), delete, deactivate/reactivate, tags."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import ConfigDict, Field, StrictBool, StrictInt, model_validator

from overcast.common import faults
from overcast.common.api import next_link, policy, query_bool
from overcast.common.app import Ctx, parse_json
from overcast.common.clock import parse_iso
from overcast.image.api import Data, Imgs, Paged
from overcast.image.api.bodies import Body, Str255, UUIDStr, validate
from overcast.image.api.schemas import IMAGE_SCHEMA, schema_error
from overcast.image.models import Image
from overcast.image.service import (
    MATCH_FILTERS,
    MEMBER_STATUSES,
    READ_ONLY,
    RESERVED,
    SORT_KEYS,
    VISIBILITIES,
    Change,
    ContainerFormat,
    DiskFormat,
    ImageQuery,
    NewImage,
    SortDir,
    Visibility,
    webob_fault,
)

router = APIRouter(prefix="/v2/images", tags=["images"])
stores_router = APIRouter(tags=["images"])

PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch")
MAX_PROPERTY = 65535
Count = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]


#: What Glance's create deserializer refuses before anything else (_disallowed_properties).
_DISALLOWED = ("direct_url", "self", "file", "schema", "stores")


def _read_only(name: str, *, creating: bool = False) -> None:
    if name in READ_ONLY and not (creating and name == "id"):
        raise faults.Forbidden(f"Attribute '{name}' is read-only.")


def _reserved(name: str) -> bool:
    return name in RESERVED or name.startswith("os_glance")


def _name(name: str) -> None:
    if not name:
        raise faults.BadRequest("Provided object does not match schema 'image': invalid "
                                "property name ''")
    if len(name) > 255:
        raise faults.BadRequest("Custom property should not be greater than 255 characters.")


def check_attribute(name: str) -> None:
    """Refuse what no client may patch (403, before any type check, as Glance's
    _validate_change)."""
    _read_only(name)
    if _reserved(name):
        raise faults.Forbidden(f"Attribute '{name}' is reserved.")
    _name(name)


class ImageCreate(Body):
    """POST /v2/images: Glance's image schema; any other key is a custom property (a string)."""

    glance_schema = "image"
    model_config = ConfigDict(extra="allow", json_schema_extra={
        "additionalProperties": {"type": "string", "maxLength": MAX_PROPERTY}})

    id: UUIDStr | None = None
    name: Str255 | None = None
    visibility: Visibility = "shared"
    protected: StrictBool = False
    os_hidden: StrictBool = False
    min_disk: Count = 0
    min_ram: Count = 0
    disk_format: DiskFormat | None = None
    container_format: ContainerFormat | None = None
    owner: Str255 | None = None
    tags: list[Str255] = []
    kernel_id: UUIDStr | None = None
    ramdisk_id: UUIDStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _allowed(cls, data: Any) -> Any:
        # Glance's order: the deserializer refuses the links and stores (403), checks the
        # image schema (400, in jsonschema's words), each custom property's name (400) and
        # reserved names (403, webob's explanation above); its image factory then refuses the
        # other read-only attributes (403).
        if isinstance(data, dict):
            for key in data:
                if key in _DISALLOWED:
                    _read_only(key)
            reason = schema_error(IMAGE_SCHEMA, data)
            if reason is not None:
                raise ValueError(f"Provided object does not match schema 'image': {reason}")
            for key in data:
                _name(key)
                if _reserved(key):
                    raise webob_fault(faults.Forbidden, f"Attribute '{key}' is reserved.")
            for key in data:
                _read_only(key, creating=True)
        return data

    @model_validator(mode="after")
    def _properties(self) -> ImageCreate:
        for key, value in (self.model_extra or {}).items():
            if len(value) > MAX_PROPERTY:
                raise ValueError(f"Provided object does not match schema 'image': the value "
                                 f"of {key} is too long")
        return self

    def properties(self) -> dict[str, str]:
        props = dict(self.model_extra or {})
        for key in ("kernel_id", "ramdisk_id"):  # base-schema properties, stored as properties
            if getattr(self, key) is not None:
                props[key] = getattr(self, key)
        return props

    def new_image(self) -> NewImage:
        return NewImage(id=self.id, name=self.name, visibility=self.visibility,
                        protected=self.protected, os_hidden=self.os_hidden,
                        min_disk=self.min_disk, min_ram=self.min_ram,
                        disk_format=self.disk_format, container_format=self.container_format,
                        owner=self.owner, tags=tuple(self.tags), properties=self.properties())


# -- JSON Patch: the two media types Glance accepts --
_OPS = ("add", "remove", "replace")


def _needs_value(op: str, change: dict[str, Any]) -> None:
    if op != "remove" and "value" not in change:
        raise ValueError(f'Operation "{op}" requires a member named "value".')


class PatchOp(Body):
    """One operation of application/openstack-images-v2.1-json-patch (RFC 6902's subset)."""

    glance_schema = "image"
    model_config = ConfigDict(extra="ignore")

    op: Literal["add", "remove", "replace"]
    path: str
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _glance_words(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("Operations must be JSON objects.")
        if data.get("op") not in _OPS:
            raise ValueError(f"Invalid operation: `{data.get('op')}`. It must be one of the "
                             f"following: {', '.join(_OPS)}.")
        if not isinstance(data.get("path"), str):
            raise ValueError("Unable to find `path` in JSON Schema change. It must be one of "
                             "the following: a string JSON pointer.")
        _needs_value(data["op"], data)
        return data


class PatchOp20(Body):
    """One operation of application/openstack-images-v2.0-json-patch: {"replace": "/name",
    "value": ...}."""

    glance_schema = "image"
    model_config = ConfigDict(extra="ignore")

    add: str | None = None
    remove: str | None = None
    replace: str | None = None
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _glance_words(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("Operations must be JSON objects.")
        named = [k for k in _OPS if k in data]
        if len(named) != 1 or not isinstance(data[named[0]], str):
            raise ValueError('Operation objects must contain exactly one member named "add", '
                             '"remove", or "replace".')
        _needs_value(named[0], data)
        return data

    @property
    def op(self) -> Literal["add", "remove", "replace"]:
        return "add" if self.add is not None else "remove" if self.remove is not None \
            else "replace"

    @property
    def path(self) -> str:
        return self.add or self.remove or self.replace or ""


_PATCH_KINDS: dict[str, Any] = {PATCH_TYPES[0]: list[PatchOp], PATCH_TYPES[1]: list[PatchOp20]}
#: The PATCH request body, per media type, for the OpenAPI document (FastAPI reads only JSON
#: media types itself: the route parses these two, with the same models).
PATCH_BODY = {"required": True, "content": {
    PATCH_TYPES[0]: {"schema": {"type": "array", "items": PatchOp.model_json_schema()}},
    PATCH_TYPES[1]: {"schema": {"type": "array", "items": PatchOp20.model_json_schema()}}}}


def _pointer(path: str) -> str:
    """The attribute a JSON pointer names; only top-level attributes can be patched."""
    if not path.startswith("/"):
        raise faults.BadRequest(f"Pointer `{path[:80]}` does not start with \"/\".")
    parts = path[1:].split("/")
    if len(parts) != 1 or not parts[0]:
        raise faults.BadRequest(f"Invalid JSON pointer for this resource: '{path[:80]}'")
    if re.search(r"~(?![01])", parts[0]):
        raise faults.BadRequest(f"Pointer `{path[:80]}` contains \"~\" not part of a "
                                "recognized escape sequence.")
    return parts[0].replace("~1", "/").replace("~0", "~")


def attribute_value(name: str, value: Any) -> Any:
    """A patched attribute's value, checked against the image schema's type for it."""
    checked: ImageCreate = validate(ImageCreate, {name: value}, "image")
    if name in ImageCreate.model_fields and name not in ("kernel_id", "ramdisk_id"):
        return getattr(checked, name)
    return checked.properties().get(name)  # None (drop it) only for kernel_id/ramdisk_id


def parse_changes(content_type: str, raw: bytes) -> list[Change]:
    """A JSON-Patch document of either media type (the request's Content-Type) as typed
    changes."""
    media = content_type.split(";")[0].strip()
    if media not in _PATCH_KINDS:
        allowed = ", ".join(sorted(PATCH_TYPES))
        raise faults.UnsupportedMediaType(
            f"The request media type {content_type[:255]} is not supported by this server.",
            detail=f"Image PATCH expects Content-Type one of: {allowed}",
            headers={"Accept-Patch": allowed})
    document = parse_json(raw or b"null")
    if not isinstance(document, list):
        raise faults.BadRequest("Request body must be a JSON array of operation objects.")
    changes = []
    for op in validate(_PATCH_KINDS[media], document, "image"):
        name = _pointer(op.path)
        check_attribute(name)
        value = None if op.op == "remove" else attribute_value(name, op.value)
        changes.append(Change(op.op, name, value))
    return changes


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


def with_body(declared: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A route's `policy(...)` declaration plus a request body FastAPI cannot describe itself
    (media types it does not parse: JSON Patch, image data), for the OpenAPI document."""
    return {"openapi_extra": {**declared["openapi_extra"], "requestBody": body}}


# -- the list's query --
_OWN_PARAMS = {"limit", "marker", "sort_key", "sort_dir", "sort", "tag", "visibility",
               "member_status", "os_hidden", "protected"}
_SIZE_OPS = {"size": "eq", "size_min": "gte", "size_max": "lte"}
_TIME_OPS = ("gt", "gte", "lt", "lte", "eq", "neq")
MAX_SIZE = 2**63 - 1  # what a BIGINT column can compare with


def _split_in(raw: str) -> list[str]:
    """Values of an `in:` filter: comma-separated, double quotes protect commas."""
    out, cur, quoted = [], "", False
    for ch in raw:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    out.append(cur)
    return [v.strip('"') for v in out]


def _sort_key(key: str) -> str:
    if key not in SORT_KEYS:
        raise faults.BadRequest(f"Invalid sort key: {key[:80]}. It must be one of the following: "
                                f"{', '.join(SORT_KEYS)}.")
    return key


def _sort_dir(direction: str) -> SortDir:
    if direction not in ("asc", "desc"):
        raise faults.BadRequest(f"Invalid sort direction: {direction[:80]}")
    return "asc" if direction == "asc" else "desc"


def _sort(params: Any) -> list[tuple[str, SortDir]]:
    """`sort=k:dir,...` or `sort_key=k&sort_dir=d` (each repeatable), checked in Glance's order
    (glance/api/v2/images.py _get_sorting_params)."""
    if "sort" in params:
        if "sort_key" in params or "sort_dir" in params:
            raise faults.BadRequest("Old and new sorting syntax cannot be combined")
        pairs = []
        for item in params["sort"].strip().split(","):
            key, _, direction = item.partition(":")
            pairs.append((_sort_key(key.strip()), _sort_dir((direction or "desc").strip())))
        return pairs
    keys = [_sort_key(k.strip()) for k in params.getlist("sort_key")]
    dirs = [_sort_dir(d.strip()) for d in params.getlist("sort_dir")]
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise faults.BadRequest("Number of sort dirs does not match the number of sort keys")
    keys = keys or ["created_at"]
    dirs = dirs or ["desc"]
    return list(zip(keys, dirs * len(keys) if len(dirs) == 1 else dirs, strict=True))


def _time(name: str, raw: str) -> tuple[str, str, datetime]:
    op, _, value = raw.partition(":")
    if not value:
        op, value = "eq", raw
    if op not in _TIME_OPS:
        raise faults.BadRequest(f"Invalid operator {op[:80]} for {name}.")
    try:
        return name, op, parse_iso(value)
    except ValueError:
        raise faults.BadRequest(f"Invalid time format for {name}: {value[:80]}") from None


def _size(name: str, raw: str) -> tuple[str, int]:
    try:
        size = int(raw)
    except ValueError:
        raise faults.BadRequest(f"Invalid {name} value: {raw[:80]}") from None
    if not -MAX_SIZE <= size <= MAX_SIZE:
        raise faults.BadRequest(f"Invalid {name} value: {raw[:80]} is out of range.")
    return _SIZE_OPS[name], size


async def list_query(request: Request, page: Paged) -> ImageQuery:
    """GET /v2/images's query string, checked and typed: sort, filters, page."""
    params = request.query_params
    q = ImageQuery(limit=page.limit, marker=page.marker, sort=_sort(params),
                   tags=params.getlist("tag"))
    q.visibility = params.get("visibility")
    if q.visibility is not None and q.visibility not in (*VISIBILITIES, "all"):
        raise faults.BadRequest(f"Invalid visibility value: {q.visibility[:80]}")
    q.member_status = params.get("member_status", "accepted")
    if q.member_status not in (*MEMBER_STATUSES, "all"):
        raise faults.BadRequest(f"Invalid status value: {q.member_status[:80]}")
    q.os_hidden = query_bool(params.get("os_hidden"), "os_hidden")
    q.protected = query_bool(params.get("protected"), "protected")
    for key, value in params.multi_items():
        if key in _OWN_PARAMS:
            continue
        if key in MATCH_FILTERS:
            in_list = key in ("name", "id") and value.startswith("in:")
            q.match[key] = _split_in(value[3:]) if in_list else [value]
        elif key in _SIZE_OPS:
            q.sizes.append(_size(key, value))
        elif key in ("created_at", "updated_at"):
            q.times.append(_time(key, value))
        else:
            q.properties[key] = value
    return q


Listed = Annotated[ImageQuery, Depends(list_query)]
_SEES_ALL = "context_is_admin"  # every image route's visibility asks it (Images.visible)


# -- routes --
@router.post("", status_code=201, **policy("add_image", "publicize_image", "communitize_image",
                                           _SEES_ALL))
async def create_image(body: ImageCreate, request: Request, ctx: Ctx, images: Imgs, data: Data,
                       response: Response) -> dict[str, Any]:
    image = await images.create(ctx, body.new_image())
    response.headers.update(_import_headers(data))
    response.headers["Location"] = f"{str(request.base_url).rstrip('/')}/v2/images/{image.id}"
    return image_view(image)


@router.get("", **policy("get_images", _SEES_ALL))
async def list_images(request: Request, query: Listed, page: Paged, ctx: Ctx, images: Imgs
                      ) -> dict[str, Any]:
    ctx.enforce("get_images", {"project_id": ctx.project_id})
    found = await images.list(ctx, query)
    # `first` repeats the request's query but for the marker, as Glance's serializer does.
    query_string = urlencode([(k, v) for k, v in request.query_params.multi_items()
                              if k != "marker"])
    body: dict[str, Any] = {"images": [image_view(i) for i in found],
                            "first": f"/v2/images?{query_string}" if query_string else "/v2/images",
                            "schema": "/v2/schemas/images"}
    if found and len(found) == query.limit:
        body["next"] = next_link(request, page, found[-1].id)
    return body


# GET/DELETE /v2/images/ name an image with an empty id: 404, not the list (tempest). There is
# no image to enforce the rule on; the caller's own project stands in, as for a list.
@router.get("/", include_in_schema=False, **policy("get_image"))
async def show_empty_id(ctx: Ctx) -> None:
    ctx.enforce("get_image", {"project_id": ctx.project_id})
    raise faults.NotFound("No image found with an empty ID")


@router.delete("/", include_in_schema=False, **policy("delete_image"))
async def delete_empty_id(ctx: Ctx) -> None:
    ctx.enforce("delete_image", {"project_id": ctx.project_id})
    raise faults.NotFound("No image found with an empty ID")


@router.get("/{image_id}", **policy("get_image", _SEES_ALL))
async def show_image(image_id: str, ctx: Ctx, images: Imgs) -> dict[str, Any]:
    return image_view(await images.show(ctx, image_id))


@router.patch("/{image_id}", **with_body(policy("modify_image", "publicize_image",
                                                "communitize_image", _SEES_ALL), PATCH_BODY))
async def update_image(image_id: str, request: Request, ctx: Ctx, images: Imgs
                       ) -> dict[str, Any]:
    changes = parse_changes(request.headers.get("content-type", ""), await request.body())
    return image_view(await images.update(ctx, image_id, changes))


@router.delete("/{image_id}", status_code=204, **policy("delete_image", _SEES_ALL))
async def delete_image(image_id: str, ctx: Ctx, data: Data) -> Response:
    await data.delete_image(ctx, image_id)
    return Response(status_code=204)


@router.post("/{image_id}/actions/deactivate", status_code=204,
             **policy("deactivate", _SEES_ALL))
async def deactivate(image_id: str, ctx: Ctx, images: Imgs) -> Response:
    await images.set_status(ctx, image_id, "deactivate")
    return Response(status_code=204)


@router.post("/{image_id}/actions/reactivate", status_code=204,
             **policy("reactivate", _SEES_ALL))
async def reactivate(image_id: str, ctx: Ctx, images: Imgs) -> Response:
    await images.set_status(ctx, image_id, "reactivate")
    return Response(status_code=204)


@stores_router.delete("/v2/stores/{store_id}/{image_id}", status_code=204,
                      **policy("delete_image_location", _SEES_ALL))
async def delete_from_store(store_id: str, image_id: str, ctx: Ctx, data: Data) -> Response:
    await data.delete_from_store(ctx, store_id, image_id)
    return Response(status_code=204)


@router.put("/{image_id}/tags/{tag}", status_code=204, **policy("modify_image", _SEES_ALL))
async def add_tag(image_id: str, tag: Annotated[str, Path(json_schema_extra={"maxLength": 255})],
                  ctx: Ctx, images: Imgs) -> Response:
    # Checked as Glance's tag deserializer does: {"tags": [tag]} against the image schema.
    reason = schema_error(IMAGE_SCHEMA, {"tags": [tag]})
    if reason is not None:
        raise faults.BadRequest(f"Provided object does not match schema 'image': {reason}")
    await images.add_tag(ctx, image_id, tag)
    return Response(status_code=204)


@router.delete("/{image_id}/tags/{tag}", status_code=204, **policy("modify_image", _SEES_ALL))
async def delete_tag(image_id: str, tag: str, ctx: Ctx, images: Imgs) -> Response:
    await images.delete_tag(ctx, image_id, tag)
    return Response(status_code=204)
