"""/v3/credentials (EC2-style blobs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.schemas import CredentialCreateBody, CredentialUpdateBody
from overcast.identity.credentials import CredentialData

router = APIRouter(prefix="/v3/credentials", tags=["credentials"])



def credential_view(request: Request, c: CredentialData) -> dict[str, Any]:
    return {**c.extra, "id": c.id, "user_id": c.user_id, "project_id": c.project_id,
            "type": c.type, "blob": c.blob, "links": self_link(request, f"/v3/credentials/{c.id}")}


@router.post("", status_code=201, **policy("identity:create_credential"))
async def create_credential(request: Request, body: CredentialCreateBody, ctx: Ctx,
                            identity: Ident) -> dict[str, Any]:
    cred = await identity.credentials.create(ctx, body.credential.fields())
    return {"credential": credential_view(request, cred)}


@router.get("", **policy("identity:list_credentials", "identity:get_credential"))
async def list_credentials(request: Request, ctx: Ctx, identity: Ident,
                           user_id: str | None = None, type: str | None = None) -> dict[str, Any]:
    creds = await identity.credentials.list(ctx, user_id=user_id, type=type)
    return listing(request, "credentials", creds, lambda c: credential_view(request, c),
                   identity.list_limit)


@router.get("/{credential_id}", **policy("identity:get_credential"))
async def show_credential(request: Request, credential_id: str, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    cred = await identity.credentials.show(ctx, credential_id)
    return {"credential": credential_view(request, cred)}


@router.patch("/{credential_id}", **policy("identity:update_credential"))
async def update_credential(request: Request, credential_id: str, body: CredentialUpdateBody, ctx: Ctx,
                            identity: Ident) -> dict[str, Any]:
    cred = await identity.credentials.update(ctx, credential_id, body.credential.fields())
    return {"credential": credential_view(request, cred)}


@router.delete("/{credential_id}", status_code=204, **policy("identity:delete_credential"))
async def delete_credential(credential_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.credentials.delete(ctx, credential_id)
    return Response(status_code=204)
