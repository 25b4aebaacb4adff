"""/v3/users/{user_id}/application_credentials."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, self_link
from overcast.identity.api.schemas import AppCredBody
from overcast.identity.models import AccessRule, ApplicationCredential

router = APIRouter(prefix="/v3/users/{user_id}/application_credentials",
                   tags=["application_credentials"])



async def _view(request: Request, identity: Ident, c: ApplicationCredential) -> dict[str, Any]:
    roles = await identity.app_creds.roles(c)
    return {"id": c.id, "name": c.name, "description": c.description, "user_id": c.user_id,
            "project_id": c.project_id,
            # Keystone echoes an application credential's expiry as plain isoformat (no "Z").
            "expires_at": c.expires_at.replace(tzinfo=None).isoformat() if c.expires_at else None,
            "unrestricted": c.unrestricted, "access_rules": c.access_rules,
            "roles": [{"id": r.id, "name": r.name, "domain_id": None} for r in roles],
            "links": self_link(request, f"/v3/users/{c.user_id}/application_credentials/{c.id}")}



@router.post("", status_code=201)
async def create_app_cred(request: Request, user_id: str, body: AppCredBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:create_application_credential", {"user_id": user_id})
    cred, secret = await identity.app_creds.create(user_id, ctx.project_id,
                                                   body.application_credential.fields(),
                                                   ctx.creds.app_cred_restricted)
    view = await _view(request, identity, cred)
    view["secret"] = secret
    return {"application_credential": view}


@router.get("")
async def list_app_creds(request: Request, user_id: str, ctx: Ctx, identity: Ident,
                         name: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_application_credentials", {"user_id": user_id})
    creds = await identity.app_creds.list(user_id, name)
    return collection(request, "application_credentials",
                      [await _view(request, identity, c) for c in creds])


@router.get("/{cred_id}")
async def show_app_cred(request: Request, user_id: str, cred_id: str, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_application_credential", {"user_id": user_id})
    cred = await identity.app_creds.show(user_id, cred_id)
    return {"application_credential": await _view(request, identity, cred)}


@router.delete("/{cred_id}", status_code=204)
async def delete_app_cred(request: Request, user_id: str, cred_id: str, ctx: Ctx,
                          identity: Ident) -> Response:
    ctx.enforce("identity:delete_application_credential", {"user_id": user_id})
    await identity.app_creds.delete(user_id, cred_id, ctx.creds.app_cred_restricted)
    return Response(status_code=204)


access_rules = APIRouter(prefix="/v3/users/{user_id}/access_rules", tags=["access_rules"])


def access_rule_view(request: Request, r: AccessRule) -> dict[str, Any]:
    return {"id": r.id, "service": r.service, "path": r.path, "method": r.method,
            "links": self_link(request, f"/v3/users/{r.user_id}/access_rules/{r.id}")}


@access_rules.get("")
async def list_access_rules(request: Request, user_id: str, ctx: Ctx,
                            identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:list_access_rules", {"user_id": user_id})
    rules = await identity.app_creds.list_access_rules(user_id)
    return collection(request, "access_rules", [access_rule_view(request, r) for r in rules])


@access_rules.get("/{rule_id}")
async def show_access_rule(request: Request, user_id: str, rule_id: str, ctx: Ctx,
                           identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_access_rule", {"user_id": user_id})
    rule = await identity.app_creds.show_access_rule(user_id, rule_id)
    return {"access_rule": access_rule_view(request, rule)}


@access_rules.delete("/{rule_id}", status_code=204)
async def delete_access_rule(user_id: str, rule_id: str, ctx: Ctx, identity: Ident) -> Response:
    ctx.enforce("identity:delete_access_rule", {"user_id": user_id})
    await identity.app_creds.delete_access_rule(user_id, rule_id)
    return Response(status_code=204)
