"""/v3/roles, implied roles and /v3/role_inferences."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.schemas import RoleCreateBody, RoleUpdateBody
from overcast.identity.models import Role
from overcast.identity.roles import NULL_DOMAIN

router = APIRouter(tags=["roles"])


def role_entity(r: Role) -> dict[str, Any]:
    """A role as Keystone's role API returns it, without links (how an application credential
    lists its roles)."""
    return {**r.extra, "id": r.id, "name": r.name,
            "domain_id": None if r.domain_id == NULL_DOMAIN else r.domain_id,
            "description": r.description, "options": r.options}


def role_view(request: Request, r: Role) -> dict[str, Any]:
    return {**role_entity(r), "links": self_link(request, f"/v3/roles/{r.id}")}


def _ref(request: Request, r: Role) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "links": self_link(request, f"/v3/roles/{r.id}")}


def _inference(request: Request, prior: Role, implied: Role | list[Role]) -> dict[str, Any]:
    implies = [_ref(request, r) for r in implied] if isinstance(implied, list) else _ref(
        request, implied)
    return {"prior_role": _ref(request, prior), "implies": implies}


@router.get("/v3/roles", **policy("identity:list_roles"))
async def list_roles(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                     domain_id: str | None = None) -> dict[str, Any]:
    roles = await identity.roles.list(ctx, name=name, domain_id=domain_id)
    return listing(request, "roles", roles, lambda r: role_view(request, r), identity.list_limit)


@router.post("/v3/roles", status_code=201, **policy("identity:create_role"))
async def create_role(request: Request, body: RoleCreateBody, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    return {"role": role_view(request, await identity.roles.create(ctx, body.role.fields()))}


@router.get("/v3/roles/{role_id}", **policy("identity:get_role"))
async def show_role(request: Request, role_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"role": role_view(request, await identity.roles.show(ctx, role_id))}


@router.patch("/v3/roles/{role_id}", **policy("identity:update_role"))
async def update_role(request: Request, role_id: str, body: RoleUpdateBody, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    return {"role": role_view(request, await identity.roles.update(ctx, role_id,
                                                                   body.role.fields()))}


@router.delete("/v3/roles/{role_id}", status_code=204, **policy("identity:delete_role"))
async def delete_role(role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.roles.delete(ctx, role_id)
    return Response(status_code=204)


# -- implied roles --
@router.put("/v3/roles/{prior_role_id}/implies/{implied_role_id}", status_code=201,
            **policy("identity:create_implied_role"))
async def create_implied(request: Request, prior_role_id: str, implied_role_id: str, ctx: Ctx,
                         identity: Ident) -> JSONResponse:
    prior, implied = await identity.roles.imply(ctx, prior_role_id, implied_role_id)
    return JSONResponse({"role_inference": _inference(request, prior, implied),
                         "links": {"self": str(request.url)}}, status_code=201)


@router.get("/v3/roles/{prior_role_id}/implies/{implied_role_id}",
            **policy("identity:get_implied_role"))
async def show_implied(request: Request, prior_role_id: str, implied_role_id: str, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    prior, implied = await identity.roles.implication(ctx, prior_role_id, implied_role_id)
    return {"role_inference": _inference(request, prior, implied),
            "links": {"self": str(request.url)}}


@router.head("/v3/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204,
             **policy("identity:check_implied_role"))
async def check_implied(prior_role_id: str, implied_role_id: str, ctx: Ctx,
                        identity: Ident) -> Response:
    await identity.roles.check_implication(ctx, prior_role_id, implied_role_id)
    return Response(status_code=204)


@router.delete("/v3/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204,
               **policy("identity:delete_implied_role"))
async def delete_implied(prior_role_id: str, implied_role_id: str, ctx: Ctx,
                         identity: Ident) -> Response:
    await identity.roles.unimply(ctx, prior_role_id, implied_role_id)
    return Response(status_code=204)


@router.get("/v3/roles/{prior_role_id}/implies", **policy("identity:list_implied_roles"))
async def list_implied(request: Request, prior_role_id: str, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    prior, implied = await identity.roles.implied_by(ctx, prior_role_id)
    return {"role_inference": _inference(request, prior, implied),
            "links": {"self": str(request.url)}}


@router.get("/v3/role_inferences", **policy("identity:list_role_inference_rules"))
async def role_inferences(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    rules = await identity.roles.inferences(ctx)
    return {"role_inferences": [_inference(request, p, i) for p, i in rules],
            "links": {"self": str(request.url), "previous": None, "next": None}}
