"""/v3/domains."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, bool_param, listing, self_link
from overcast.identity.api.schemas import DomainCreateBody, DomainUpdateBody
from overcast.identity.models import Domain

router = APIRouter(prefix="/v3/domains", tags=["domains"])


def domain_view(request: Request, d: Domain) -> dict[str, Any]:
    return {**d.extra, "id": d.id, "name": d.name, "description": d.description,
            "enabled": d.enabled, "tags": d.tags, "options": {},
            "links": self_link(request, f"/v3/domains/{d.id}")}


@router.get("", **policy("identity:list_domains"))
async def list_domains(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                       enabled: str | None = None) -> dict[str, Any]:
    domains = await identity.domains.list(ctx, name=name,
                                          enabled=bool_param(enabled, "enabled"))
    return listing(request, "domains", domains, lambda d: domain_view(request, d),
                   identity.list_limit)


@router.post("", status_code=201, **policy("identity:create_domain"))
async def create_domain(request: Request, body: DomainCreateBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    return {"domain": domain_view(request, await identity.domains.create(
        ctx, body.domain.fields()))}


@router.get("/{domain_id}", **policy("identity:get_domain"))
async def show_domain(request: Request, domain_id: str, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    return {"domain": domain_view(request, await identity.domains.show(ctx, domain_id))}


@router.patch("/{domain_id}", **policy("identity:update_domain"))
async def update_domain(request: Request, domain_id: str, body: DomainUpdateBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    return {"domain": domain_view(request, await identity.domains.update(
        ctx, domain_id, body.domain.fields()))}


@router.delete("/{domain_id}", status_code=204, **policy("identity:delete_domain"))
async def delete_domain(domain_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.domains.delete(ctx, domain_id)
    return Response(status_code=204)
