"""/v3/groups and group membership."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing
from overcast.identity.api.schemas import GroupCreateBody, GroupUpdateBody
from overcast.identity.api.users import group_view, user_view

router = APIRouter(prefix="/v3/groups", tags=["groups"])


@router.get("", **policy("identity:list_groups"))
async def list_groups(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                      domain_id: str | None = None) -> dict[str, Any]:
    groups = await identity.groups.list(ctx, name=name, domain_id=domain_id)
    return listing(request, "groups", groups, lambda g: group_view(request, g),
                   identity.list_limit)


@router.post("", status_code=201, **policy("identity:create_group"))
async def create_group(request: Request, body: GroupCreateBody, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    return {"group": group_view(request, await identity.groups.create(ctx, body.group.fields()))}


@router.get("/{group_id}", **policy("identity:get_group"))
async def show_group(request: Request, group_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"group": group_view(request, await identity.groups.show(ctx, group_id))}


@router.patch("/{group_id}", **policy("identity:update_group"))
async def update_group(request: Request, group_id: str, body: GroupUpdateBody, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    return {"group": group_view(request, await identity.groups.update(ctx, group_id,
                                                                      body.group.fields()))}


@router.delete("/{group_id}", status_code=204, **policy("identity:delete_group"))
async def delete_group(group_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.groups.delete(ctx, group_id)
    return Response(status_code=204)


@router.get("/{group_id}/users", **policy("identity:list_users_in_group"))
async def list_members(request: Request, group_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    users = await identity.groups.members(ctx, group_id)
    return listing(request, "users", users, lambda u: user_view(request, u), identity.list_limit)


@router.put("/{group_id}/users/{user_id}", status_code=204,
            **policy("identity:add_user_to_group"))
async def add_member(group_id: str, user_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.groups.add_user(ctx, group_id, user_id)
    return Response(status_code=204)


@router.head("/{group_id}/users/{user_id}", status_code=204,
             **policy("identity:check_user_in_group"))
@router.get("/{group_id}/users/{user_id}", status_code=204,
            **policy("identity:check_user_in_group"))
async def check_member(group_id: str, user_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.groups.check_user(ctx, group_id, user_id)
    return Response(status_code=204)


@router.delete("/{group_id}/users/{user_id}", status_code=204,
               **policy("identity:remove_user_from_group"))
async def remove_member(group_id: str, user_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.groups.remove_user(ctx, group_id, user_id)
    return Response(status_code=204)
