"""Role grants on projects, domains and the system, for users and groups (incl. OS-INHERIT)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response

from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection
from overcast.identity.api.roles import role_view
from overcast.identity.assignments import SYSTEM

router = APIRouter(tags=["grants"])

Target = Literal["projects", "domains"]
Actor = Literal["users", "groups"]


async def _check(identity: Ident, target: str, target_id: str, actor: str, actor_id: str) -> None:
    """404 for a missing target or actor, before any policy decision."""
    if target == "projects":
        await identity.projects.show(target_id)
    elif target == "domains":
        await identity.domains.show(target_id)
    if actor == "users":
        await identity.users.show(actor_id)
    else:
        await identity.groups.show(actor_id)


def _kind(target: str) -> str:
    return {"projects": "project", "domains": "domain", "system": "system"}[target]


async def _grant_op(ctx: Ctx, identity: Ident, op: str, target: str, target_id: str, actor: str,
                    actor_id: str, role_id: str, inherited: bool) -> Response:
    await _check(identity, target, target_id, actor, actor_id)
    rule = {"put": "identity:create_grant", "head": "identity:check_grant",
            "delete": "identity:revoke_grant"}[op]
    if target == "system":
        suffix = "user" if actor == "users" else "group"
        rule = {"put": f"identity:create_system_grant_for_{suffix}",
                "head": f"identity:check_system_grant_for_{suffix}",
                "delete": f"identity:revoke_system_grant_for_{suffix}"}[op]
    ctx.enforce(rule, {"target_id": target_id, "role_id": role_id})
    fn = {"put": identity.assignments.grant, "head": identity.assignments.check,
          "delete": identity.assignments.revoke}[op]
    await fn(actor[:-1], actor_id, _kind(target), target_id if target != "system" else SYSTEM,
             role_id, inherited)
    return Response(status_code=204)


async def _list(request: Request, ctx: Ctx, identity: Ident, target: str, target_id: str,
                actor: str, actor_id: str, inherited: bool) -> dict[str, Any]:
    await _check(identity, target, target_id, actor, actor_id)
    if target == "system":
        ctx.enforce(f"identity:list_system_grants_for_{actor[:-1]}")
    else:
        ctx.enforce("identity:list_grants", {"target_id": target_id})
    roles = await identity.assignments.list_roles(
        actor[:-1], actor_id, _kind(target), target_id if target != "system" else SYSTEM,
        inherited)
    return collection(request, "roles", [role_view(request, r) for r in roles])


# /v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]
@router.get("/v3/{target}/{target_id}/{actor}/{actor_id}/roles")
async def list_grants(request: Request, target: Target, target_id: str, actor: Actor,
                      actor_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return await _list(request, ctx, identity, target, target_id, actor, actor_id, False)


@router.put("/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", status_code=204)
async def put_grant(target: Target, target_id: str, actor: Actor, actor_id: str, role_id: str,
                    ctx: Ctx, identity: Ident) -> Response:
    return await _grant_op(ctx, identity, "put", target, target_id, actor, actor_id, role_id, False)


@router.head("/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", status_code=204)
@router.get("/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", status_code=204)
async def check_grant(target: Target, target_id: str, actor: Actor, actor_id: str, role_id: str,
                      ctx: Ctx, identity: Ident) -> Response:
    return await _grant_op(ctx, identity, "head", target, target_id, actor, actor_id, role_id, False)


@router.delete("/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", status_code=204)
async def delete_grant(target: Target, target_id: str, actor: Actor, actor_id: str, role_id: str,
                       ctx: Ctx, identity: Ident) -> Response:
    return await _grant_op(ctx, identity, "delete", target, target_id, actor, actor_id, role_id,
                           False)


# /v3/OS-INHERIT/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]/inherited_to_projects
@router.get("/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/inherited_to_projects")
async def list_inherited(request: Request, target: Target, target_id: str, actor: Actor,
                         actor_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return await _list(request, ctx, identity, target, target_id, actor, actor_id, True)


@router.put("/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}/"
            "inherited_to_projects", status_code=204)
async def put_inherited(target: Target, target_id: str, actor: Actor, actor_id: str,
                        role_id: str, ctx: Ctx, identity: Ident) -> Response:
    return await _grant_op(ctx, identity, "put", target, target_id, actor, actor_id, role_id, True)


@router.head("/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}/"
             "inherited_to_projects", status_code=204)
@router.get("/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}/"
            "inherited_to_projects", status_code=204)
async def check_inherited(target: Target, target_id: str, actor: Actor, actor_id: str,
                          role_id: str, ctx: Ctx, identity: Ident) -> Response:
    return await _grant_op(ctx, identity, "head", target, target_id, actor, actor_id, role_id, True)


@router.delete("/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}/"
               "inherited_to_projects", status_code=204)
async def delete_inherited(target: Target, target_id: str, actor: Actor, actor_id: str,
                           role_id: str, ctx: Ctx, identity: Ident) -> Response:
    return await _grant_op(ctx, identity, "delete", target, target_id, actor, actor_id, role_id,
                           True)


# /v3/system/{users|groups}/{id}/roles[/{role_id}]
async def _system_actor(identity: Ident, actor: str, actor_id: str) -> None:
    if actor == "users":
        await identity.users.show(actor_id)
    else:
        await identity.groups.show(actor_id)


@router.get("/v3/system/{actor}/{actor_id}/roles")
async def list_system(request: Request, actor: Actor, actor_id: str, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    return await _list(request, ctx, identity, "system", SYSTEM, actor, actor_id, False)


@router.put("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
async def put_system(actor: Actor, actor_id: str, role_id: str, ctx: Ctx,
                     identity: Ident) -> Response:
    return await _grant_op(ctx, identity, "put", "system", SYSTEM, actor, actor_id, role_id, False)


@router.head("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
@router.get("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
async def check_system(actor: Actor, actor_id: str, role_id: str, ctx: Ctx,
                       identity: Ident) -> Response:
    return await _grant_op(ctx, identity, "head", "system", SYSTEM, actor, actor_id, role_id, False)


@router.delete("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
async def delete_system(actor: Actor, actor_id: str, role_id: str, ctx: Ctx,
                        identity: Ident) -> Response:
    return await _grant_op(ctx, identity, "delete", "system", SYSTEM, actor, actor_id, role_id,
                           False)
