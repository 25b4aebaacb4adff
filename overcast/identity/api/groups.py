"""/v3/groups and group membership."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, self_link
from overcast.identity.api.schemas import GroupCreateBody, GroupUpdateBody
from overcast.identity.models import Group

router = APIRouter(prefix="/v3/groups", tags=["groups"])



def group_view(request: Request, g: Group) -> dict[str, Any]:
    return {**g.extra, "id": g.id, "name": g.name, "domain_id": g.domain_id,
            "description": g.description, "links": self_link(request, f"/v3/groups/{g.id}")}


def _target(g: Group) -> dict[str, Any]:
    return {"group": {"id": g.id, "domain_id": g.domain_id}}


@router.get("")
async def list_groups(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                      domain_id: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_groups", {"domain_id": domain_id})
    groups = await identity.groups.list(name=name, domain_id=domain_id)
    return collection(request, "groups", [group_view(request, g) for g in groups])


@router.post("", status_code=201)
async def create_group(request: Request, body: GroupCreateBody, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    fields = body.group.fields()
    if not fields.get("name"):
        raise faults.BadRequest("Invalid input for field 'name': a name is required.")
    if not fields.get("domain_id"):
        fields["domain_id"] = ctx.creds.domain_id or ctx.creds.project_domain_id or "default"
    ctx.enforce("identity:create_group", {"group": {"domain_id": fields["domain_id"]}})
    return {"group": group_view(request, await identity.groups.create(fields))}


@router.get("/{group_id}")
async def show_group(request: Request, group_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    group = await identity.groups.show(group_id)
    ctx.enforce("identity:get_group", _target(group))
    return {"group": group_view(request, group)}


@router.patch("/{group_id}")
async def update_group(request: Request, group_id: str, body: GroupUpdateBody, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    group = await identity.groups.show(group_id)
    ctx.enforce("identity:update_group", _target(group))
    fields = body.group.fields()
    if "name" in fields and not fields["name"]:
        raise faults.BadRequest("Invalid input for field 'name'.")
    return {"group": group_view(request, await identity.groups.update(group_id, fields))}


@router.delete("/{group_id}", status_code=204)
async def delete_group(group_id: str, ctx: Ctx, identity: Ident) -> Response:
    group = await identity.groups.show(group_id)
    ctx.enforce("identity:delete_group", _target(group))
    await identity.groups.delete(group_id)
    return Response(status_code=204)


@router.get("/{group_id}/users")
async def list_members(request: Request, group_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    from overcast.identity.api.users import user_view  # users.py imports group_view from here

    group = await identity.groups.show(group_id)
    ctx.enforce("identity:list_users_in_group", _target(group))
    users = await identity.users.list(group_id=group_id)
    return collection(request, "users", [user_view(request, u) for u in users])


@router.put("/{group_id}/users/{user_id}", status_code=204)
async def add_member(group_id: str, user_id: str, ctx: Ctx, identity: Ident) -> Response:
    group = await identity.groups.show(group_id)
    ctx.enforce("identity:add_user_to_group", _target(group))
    await identity.groups.add_user(group_id, user_id)
    return Response(status_code=204)


@router.head("/{group_id}/users/{user_id}", status_code=204)
@router.get("/{group_id}/users/{user_id}", status_code=204)
async def check_member(group_id: str, user_id: str, ctx: Ctx, identity: Ident) -> Response:
    group = await identity.groups.show(group_id)
    ctx.enforce("identity:check_user_in_group", _target(group))
    await identity.groups.check_user(group_id, user_id)
    return Response(status_code=204)


@router.delete("/{group_id}/users/{user_id}", status_code=204)
async def remove_member(group_id: str, user_id: str, ctx: Ctx, identity: Ident) -> Response:
    group = await identity.groups.show(group_id)
    ctx.enforce("identity:remove_user_from_group", _target(group))
    if not user_id:
        raise faults.BadRequest("A user id is required.")
    await identity.groups.remove_user(group_id, user_id)
    return Response(status_code=204)
