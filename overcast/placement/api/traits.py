"""/traits and /resource_providers/{uuid}/traits (1.6)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import policy, query_bool
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.placement.api import VERSIONED, Provs, TraitNames, check_query, empty, reply

router = APIRouter(tags=["traits"], dependencies=[VERSIONED, available(minimum=(1, 6))])


class ProviderTraitsPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    traits: list[str] = Field(json_schema_extra={"uniqueItems": True})
    resource_provider_generation: int


@router.get("/traits", **policy("placement:traits:list"))
async def list_traits(request: Request, ctx: Ctx, traits: TraitNames) -> Response:
    ctx.enforce("placement:traits:list")
    check_query(request, {"name", "associated"})
    names: set[str] | None = None
    prefix = None
    raw = request.query_params.get("name")
    if raw is not None:
        if raw.startswith("in:"):
            names = {n.strip() for n in raw[3:].split(",") if n.strip()}
        elif raw.startswith("startswith:"):
            prefix = raw[len("startswith:"):]
        else:
            raise faults.BadRequest(f"Badly formatted name parameter. Expected name query "
                                    f"string parameter in form: ?name=[in|startswith]:"
                                    f"[name1,name2|prefix]. Got: \"{raw}\"")
    associated = query_bool(request.query_params.get("associated"), "associated", empty=True,
                            strict=False)
    return reply(ctx, {"traits": await traits.list(names, prefix, associated)})


@router.get("/traits/{name}", status_code=204, **policy("placement:traits:show"))
async def show_trait(name: str, ctx: Ctx, traits: TraitNames) -> Response:
    ctx.enforce("placement:traits:show")
    await traits.exists(name)
    return empty()


@router.put("/traits/{name}", status_code=201, **policy("placement:traits:update"))
async def put_trait(name: str, ctx: Ctx, traits: TraitNames) -> Response:
    ctx.enforce("placement:traits:update")
    created = await traits.ensure(name)
    return empty(201 if created else 204, {"Location": f"/traits/{name}"})


@router.delete("/traits/{name}", status_code=204, **policy("placement:traits:delete"))
async def delete_trait(name: str, ctx: Ctx, traits: TraitNames) -> Response:
    ctx.enforce("placement:traits:delete")
    await traits.delete(name)
    return empty()


@router.get("/resource_providers/{uuid}/traits",
            **policy("placement:resource_providers:traits:list"))
async def provider_traits(uuid: str, ctx: Ctx, providers: Provs) -> Response:
    ctx.enforce("placement:resource_providers:traits:list")
    names, gen = await providers.traits(uuid)
    return reply(ctx, {"traits": names, "resource_provider_generation": gen})


@router.put("/resource_providers/{uuid}/traits",
            **policy("placement:resource_providers:traits:update"))
async def set_provider_traits(uuid: str, body: ProviderTraitsPut, ctx: Ctx, providers: Provs
                              ) -> Response:
    ctx.enforce("placement:resource_providers:traits:update")
    if len(set(body.traits)) != len(body.traits):
        raise faults.BadRequest("JSON does not validate: traits has non-unique elements")
    gen = await providers.set_traits(uuid, body.traits, body.resource_provider_generation)
    return reply(ctx, {"traits": sorted(body.traits), "resource_provider_generation": gen})


@router.delete("/resource_providers/{uuid}/traits", status_code=204,
               **policy("placement:resource_providers:traits:delete"))
async def clear_provider_traits(uuid: str, ctx: Ctx, providers: Provs) -> Response:
    ctx.enforce("placement:resource_providers:traits:delete")
    await providers.clear_traits(uuid)
    return empty()
