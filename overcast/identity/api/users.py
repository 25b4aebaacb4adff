"""/v3/users, a user's password and groups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, flag, self_link
from overcast.identity.api.groups import group_view
from overcast.identity.api.schemas import PasswordBody, UserCreateBody, UserUpdateBody
from overcast.identity.models import User
from overcast.identity.tokens import iso

router = APIRouter(prefix="/v3/users", tags=["users"])




def user_view(request: Request, u: User) -> dict[str, Any]:
    view = {**u.extra, "id": u.id, "name": u.name, "domain_id": u.domain_id,
            "enabled": u.enabled, "password_expires_at": iso(u.password_expires_at),
            "options": u.options, "links": self_link(request, f"/v3/users/{u.id}")}
    if u.default_project_id:
        view["default_project_id"] = u.default_project_id
    return view


def _target(u: User) -> dict[str, Any]:
    return {"user_id": u.id, "user": {"id": u.id, "domain_id": u.domain_id}}


@router.get("")
async def list_users(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                     domain_id: str | None = None, enabled: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_users", {"domain_id": domain_id})
    users = await identity.users.list(name=name, domain_id=domain_id,
                                      enabled=flag(enabled, "enabled"))
    return collection(request, "users", [user_view(request, u) for u in users])


@router.post("", status_code=201)
async def create_user(request: Request, body: UserCreateBody, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    fields = body.user.fields()
    if not fields.get("name"):
        raise faults.BadRequest("Invalid input for field 'name': a name is required.")
    if not fields.get("domain_id"):
        fields["domain_id"] = ctx.creds.domain_id or ctx.creds.project_domain_id or "default"
    ctx.enforce("identity:create_user", {"user": {"domain_id": fields["domain_id"]}})
    user = await identity.users.create(fields)
    return {"user": user_view(request, user)}


@router.get("/{user_id}")
async def show_user(request: Request, user_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    user = await identity.users.show(user_id)
    ctx.enforce("identity:get_user", _target(user))
    return {"user": user_view(request, user)}


@router.patch("/{user_id}")
async def update_user(request: Request, user_id: str, body: UserUpdateBody, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    user = await identity.users.show(user_id)
    ctx.enforce("identity:update_user", _target(user))
    fields = body.user.fields()
    if "name" in fields and not fields["name"]:
        raise faults.BadRequest("Invalid input for field 'name'.")
    user = await identity.users.update(user_id, fields)
    return {"user": user_view(request, user)}


@router.delete("/{user_id}", status_code=204)
async def delete_user(user_id: str, ctx: Ctx, identity: Ident) -> Response:
    user = await identity.users.show(user_id)
    ctx.enforce("identity:delete_user", _target(user))
    await identity.users.delete(user_id)
    return Response(status_code=204)


@router.post("/{user_id}/password", status_code=204)
async def change_password(user_id: str, body: PasswordBody, ctx: Ctx, identity: Ident) -> Response:
    ctx.enforce("identity:change_password", {"user_id": user_id, "user": {"id": user_id}})
    await identity.users.change_password(user_id, body.user.original_password, body.user.password)
    return Response(status_code=204)


@router.get("/{user_id}/groups")
async def user_groups(request: Request, user_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    user = await identity.users.show(user_id)
    ctx.enforce("identity:list_groups_for_user", _target(user))
    groups = await identity.users.groups_of(user_id)
    return collection(request, "groups", [group_view(request, g) for g in groups])
