"""/v3/roles, implied roles and /v3/role_inferences."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, self_link
from overcast.identity.api.schemas import RoleCreateBody, RoleUpdateBody
from overcast.identity.models import Role

router = APIRouter(tags=["roles"])



def role_view(request: Request, r: Role) -> dict[str, Any]:
    return {**r.extra, "id": r.id, "name": r.name,
            "domain_id": None if r.domain_id == "<<null>>" else r.domain_id,
            "description": r.description, "options": r.options,
            "links": self_link(request, f"/v3/roles/{r.id}")}


def _ref(request: Request, r: Role) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "links": self_link(request, f"/v3/roles/{r.id}")}


@router.get("/v3/roles")
async def list_roles(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                     domain_id: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_roles", {"domain_id": domain_id})
    roles = await identity.roles.list(name=name, domain_id=domain_id)
    return collection(request, "roles", [role_view(request, r) for r in roles])


@router.post("/v3/roles", status_code=201)
async def create_role(request: Request, body: RoleCreateBody, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    fields = body.role.fields()
    ctx.enforce("identity:create_role", {"role": fields, "domain_id": fields.get("domain_id")})
    if not fields.get("name"):
        raise faults.BadRequest("Invalid input for field 'name': a name is required.")
    extra = {k: v for k, v in fields.items()
             if k not in ("name", "domain_id", "description", "options")}
    role = await identity.roles.create(fields["name"], fields.get("domain_id"),
                                       fields.get("description"), fields.get("options"), extra)
    return {"role": role_view(request, role)}


@router.get("/v3/roles/{role_id}")
async def show_role(request: Request, role_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    role = await identity.roles.show(role_id)
    ctx.enforce("identity:get_role", {"role": {"id": role.id}, "domain_id": role.domain_id})
    return {"role": role_view(request, role)}


@router.patch("/v3/roles/{role_id}")
async def update_role(request: Request, role_id: str, body: RoleUpdateBody, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    await identity.roles.show(role_id)
    ctx.enforce("identity:update_role", {"role": {"id": role_id}})
    return {"role": role_view(request, await identity.roles.update(role_id, body.role.fields()))}


@router.delete("/v3/roles/{role_id}", status_code=204)
async def delete_role(role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.roles.show(role_id)
    ctx.enforce("identity:delete_role", {"role": {"id": role_id}})
    await identity.roles.delete(role_id)
    return Response(status_code=204)


# -- implied roles --
def _inference(request: Request, prior: Role, implied: Role | list[Role]) -> dict[str, Any]:
    implies = [_ref(request, r) for r in implied] if isinstance(implied, list) else _ref(
        request, implied)
    return {"prior_role": _ref(request, prior), "implies": implies}


@router.put("/v3/roles/{prior_role_id}/implies/{implied_role_id}", status_code=201)
async def create_implied(request: Request, prior_role_id: str, implied_role_id: str, ctx: Ctx,
                         identity: Ident) -> JSONResponse:
    ctx.enforce("identity:create_implied_role")
    prior, implied = await identity.roles.imply(prior_role_id, implied_role_id)
    return JSONResponse({"role_inference": _inference(request, prior, implied),
                         "links": {"self": str(request.url)}}, status_code=201)


@router.get("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
async def show_implied(request: Request, prior_role_id: str, implied_role_id: str, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_implied_role")
    prior, implied = await identity.roles.get_implication(prior_role_id, implied_role_id)
    return {"role_inference": _inference(request, prior, implied),
            "links": {"self": str(request.url)}}


@router.head("/v3/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
async def check_implied(prior_role_id: str, implied_role_id: str, ctx: Ctx,
                        identity: Ident) -> Response:
    ctx.enforce("identity:check_implied_role")
    await identity.roles.get_implication(prior_role_id, implied_role_id)
    return Response(status_code=204)


@router.delete("/v3/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
async def delete_implied(prior_role_id: str, implied_role_id: str, ctx: Ctx,
                         identity: Ident) -> Response:
    ctx.enforce("identity:delete_implied_role")
    await identity.roles.unimply(prior_role_id, implied_role_id)
    return Response(status_code=204)


@router.get("/v3/roles/{prior_role_id}/implies")
async def list_implied(request: Request, prior_role_id: str, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:list_implied_roles")
    [(prior, implied)] = (await identity.roles.implications(prior_role_id)).items()
    return {"role_inference": _inference(request, prior, implied),
            "links": {"self": str(request.url)}}


@router.get("/v3/role_inferences")
async def role_inferences(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:list_role_inference_rules")
    rules = await identity.roles.implications()
    return {"role_inferences": [_inference(request, p, i) for p, i in rules.items()],
            "links": {"self": str(request.url), "previous": None, "next": None}}
