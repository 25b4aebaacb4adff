"""/v3/users/{user_id}/credentials/OS-EC2: EC2-style access/secret pairs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.schemas import Ec2Create
from overcast.identity.credentials import Ec2Credential

router = APIRouter(prefix="/v3/users/{user_id}/credentials/OS-EC2", tags=["ec2"])



def ec2_view(request: Request, c: Ec2Credential) -> dict[str, Any]:
    return {"user_id": c.user_id, "tenant_id": c.project_id, "access": c.access,
            "secret": c.secret, "trust_id": c.trust_id,
            "links": self_link(request, f"/v3/users/{c.user_id}/credentials/OS-EC2/{c.access}")}


@router.post("", status_code=201, **policy("identity:ec2_create_credential"))
async def create_ec2(request: Request, user_id: str, body: Ec2Create, ctx: Ctx,
                     identity: Ident) -> dict[str, Any]:
    cred = await identity.credentials.create_ec2(ctx, user_id, body.tenant_id)
    return {"credential": ec2_view(request, cred)}


@router.get("", **policy("identity:ec2_list_credentials"))
async def list_ec2(request: Request, user_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    creds = await identity.credentials.list_ec2(ctx, user_id)
    return listing(request, "credentials", creds, lambda c: ec2_view(request, c),
                   identity.list_limit)


@router.get("/{access}", **policy("identity:ec2_get_credential"))
async def show_ec2(request: Request, user_id: str, access: str, ctx: Ctx,
                   identity: Ident) -> dict[str, Any]:
    cred = await identity.credentials.get_ec2(ctx, user_id, access)
    return {"credential": ec2_view(request, cred)}


@router.delete("/{access}", status_code=204, **policy("identity:ec2_delete_credential"))
async def delete_ec2(user_id: str, access: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.credentials.delete_ec2(ctx, user_id, access)
    return Response(status_code=204)
