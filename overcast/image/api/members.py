"""/v2/images/{id}/members: share an image with projects; they accept or reject it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import ConfigDict, model_validator

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.image.api import Mbrs
from overcast.image.api.bodies import Body, Str255
from overcast.image.api.images import wire_time
from overcast.image.models import ImageMember
from overcast.image.service import MemberStatus

router = APIRouter(prefix="/v2/images/{image_id}/members", tags=["members"])


class MemberCreate(Body):
    """POST /v2/images/{id}/members: the project to share the image with."""

    glance_schema = "member"
    model_config = ConfigDict(extra="ignore")  # Glance reads "member" and nothing else

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
    # Glance reads "status" and nothing else (the openstack CLI also sends "member").
    model_config = ConfigDict(extra="ignore")

    status: MemberStatus


def member_view(m: ImageMember) -> dict[str, Any]:
    return {"image_id": m.image_id, "member_id": m.member, "status": m.status,
            "created_at": wire_time(m.created_at), "updated_at": wire_time(m.updated_at),
            "schema": "/v2/schemas/member"}


_SEES_ALL = "context_is_admin"


@router.post("", **policy("add_member", _SEES_ALL))
async def add_member(image_id: str, body: MemberCreate, ctx: Ctx, members: Mbrs
                     ) -> dict[str, Any]:
    return member_view(await members.add(ctx, image_id, body.member))


@router.get("", **policy("get_members", _SEES_ALL))
async def list_members(image_id: str, ctx: Ctx, members: Mbrs) -> dict[str, Any]:
    return {"members": [member_view(m) for m in await members.list(ctx, image_id)],
            "schema": "/v2/schemas/members"}


@router.get("/{member_id}", **policy("get_member", _SEES_ALL))
async def show_member(image_id: str, member_id: str, ctx: Ctx, members: Mbrs) -> dict[str, Any]:
    return member_view(await members.show(ctx, image_id, member_id))


@router.put("/{member_id}", **policy("modify_member", _SEES_ALL))
async def update_member(image_id: str, member_id: str, body: MemberUpdate, ctx: Ctx,
                        members: Mbrs) -> dict[str, Any]:
    return member_view(await members.update(ctx, image_id, member_id, body.status))


@router.delete("/{member_id}", status_code=204, **policy("delete_member", _SEES_ALL))
async def delete_member(image_id: str, member_id: str, ctx: Ctx, members: Mbrs) -> Response:
    await members.delete(ctx, image_id, member_id)
    return Response(status_code=204)
