"""/v3/policies: policy blobs stored for other services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, self_link
from overcast.identity.api.schemas import PolicyCreateBody, PolicyUpdateBody
from overcast.identity.models import Policy

router = APIRouter(prefix="/v3/policies", tags=["policies"])




def policy_view(request: Request, p: Policy) -> dict[str, Any]:
    return {**p.extra, "id": p.id, "type": p.type, "blob": p.blob,
            "links": self_link(request, f"/v3/policies/{p.id}")}


@router.post("", status_code=201)
async def create_policy(request: Request, body: PolicyCreateBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:create_policy")
    return {"policy": policy_view(request, await identity.policies.create(body.policy.fields()))}


@router.get("")
async def list_policies(request: Request, ctx: Ctx, identity: Ident,
                        type: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_policies")
    policies = await identity.policies.list(type)
    return collection(request, "policies", [policy_view(request, p) for p in policies])


@router.get("/{policy_id}")
async def show_policy(request: Request, policy_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_policy")
    return {"policy": policy_view(request, await identity.policies.show(policy_id))}


@router.patch("/{policy_id}")
async def update_policy(request: Request, policy_id: str, body: PolicyUpdateBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:update_policy")
    policy = await identity.policies.update(policy_id, body.policy.fields())
    return {"policy": policy_view(request, policy)}


@router.delete("/{policy_id}", status_code=204)
async def delete_policy(policy_id: str, ctx: Ctx, identity: Ident) -> Response:
    ctx.enforce("identity:delete_policy")
    await identity.policies.delete(policy_id)
    return Response(status_code=204)
