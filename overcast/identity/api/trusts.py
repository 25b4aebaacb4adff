"""/v3/OS-TRUST/trusts and a trust's roles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.roles import role_view
from overcast.identity.api.schemas import TrustBody
from overcast.identity.models import Role, Trust
from overcast.identity.tokens import iso
from overcast.identity.trusts import TrustWithRoles

router = APIRouter(prefix="/v3/OS-TRUST/trusts", tags=["trusts"])


def trust_view(request: Request, t: Trust, roles: list[Role] | None = None) -> dict[str, Any]:
    """A trust; with its roles unless it is a list's summary."""
    view: dict[str, Any] = {
        **t.extra, "id": t.id, "trustor_user_id": t.trustor_user_id,
        "trustee_user_id": t.trustee_user_id, "project_id": t.project_id,
        "impersonation": t.impersonation, "expires_at": iso(t.expires_at),
        "remaining_uses": t.remaining_uses, "allow_redelegation": t.allow_redelegation,
        "redelegation_count": t.redelegation_count,
        "redelegated_trust_id": t.redelegated_trust_id,
        "links": self_link(request, f"/v3/OS-TRUST/trusts/{t.id}")}
    if roles is not None:
        view["roles"] = [role_view(request, r) for r in roles]
        view["roles_links"] = {"self": f"{self_link(request, '')['self']}/v3/OS-TRUST/trusts/"
                                       f"{t.id}/roles", "previous": None, "next": None}
    return view


def _full(request: Request, t: TrustWithRoles) -> dict[str, Any]:
    return {"trust": trust_view(request, t.trust, t.roles)}


@router.post("", status_code=201, **policy("identity:create_trust"))
async def create_trust(request: Request, body: TrustBody, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    return _full(request, await identity.trusts.create(ctx, body.trust.fields()))


@router.get("", **policy("identity:list_trusts", "identity:list_trusts_for_trustor",
                         "identity:list_trusts_for_trustee"))
async def list_trusts(request: Request, ctx: Ctx, identity: Ident,
                      trustor_user_id: str | None = None,
                      trustee_user_id: str | None = None) -> dict[str, Any]:
    trusts = await identity.trusts.list(ctx, trustor_user_id, trustee_user_id)
    return listing(request, "trusts", trusts, lambda t: trust_view(request, t),
                   identity.list_limit)


@router.get("/{trust_id}", **policy("identity:get_trust"))
async def show_trust(request: Request, trust_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return _full(request, await identity.trusts.show(ctx, trust_id))


@router.delete("/{trust_id}", status_code=204, **policy("identity:delete_trust"))
async def delete_trust(trust_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.trusts.delete(ctx, trust_id)
    return Response(status_code=204)


@router.get("/{trust_id}/roles", **policy("identity:list_roles_for_trust"))
async def list_trust_roles(request: Request, trust_id: str, ctx: Ctx,
                           identity: Ident) -> dict[str, Any]:
    roles = await identity.trusts.roles(ctx, trust_id)
    return listing(request, "roles", roles, lambda r: role_view(request, r))


@router.get("/{trust_id}/roles/{role_id}", **policy("identity:get_role_for_trust"))
async def show_trust_role(request: Request, trust_id: str, role_id: str, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    return {"role": role_view(request, await identity.trusts.role(ctx, trust_id, role_id))}


@router.head("/{trust_id}/roles/{role_id}", status_code=200,
             **policy("identity:get_role_for_trust"))
async def check_trust_role(trust_id: str, role_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.trusts.role(ctx, trust_id, role_id)
    # The Content-Type of the GET it stands for, as Keystone's (Flask answers HEAD with GET)
    return Response(status_code=200, media_type="application/json")
