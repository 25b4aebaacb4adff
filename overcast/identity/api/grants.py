"""Role grants on projects, domains and the system, for users and groups (incl. OS-INHERIT)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing
from overcast.identity.api.roles import role_view
from overcast.identity.assignments import SYSTEM, Actor, Target
from overcast.identity.models import Role

router = APIRouter(tags=["grants"])

Targets = Literal["projects", "domains"]
Actors = Literal["users", "groups"]

_TARGET: dict[str, Target] = {"projects": "project", "domains": "domain"}
_ACTOR: dict[str, Actor] = {"users": "user", "groups": "group"}

_GRANTS = "/v3/{target}/{target_id}/{actor}/{actor_id}/roles"
_INHERITED = "/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles"


def _roles(request: Request, identity: Ident, roles: list[Role]) -> dict[str, Any]:
    return listing(request, "roles", roles, lambda r: role_view(request, r), identity.list_limit)


# /v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]
@router.get(_GRANTS, **policy("identity:list_grants"))
async def list_grants(request: Request, target: Targets, target_id: str, actor: Actors,
                      actor_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return _roles(request, identity, await identity.assignments.roles(
        ctx, _ACTOR[actor], actor_id, _TARGET[target], target_id))


@router.put(_GRANTS + "/{role_id}", status_code=204, **policy("identity:create_grant"))
async def put_grant(target: Targets, target_id: str, actor: Actors, actor_id: str, role_id: str,
                    ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.grant(ctx, _ACTOR[actor], actor_id, _TARGET[target], target_id,
                                     role_id)
    return Response(status_code=204)


@router.head(_GRANTS + "/{role_id}", status_code=204, **policy("identity:check_grant"))
@router.get(_GRANTS + "/{role_id}", status_code=204, **policy("identity:check_grant"))
async def check_grant(target: Targets, target_id: str, actor: Actors, actor_id: str,
                      role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.check(ctx, _ACTOR[actor], actor_id, _TARGET[target], target_id,
                                     role_id)
    return Response(status_code=204)


@router.delete(_GRANTS + "/{role_id}", status_code=204, **policy("identity:revoke_grant"))
async def delete_grant(target: Targets, target_id: str, actor: Actors, actor_id: str,
                       role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.revoke(ctx, _ACTOR[actor], actor_id, _TARGET[target], target_id,
                                      role_id)
    return Response(status_code=204)


# /v3/OS-INHERIT/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]/inherited_to_projects
@router.get(_INHERITED + "/inherited_to_projects", **policy("identity:list_grants"))
async def list_inherited(request: Request, target: Targets, target_id: str, actor: Actors,
                         actor_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return _roles(request, identity, await identity.assignments.roles(
        ctx, _ACTOR[actor], actor_id, _TARGET[target], target_id, inherited=True))


@router.put(_INHERITED + "/{role_id}/inherited_to_projects", status_code=204,
            **policy("identity:create_grant"))
async def put_inherited(target: Targets, target_id: str, actor: Actors, actor_id: str,
                        role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.grant(ctx, _ACTOR[actor], actor_id, _TARGET[target], target_id,
                                     role_id, inherited=True)
    return Response(status_code=204)


@router.head(_INHERITED + "/{role_id}/inherited_to_projects", status_code=204,
             **policy("identity:check_grant"))
@router.get(_INHERITED + "/{role_id}/inherited_to_projects", status_code=204,
            **policy("identity:check_grant"))
async def check_inherited(target: Targets, target_id: str, actor: Actors, actor_id: str,
                          role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.check(ctx, _ACTOR[actor], actor_id, _TARGET[target], target_id,
                                     role_id, inherited=True)
    return Response(status_code=204)


@router.delete(_INHERITED + "/{role_id}/inherited_to_projects", status_code=204,
               **policy("identity:revoke_grant"))
async def delete_inherited(target: Targets, target_id: str, actor: Actors, actor_id: str,
                           role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.revoke(ctx, _ACTOR[actor], actor_id, _TARGET[target], target_id,
                                      role_id, inherited=True)
    return Response(status_code=204)


# /v3/system/{users|groups}/{id}/roles[/{role_id}]: Keystone has a rule per actor kind, so a
# route per actor kind.
@router.get("/v3/system/users/{user_id}/roles", **policy("identity:list_system_grants_for_user"))
async def list_system_user(request: Request, user_id: str, ctx: Ctx,
                           identity: Ident) -> dict[str, Any]:
    return _roles(request, identity, await identity.assignments.roles(
        ctx, "user", user_id, "system", SYSTEM))


@router.get("/v3/system/groups/{group_id}/roles",
            **policy("identity:list_system_grants_for_group"))
async def list_system_group(request: Request, group_id: str, ctx: Ctx,
                            identity: Ident) -> dict[str, Any]:
    return _roles(request, identity, await identity.assignments.roles(
        ctx, "group", group_id, "system", SYSTEM))


@router.put("/v3/system/users/{user_id}/roles/{role_id}", status_code=204,
            **policy("identity:create_system_grant_for_user"))
async def put_system_user(user_id: str, role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.grant(ctx, "user", user_id, "system", SYSTEM, role_id)
    return Response(status_code=204)


@router.put("/v3/system/groups/{group_id}/roles/{role_id}", status_code=204,
            **policy("identity:create_system_grant_for_group"))
async def put_system_group(group_id: str, role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.grant(ctx, "group", group_id, "system", SYSTEM, role_id)
    return Response(status_code=204)


@router.head("/v3/system/users/{user_id}/roles/{role_id}", status_code=204,
             **policy("identity:check_system_grant_for_user"))
@router.get("/v3/system/users/{user_id}/roles/{role_id}", status_code=204,
            **policy("identity:check_system_grant_for_user"))
async def check_system_user(user_id: str, role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.check(ctx, "user", user_id, "system", SYSTEM, role_id)
    return Response(status_code=204)


@router.head("/v3/system/groups/{group_id}/roles/{role_id}", status_code=204,
             **policy("identity:check_system_grant_for_group"))
@router.get("/v3/system/groups/{group_id}/roles/{role_id}", status_code=204,
            **policy("identity:check_system_grant_for_group"))
async def check_system_group(group_id: str, role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.check(ctx, "group", group_id, "system", SYSTEM, role_id)
    return Response(status_code=204)


@router.delete("/v3/system/users/{user_id}/roles/{role_id}", status_code=204,
               **policy("identity:revoke_system_grant_for_user"))
async def delete_system_user(user_id: str, role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.revoke(ctx, "user", user_id, "system", SYSTEM, role_id)
    return Response(status_code=204)


@router.delete("/v3/system/groups/{group_id}/roles/{role_id}", status_code=204,
               **policy("identity:revoke_system_grant_for_group"))
async def delete_system_group(group_id: str, role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.assignments.revoke(ctx, "group", group_id, "system", SYSTEM, role_id)
    return Response(status_code=204)
