"""/resource_classes (1.2): the standard classes and the custom ones."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.placement.api import VERSIONED, Classes, empty, reply, validate

router = APIRouter(prefix="/resource_classes", tags=["resource_classes"],
                   dependencies=[VERSIONED, available(minimum=(1, 2))])


class ResourceClassBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=255, pattern=r"^CUSTOM_[A-Z0-9_]+$")


def _view(name: str) -> dict[str, Any]:
    return {"name": name, "links": [{"rel": "self", "href": f"/resource_classes/{name}"}]}


@router.get("", **policy("placement:resource_classes:list"))
async def list_classes(ctx: Ctx, classes: Classes) -> Response:
    ctx.enforce("placement:resource_classes:list")
    found = await classes.list()
    latest = max((t for _, t in found if t is not None), default=None)
    return reply(ctx, {"resource_classes": [_view(n) for n, _ in found]}, last_modified=latest)


@router.post("", status_code=201, **policy("placement:resource_classes:create"))
async def create_class(body: ResourceClassBody, ctx: Ctx, classes: Classes) -> Response:
    ctx.enforce("placement:resource_classes:create")
    await classes.create(body.name)
    return empty(201, {"Location": f"/resource_classes/{body.name}"})


@router.get("/{name}", **policy("placement:resource_classes:show"))
async def show_class(name: str, ctx: Ctx, classes: Classes) -> Response:
    ctx.enforce("placement:resource_classes:show")
    return reply(ctx, _view(await classes.get(name)))


@router.put("/{name}", **policy("placement:resource_classes:update"))
async def put_class(name: str, ctx: Ctx, classes: Classes,
                    body: dict[str, Any] | None = Body(None)) -> Response:
    """Before 1.7: rename a custom class (body {"name": new}); from 1.7: create it or confirm
    it exists, without a body (201 or 204)."""
    ctx.enforce("placement:resource_classes:update")
    if ctx.microversion >= (1, 7):
        created = await classes.ensure(name)
        return empty(201 if created else 204, {"Location": f"/resource_classes/{name}"})
    new = validate(ResourceClassBody, body).name
    await classes.rename(name, new)
    return reply(ctx, _view(new))


@router.delete("/{name}", status_code=204, **policy("placement:resource_classes:delete"))
async def delete_class(name: str, ctx: Ctx, classes: Classes) -> Response:
    ctx.enforce("placement:resource_classes:delete")
    await classes.delete(name)
    return empty()
