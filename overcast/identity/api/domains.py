"""/v3/domains and grants on domains."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, flag, self_link
from overcast.identity.api.schemas import DomainCreateBody, DomainUpdateBody
from overcast.identity.models import Domain

router = APIRouter(prefix="/v3/domains", tags=["domains"])



def domain_view(request: Request, d: Domain) -> dict[str, Any]:
    return {**d.extra, "id": d.id, "name": d.name, "description": d.description,
            "enabled": d.enabled, "tags": d.tags, "options": {},
            "links": self_link(request, f"/v3/domains/{d.id}")}


@router.get("")
async def list_domains(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                       enabled: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_domains")
    domains = await identity.domains.list(name=name, enabled=flag(enabled, "enabled"))
    return collection(request, "domains", [domain_view(request, d) for d in domains])


@router.post("", status_code=201)
async def create_domain(request: Request, body: DomainCreateBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:create_domain", {"domain": body.domain.fields()})
    fields = body.domain.fields()
    if not fields.get("name"):
        raise faults.BadRequest("Invalid input for field 'name': a name is required.")
    domain = await identity.domains.create(fields)
    return {"domain": domain_view(request, domain)}


@router.get("/{domain_id}")
async def show_domain(request: Request, domain_id: str, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    domain = await identity.domains.show(domain_id)
    ctx.enforce("identity:get_domain", {"domain": {"id": domain.id}})
    return {"domain": domain_view(request, domain)}


@router.patch("/{domain_id}")
async def update_domain(request: Request, domain_id: str, body: DomainUpdateBody, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    await identity.domains.show(domain_id)
    ctx.enforce("identity:update_domain", {"domain": {"id": domain_id}})
    domain = await identity.domains.update(domain_id, body.domain.fields())
    return {"domain": domain_view(request, domain)}


@router.delete("/{domain_id}", status_code=204)
async def delete_domain(domain_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.domains.show(domain_id)
    ctx.enforce("identity:delete_domain", {"domain": {"id": domain_id}})
    await identity.domains.delete(domain_id)
    return Response(status_code=204)
