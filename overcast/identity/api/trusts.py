"""/v3/OS-TRUST/trusts and a trust's roles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, self_link
from overcast.identity.api.roles import role_view
from overcast.identity.models import Trust
from overcast.identity.tokens import iso

router = APIRouter(prefix="/v3/OS-TRUST/trusts", tags=["trusts"])


class TrustIn(BaseModel):
    model_config = ConfigDict(extra="allow")


class TrustBody(BaseModel):
    trust: TrustIn


async def trust_view(request: Request, identity: Ident, t: Trust,
                     summary: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        **t.extra, "id": t.id, "trustor_user_id": t.trustor_user_id,
        "trustee_user_id": t.trustee_user_id, "project_id": t.project_id,
        "impersonation": t.impersonation, "expires_at": iso(t.expires_at),
        "remaining_uses": t.remaining_uses, "allow_redelegation": t.allow_redelegation,
        "redelegation_count": t.redelegation_count,
        "redelegated_trust_id": t.redelegated_trust_id,
        "links": self_link(request, f"/v3/OS-TRUST/trusts/{t.id}")}
    if not summary:
        view["roles"] = [role_view(request, r) for r in await identity.trusts.roles(t)]
        view["roles_links"] = {"self": f"{self_link(request, '')['self']}/v3/OS-TRUST/trusts/"
                                       f"{t.id}/roles", "previous": None, "next": None}
    return view


def _target(t: Trust) -> dict[str, Any]:
    return {"trust": {"trustor_user_id": t.trustor_user_id,
                      "trustee_user_id": t.trustee_user_id}}


@router.post("", status_code=201)
async def create_trust(request: Request, body: TrustBody, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    fields = body.trust.model_dump()
    ctx.enforce("identity:create_trust", {"trust": {
        "trustor_user_id": fields.get("trustor_user_id")}})
    trust = await identity.trusts.create(fields)
    return {"trust": await trust_view(request, identity, trust)}


@router.get("")
async def list_trusts(request: Request, ctx: Ctx, identity: Ident,
                      trustor_user_id: str | None = None,
                      trustee_user_id: str | None = None) -> dict[str, Any]:
    if trustor_user_id or trustee_user_id:
        # Anyone may list the trusts they are a party to; others need the admin rule.
        if ctx.user_id not in (trustor_user_id, trustee_user_id):
            ctx.enforce("identity:list_trusts")
    else:
        ctx.enforce("identity:list_trusts")
    trusts = await identity.trusts.list(trustor_user_id, trustee_user_id)
    return collection(request, "trusts",
                      [await trust_view(request, identity, t, summary=True) for t in trusts])


@router.get("/{trust_id}")
async def show_trust(request: Request, trust_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    trust = await identity.trusts.show(trust_id)
    ctx.enforce("identity:get_trust", _target(trust))
    return {"trust": await trust_view(request, identity, trust)}


@router.delete("/{trust_id}", status_code=204)
async def delete_trust(trust_id: str, ctx: Ctx, identity: Ident) -> Response:
    trust = await identity.trusts.show(trust_id)
    ctx.enforce("identity:delete_trust", _target(trust))
    await identity.trusts.delete(trust_id)
    return Response(status_code=204)


@router.get("/{trust_id}/roles")
async def list_trust_roles(request: Request, trust_id: str, ctx: Ctx,
                           identity: Ident) -> dict[str, Any]:
    trust = await identity.trusts.show(trust_id)
    ctx.enforce("identity:list_roles_for_trust", _target(trust))
    roles = await identity.trusts.roles(trust)
    return collection(request, "roles", [role_view(request, r) for r in roles])


async def _trust_role(identity: Ident, ctx: Ctx, trust_id: str, role_id: str,
                      rule: str) -> dict[str, Any]:
    trust = await identity.trusts.show(trust_id)
    ctx.enforce(rule, _target(trust))
    if role_id not in trust.roles:
        raise faults.NotFound(f"Could not find role: {role_id}.")
    return {}


@router.get("/{trust_id}/roles/{role_id}")
async def show_trust_role(request: Request, trust_id: str, role_id: str, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    await _trust_role(identity, ctx, trust_id, role_id, "identity:get_role_for_trust")
    return {"role": role_view(request, await identity.roles.show(role_id))}


@router.head("/{trust_id}/roles/{role_id}", status_code=200)
async def check_trust_role(trust_id: str, role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await _trust_role(identity, ctx, trust_id, role_id, "identity:get_role_for_trust")
    return Response(status_code=200)
