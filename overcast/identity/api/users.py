"""/v3/users, a user's password and groups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, bool_param, listing, self_link
from overcast.identity.api.schemas import PasswordBody, UserCreateBody, UserUpdateBody
from overcast.identity.models import Group, User
from overcast.identity.tokens import iso

router = APIRouter(prefix="/v3/users", tags=["users"])


def user_view(request: Request, u: User, *, with_extra: bool = False) -> dict[str, Any]:
    """A user; `with_extra` adds the extra attributes once more under `extra`, as Keystone's
    PATCH answer has them (its driver returns to_dict(include_extra_dict=True) there only)."""
    view = {**u.extra, "id": u.id, "name": u.name, "domain_id": u.domain_id,
            "enabled": u.enabled, "password_expires_at": iso(u.password_expires_at),
            "options": u.options, "links": self_link(request, f"/v3/users/{u.id}")}
    if u.default_project_id:
        view["default_project_id"] = u.default_project_id
    if with_extra:
        view["extra"] = dict(u.extra)
    return view


def group_view(request: Request, g: Group) -> dict[str, Any]:
    return {**g.extra, "id": g.id, "name": g.name, "domain_id": g.domain_id,
            "description": g.description, "links": self_link(request, f"/v3/groups/{g.id}")}


def user_group_view(request: Request, g: Group) -> dict[str, Any]:
    """A group in /v3/users/{id}/groups: Keystone adds when the membership expires, always
    null for a group of the SQL backend (only federated memberships expire)."""
    return {**group_view(request, g), "membership_expires_at": None}


@router.get("", **policy("identity:list_users"))
async def list_users(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                     domain_id: str | None = None, enabled: str | None = None) -> dict[str, Any]:
    users = await identity.users.list(ctx, name=name, domain_id=domain_id,
                                      enabled=bool_param(enabled, "enabled"))
    return listing(request, "users", users, lambda u: user_view(request, u), identity.list_limit)


@router.post("", status_code=201, **policy("identity:create_user"))
async def create_user(request: Request, body: UserCreateBody, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    return {"user": user_view(request, await identity.users.create(ctx, body.user.fields()))}


@router.get("/{user_id}", **policy("identity:get_user"))
async def show_user(request: Request, user_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"user": user_view(request, await identity.users.show(ctx, user_id))}


@router.patch("/{user_id}", **policy("identity:update_user"))
async def update_user(request: Request, user_id: str, body: UserUpdateBody, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    return {"user": user_view(request, await identity.users.update(ctx, user_id,
                                                                   body.user.fields()),
                              with_extra=True)}


@router.delete("/{user_id}", status_code=204, **policy("identity:delete_user"))
async def delete_user(user_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.users.delete(ctx, user_id)
    return Response(status_code=204)


@router.post("/{user_id}/password", status_code=204)  # public: PUBLIC in identity/app.py
async def change_password(user_id: str, body: PasswordBody, identity: Ident) -> Response:
    await identity.users.change_password(user_id, body.user.original_password,
                                         body.user.password)
    return Response(status_code=204)


@router.get("/{user_id}/groups", **policy("identity:list_groups_for_user"))
async def user_groups(request: Request, user_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    groups = await identity.users.groups(ctx, user_id)
    return listing(request, "groups", groups, lambda g: user_group_view(request, g),
                   identity.list_limit)
