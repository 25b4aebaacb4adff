"""/v2/images/{id}/members: share an image with projects; they accept or reject it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import model_validator

from overcast.common.app import Ctx
from overcast.image.api import Imgs, Mbrs, Who
from overcast.image.api.bodies import Body, Str255
from overcast.image.api.images import wire_time
from overcast.image.models import ImageMember
from overcast.image.service import MemberStatus

router = APIRouter(prefix="/v2/images/{image_id}/members", tags=["members"])


class MemberCreate(Body):
    """POST /v2/images/{id}/members: the project to share the image with."""

    glance_schema = "member"

    member: Str255

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("member"), str) \
                or not data["member"]:
            raise ValueError("Member to be added not specified")
        return data


class MemberUpdate(Body):
    """PUT /v2/images/{id}/members/{member}: what the member project says of the image."""

    glance_schema = "member"

    status: MemberStatus


def member_view(m: ImageMember) -> dict[str, Any]:
    return {"image_id": m.image_id, "member_id": m.member, "status": m.status,
            "created_at": wire_time(m.created_at), "updated_at": wire_time(m.updated_at),
            "schema": "/v2/schemas/member"}


async def _target(images: Imgs, who: Who, image_id: str, member_id: str | None) -> dict[str, Any]:
    image = await images.show(who, image_id)
    return {"project_id": image.owner, "visibility": image.visibility, "member_id": member_id}


@router.post("")
async def add_member(image_id: str, body: MemberCreate, ctx: Ctx, images: Imgs, members: Mbrs,
                     who: Who) -> dict[str, Any]:
    ctx.enforce("add_member", await _target(images, who, image_id, body.member))
    return member_view(await members.add(who, image_id, body.member))


@router.get("")
async def list_members(image_id: str, ctx: Ctx, images: Imgs, members: Mbrs,
                       who: Who) -> dict[str, Any]:
    ctx.enforce("get_members", await _target(images, who, image_id, ctx.project_id))
    return {"members": [member_view(m) for m in await members.list(who, image_id)],
            "schema": "/v2/schemas/members"}


@router.get("/{member_id}")
async def show_member(image_id: str, member_id: str, ctx: Ctx, images: Imgs, members: Mbrs,
                      who: Who) -> dict[str, Any]:
    ctx.enforce("get_member", await _target(images, who, image_id, member_id))
    return member_view(await members.show(who, image_id, member_id))


@router.put("/{member_id}")
async def update_member(image_id: str, member_id: str, body: MemberUpdate, ctx: Ctx,
                        images: Imgs, members: Mbrs, who: Who) -> dict[str, Any]:
    ctx.enforce("modify_member", await _target(images, who, image_id, member_id))
    return member_view(await members.update(who, image_id, member_id, body.status))


@router.delete("/{member_id}", status_code=204)
async def delete_member(image_id: str, member_id: str, ctx: Ctx, images: Imgs, members: Mbrs,
                        who: Who) -> Response:
    ctx.enforce("delete_member", await _target(images, who, image_id, member_id))
    await members.delete(who, image_id, member_id)
    return Response(status_code=204)
