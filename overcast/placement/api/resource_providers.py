"""/resource_providers: create, list with filters, show, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx, RequestContext
from overcast.placement.api import VERSIONED, Provs, check_query, empty, params, reply, validate
from overcast.placement.providers import ProviderFilters, ProviderView
from overcast.placement.queries import parse_member_of, parse_required, parse_resources, parse_uuid

router = APIRouter(tags=["resource_providers"], dependencies=[VERSIONED])

UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class ProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    uuid: str | None = Field(None, pattern=UUID_PATTERN)
    parent_provider_uuid: str | None = Field(None, pattern=UUID_PATTERN)


class ProviderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    parent_provider_uuid: str | None = Field(None, pattern=UUID_PATTERN)


def provider_body(ctx: RequestContext, p: ProviderView) -> dict[str, Any]:
    base = f"/resource_providers/{p.uuid}"
    links = [{"rel": "self", "href": base}]
    mv = ctx.microversion
    if mv >= (1, 1):
        links.append({"rel": "aggregates", "href": f"{base}/aggregates"})
    links += [{"rel": "inventories", "href": f"{base}/inventories"},
              {"rel": "usages", "href": f"{base}/usages"}]
    if mv >= (1, 6):
        links.append({"rel": "traits", "href": f"{base}/traits"})
    if mv >= (1, 11):
        links.append({"rel": "allocations", "href": f"{base}/allocations"})
    body: dict[str, Any] = {"uuid": p.uuid, "name": p.name, "generation": p.generation,
                            "links": links}
    if mv >= (1, 14):
        body["parent_provider_uuid"] = p.parent_provider_uuid
        body["root_provider_uuid"] = p.root_provider_uuid
    return body


def _no_parent_before_1_14(ctx: RequestContext, raw: Any) -> None:
    if ctx.microversion < (1, 14) and isinstance(raw, dict) and "parent_provider_uuid" in raw:
        raise faults.BadRequest("JSON does not validate: Additional properties are not allowed "
                                "('parent_provider_uuid' was unexpected)")


@router.get("/resource_providers", **policy("placement:resource_providers:list"))
async def list_providers(request: Request, ctx: Ctx, providers: Provs) -> Response:
    ctx.enforce("placement:resource_providers:list")
    mv = ctx.microversion
    allowed = {"name", "uuid"}
    if mv >= (1, 3):
        allowed.add("member_of")
    if mv >= (1, 4):
        allowed.add("resources")
    if mv >= (1, 14):
        allowed.add("in_tree")
    if mv >= (1, 18):
        allowed.add("required")
    check_query(request, allowed)
    q = params(request)
    f = ProviderFilters(name=q["name"][-1] if "name" in q else None)
    if "uuid" in q:
        f.uuid = parse_uuid(q["uuid"][-1], "uuid")
    if "in_tree" in q:
        f.in_tree = parse_uuid(q["in_tree"][-1], "in_tree")
    if "member_of" in q:
        f.member_of = parse_member_of(q["member_of"], mv)
    if "resources" in q:
        f.resources = parse_resources(q["resources"][-1])
    if "required" in q:
        f.required = parse_required(q["required"], mv)
    found = await providers.list(f)
    latest = max((p.updated_at for p in found), default=None)
    return reply(ctx, {"resource_providers": [provider_body(ctx, p) for p in found]},
                 last_modified=latest)


@router.post("/resource_providers", **policy("placement:resource_providers:create"))
async def create_provider(body: ProviderCreate, request: Request, ctx: Ctx,
                          providers: Provs) -> Response:
    ctx.enforce("placement:resource_providers:create")
    _no_parent_before_1_14(ctx, body.model_dump(exclude_unset=True))
    p = await providers.create(body.name, body.uuid, body.parent_provider_uuid)
    location = f"/resource_providers/{p.uuid}"
    if ctx.microversion >= (1, 20):
        return reply(ctx, provider_body(ctx, p), 200, p.updated_at, {"Location": location})
    return empty(201, {"Location": location})


@router.get("/resource_providers/{uuid}", **policy("placement:resource_providers:show"))
async def show_provider(uuid: str, ctx: Ctx, providers: Provs) -> Response:
    ctx.enforce("placement:resource_providers:show")
    p = await providers.get(uuid)
    return reply(ctx, provider_body(ctx, p), last_modified=p.updated_at)


@router.put("/resource_providers/{uuid}", **policy("placement:resource_providers:update"))
async def update_provider(uuid: str, body: ProviderUpdate, ctx: Ctx, providers: Provs
                          ) -> Response:
    ctx.enforce("placement:resource_providers:update")
    given = body.model_dump(exclude_unset=True)
    _no_parent_before_1_14(ctx, given)
    validate(ProviderUpdate, given)
    p = await providers.update(uuid, body.name, body.parent_provider_uuid,
                               "parent_provider_uuid" in given, ctx.microversion >= (1, 37))
    return reply(ctx, provider_body(ctx, p), last_modified=p.updated_at)


@router.delete("/resource_providers/{uuid}", status_code=204,
               **policy("placement:resource_providers:delete"))
async def delete_provider(uuid: str, ctx: Ctx, providers: Provs) -> Response:
    ctx.enforce("placement:resource_providers:delete")
    await providers.delete(uuid)
    return empty()
