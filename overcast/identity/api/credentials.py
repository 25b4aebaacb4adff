"""/v3/credentials (EC2-style blobs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, self_link
from overcast.identity.api.schemas import CredentialIn
from overcast.identity.models import Credential

router = APIRouter(prefix="/v3/credentials", tags=["credentials"])


class CredentialBody(BaseModel):
    credential: CredentialIn


def credential_view(request: Request, c: Credential) -> dict[str, Any]:
    return {**c.extra, "id": c.id, "user_id": c.user_id, "project_id": c.project_id,
            "type": c.type, "blob": c.blob, "links": self_link(request, f"/v3/credentials/{c.id}")}


def _target(c: Credential | dict[str, Any]) -> dict[str, Any]:
    user_id = c.user_id if isinstance(c, Credential) else c.get("user_id")
    return {"credential": {"user_id": user_id}}


@router.post("", status_code=201)
async def create_credential(request: Request, body: CredentialBody, ctx: Ctx,
                            identity: Ident) -> dict[str, Any]:
    fields = body.credential.fields()
    ctx.enforce("identity:create_credential", _target(fields))
    return {"credential": credential_view(request, await identity.credentials.create(fields))}


@router.get("")
async def list_credentials(request: Request, ctx: Ctx, identity: Ident,
                           user_id: str | None = None, type: str | None = None) -> dict[str, Any]:
    if not ctx.can("identity:list_credentials", {"credential": {"user_id": user_id}}):
        # Not an admin: list only the caller's own credentials, as Keystone filters.
        user_id = ctx.user_id
    creds = await identity.credentials.list(user_id=user_id, type=type)
    return collection(request, "credentials", [credential_view(request, c) for c in creds])


@router.get("/{credential_id}")
async def show_credential(request: Request, credential_id: str, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    cred = await identity.credentials.show(credential_id)
    ctx.enforce("identity:get_credential", _target(cred))
    return {"credential": credential_view(request, cred)}


@router.patch("/{credential_id}")
async def update_credential(request: Request, credential_id: str, body: CredentialBody, ctx: Ctx,
                            identity: Ident) -> dict[str, Any]:
    cred = await identity.credentials.show(credential_id)
    ctx.enforce("identity:update_credential", _target(cred))
    cred = await identity.credentials.update(credential_id, body.credential.fields())
    return {"credential": credential_view(request, cred)}


@router.delete("/{credential_id}", status_code=204)
async def delete_credential(credential_id: str, ctx: Ctx, identity: Ident) -> Response:
    cred = await identity.credentials.show(credential_id)
    ctx.enforce("identity:delete_credential", _target(cred))
    await identity.credentials.delete(credential_id)
    return Response(status_code=204)
