"""/servers/{id}/metadata and /servers/{id}/tags (2.26): Nova's server metadata and tags."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.compute.api.server_views import policy
from overcast.compute.api.servers import Servers

router = APIRouter(prefix="/v2.1/servers", tags=["server metadata"])
tags_router = APIRouter(prefix="/v2.1/servers", tags=["server tags"],
                        dependencies=[available(minimum=(2, 26))])

_M = "os_compute_api:server-metadata:"
_T = "os_compute_api:os-server-tags:"
MetaKey = Field(min_length=1, max_length=255)


class Metadata(BaseModel):
    """{"metadata": {key: value}}"""

    model_config = ConfigDict(extra="forbid")
    metadata: dict[str, str]


class MetaItem(BaseModel):
    """{"meta": {key: value}} with exactly the key of the URL."""

    model_config = ConfigDict(extra="forbid")
    meta: dict[str, str]


class Tags(BaseModel):
    """{"tags": [...]}"""

    model_config = ConfigDict(extra="forbid")
    tags: list[str]


def _check(items: dict[str, str]) -> None:
    for k, v in items.items():
        if not k or len(k) > 255 or len(v) > 255:
            raise faults.BadRequest("Metadata keys and values must be 1 to 255 characters.")


@router.get("/{server_id}/metadata", **policy(_M + "index"))
async def list_metadata(server_id: str, ctx: Ctx, servers: Servers) -> dict[str, object]:
    return {"metadata": await servers.metadata(ctx, server_id, _M + "index")}


@router.get("/{server_id}/metadata/{key}", **policy(_M + "show"))
async def show_metadata(server_id: str, key: str, ctx: Ctx, servers: Servers
                        ) -> dict[str, object]:
    items = await servers.metadata(ctx, server_id, _M + "show")
    if key not in items:
        raise faults.NotFound("Metadata item was not found")
    return {"meta": {key: items[key]}}


@router.post("/{server_id}/metadata", **policy(_M + "create",
                                               "os_compute_api:os-lock-server:unlock:unlock_override"))
async def add_metadata(server_id: str, body: Metadata, ctx: Ctx, servers: Servers
                       ) -> dict[str, object]:
    _check(body.metadata)
    return {"metadata": await servers.replace_metadata(ctx, server_id, body.metadata,
                                                       rule=_M + "create", merge=True)}


@router.put("/{server_id}/metadata", **policy(_M + "update_all",
                                              "os_compute_api:os-lock-server:unlock:unlock_override"))
async def replace_metadata(server_id: str, body: Metadata, ctx: Ctx, servers: Servers
                           ) -> dict[str, object]:
    _check(body.metadata)
    return {"metadata": await servers.replace_metadata(ctx, server_id, body.metadata,
                                                       rule=_M + "update_all")}


@router.put("/{server_id}/metadata/{key}", **policy(_M + "update",
                                                    "os_compute_api:os-lock-server:unlock:unlock_override"))
async def set_metadata(server_id: str, key: str, body: MetaItem, ctx: Ctx, servers: Servers
                       ) -> dict[str, object]:
    if len(body.meta) != 1:
        raise faults.BadRequest("Request body contains too many items")
    if key not in body.meta:
        raise faults.BadRequest("Request body and URI mismatch")
    _check(body.meta)
    await servers.replace_metadata(ctx, server_id, body.meta, rule=_M + "update", merge=True)
    return {"meta": body.meta}


@router.delete("/{server_id}/metadata/{key}", status_code=204,
               **policy(_M + "delete", "os_compute_api:os-lock-server:unlock:unlock_override"))
async def delete_metadata(server_id: str, key: str, ctx: Ctx, servers: Servers) -> Response:
    await servers.replace_metadata(ctx, server_id, {}, rule=_M + "delete", delete=key)
    return Response(status_code=204)


def _tag_ok(tag: str) -> None:
    if not tag or len(tag) > 60 or "/" in tag or "," in tag:
        raise faults.BadRequest(f"Invalid tag: {tag!r}")


@tags_router.get("/{server_id}/tags", **policy(_T + "index"))
async def list_tags(server_id: str, ctx: Ctx, servers: Servers) -> dict[str, object]:
    return {"tags": await servers.tags(ctx, server_id, _T + "index")}


@tags_router.get("/{server_id}/tags/{tag}", status_code=204, **policy(_T + "show"))
async def check_tag(server_id: str, tag: str, ctx: Ctx, servers: Servers) -> Response:
    if tag not in await servers.tags(ctx, server_id, _T + "show"):
        raise faults.NotFound(f"Tag {tag} could not be found.")
    return Response(status_code=204)


@tags_router.put("/{server_id}/tags", **policy(_T + "update_all"))
async def replace_tags(server_id: str, body: Tags, ctx: Ctx, servers: Servers
                       ) -> dict[str, object]:
    for t in body.tags:
        _tag_ok(t)
    tags, _ = await servers.set_tags(ctx, server_id, _T + "update_all", replace=body.tags)
    return {"tags": tags}


@tags_router.put("/{server_id}/tags/{tag}", **policy(_T + "update"))
async def add_tag(server_id: str, tag: str, ctx: Ctx, servers: Servers) -> Response:
    _tag_ok(tag)
    _, created = await servers.set_tags(ctx, server_id, _T + "update", add=tag)
    return Response(status_code=201 if created else 204,
                    headers={"Location": f"/v2.1/servers/{server_id}/tags/{tag}"})


@tags_router.delete("/{server_id}/tags", status_code=204, **policy(_T + "delete_all"))
async def delete_tags(server_id: str, ctx: Ctx, servers: Servers) -> Response:
    await servers.set_tags(ctx, server_id, _T + "delete_all", replace=[])
    return Response(status_code=204)


@tags_router.delete("/{server_id}/tags/{tag}", status_code=204, **policy(_T + "delete"))
async def delete_tag(server_id: str, tag: str, ctx: Ctx, servers: Servers) -> Response:
    await servers.set_tags(ctx, server_id, _T + "delete", remove=tag)
    return Response(status_code=204)
