"""/v3/users/{user_id}/application_credentials and /v3/users/{user_id}/access_rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.roles import role_entity
from overcast.identity.api.schemas import AppCredBody
from overcast.identity.application_credentials import AppCredWithRoles
from overcast.identity.models import AccessRule

router = APIRouter(prefix="/v3/users/{user_id}/application_credentials",
                   tags=["application_credentials"])
access_rules = APIRouter(prefix="/v3/users/{user_id}/access_rules", tags=["access_rules"])


def app_cred_view(request: Request, found: AppCredWithRoles) -> dict[str, Any]:
    """An application credential as Keystone 30 shows it: `system` always there (null: only
    project-bound ones are made here), `access_rules` only when it has some, each role in full,
    and a self link under /v3/application_credentials (keystone/api/users.py)."""
    c = found.cred
    view = {"id": c.id, "name": c.name, "description": c.description, "user_id": c.user_id,
            "project_id": c.project_id, "system": None,
            # Keystone echoes an application credential's expiry as plain isoformat (no "Z").
            "expires_at": c.expires_at.replace(tzinfo=None).isoformat() if c.expires_at else None,
            "unrestricted": c.unrestricted,
            "roles": [role_entity(r) for r in found.roles],
            "links": self_link(request, f"/v3/application_credentials/{c.id}")}
    if c.access_rules:
        view["access_rules"] = c.access_rules
    if found.secret is not None:
        view["secret"] = found.secret
    return view


def access_rule_view(request: Request, r: AccessRule) -> dict[str, Any]:
    return {"id": r.id, "service": r.service, "path": r.path, "method": r.method,
            "links": self_link(request, f"/v3/users/{r.user_id}/access_rules/{r.id}")}


@router.post("", status_code=201, **policy("identity:create_application_credential"))
async def create_app_cred(request: Request, user_id: str, body: AppCredBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    created = await identity.application_credentials.create(
        ctx, user_id, body.application_credential.fields())
    return {"application_credential": app_cred_view(request, created)}


@router.get("", **policy("identity:list_application_credentials"))
async def list_app_creds(request: Request, user_id: str, ctx: Ctx, identity: Ident,
                         name: str | None = None) -> dict[str, Any]:
    creds = await identity.application_credentials.list(ctx, user_id, name)
    return listing(request, "application_credentials", creds,
                   lambda c: app_cred_view(request, c), identity.list_limit)


@router.get("/{cred_id}", **policy("identity:get_application_credential"))
async def show_app_cred(request: Request, user_id: str, cred_id: str, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    found = await identity.application_credentials.show(ctx, user_id, cred_id)
    return {"application_credential": app_cred_view(request, found)}


@router.delete("/{cred_id}", status_code=204,
               **policy("identity:delete_application_credential"))
async def delete_app_cred(user_id: str, cred_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.application_credentials.delete(ctx, user_id, cred_id)
    return Response(status_code=204)


@access_rules.get("", **policy("identity:list_access_rules"))
async def list_access_rules(request: Request, user_id: str, ctx: Ctx,
                            identity: Ident) -> dict[str, Any]:
    rules = await identity.application_credentials.list_access_rules(ctx, user_id)
    return listing(request, "access_rules", rules, lambda r: access_rule_view(request, r),
                   identity.list_limit)


@access_rules.get("/{rule_id}", **policy("identity:get_access_rule"))
async def show_access_rule(request: Request, user_id: str, rule_id: str, ctx: Ctx,
                           identity: Ident) -> dict[str, Any]:
    rule = await identity.application_credentials.show_access_rule(ctx, user_id, rule_id)
    return {"access_rule": access_rule_view(request, rule)}


@access_rules.delete("/{rule_id}", status_code=204, **policy("identity:delete_access_rule"))
async def delete_access_rule(user_id: str, rule_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.application_credentials.delete_access_rule(ctx, user_id, rule_id)
    return Response(status_code=204)
