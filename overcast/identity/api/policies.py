"""/v3/policies: policy blobs stored for other services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.schemas import PolicyCreateBody, PolicyUpdateBody
from overcast.identity.models import Policy

router = APIRouter(prefix="/v3/policies", tags=["policies"])


def policy_view(request: Request, p: Policy) -> dict[str, Any]:
    return {**p.extra, "id": p.id, "type": p.type, "blob": p.blob,
            "links": self_link(request, f"/v3/policies/{p.id}")}


@router.post("", status_code=201, **policy("identity:create_policy"))
async def create_policy(request: Request, body: PolicyCreateBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    return {"policy": policy_view(request, await identity.policies.create(ctx, body.policy.fields()))}


@router.get("", **policy("identity:list_policies"))
async def list_policies(request: Request, ctx: Ctx, identity: Ident,
                        type: str | None = None) -> dict[str, Any]:
    policies = await identity.policies.list(ctx, type)
    return listing(request, "policies", policies, lambda p: policy_view(request, p),
                   identity.list_limit)


@router.get("/{policy_id}", **policy("identity:get_policy"))
async def show_policy(request: Request, policy_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"policy": policy_view(request, await identity.policies.show(ctx, policy_id))}


@router.patch("/{policy_id}", **policy("identity:update_policy"))
async def update_policy(request: Request, policy_id: str, body: PolicyUpdateBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    policy = await identity.policies.update(ctx, policy_id, body.policy.fields())
    return {"policy": policy_view(request, policy)}


@router.delete("/{policy_id}", status_code=204, **policy("identity:delete_policy"))
async def delete_policy(policy_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.policies.delete(ctx, policy_id)
    return Response(status_code=204)
