"""/resource_providers/{uuid}/aggregates (1.1; with the provider generation from 1.19)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field, RootModel

from overcast.common.api import policy
from overcast.common.app import Ctx, RequestContext
from overcast.common.microversion import available
from overcast.placement.api import VERSIONED, Provs, reply, validate

router = APIRouter(prefix="/resource_providers/{uuid}/aggregates", tags=["aggregates"],
                   dependencies=[VERSIONED, available(minimum=(1, 1))])

UUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class AggregateList(RootModel[list[str]]):
    """Before 1.19: the body is the list of aggregate uuids."""

    root: list[str] = Field(json_schema_extra={"uniqueItems": True})


class AggregatesPut(BaseModel):
    """From 1.19: the aggregates and the generation the caller saw."""

    model_config = ConfigDict(extra="forbid")
    aggregates: list[str]
    resource_provider_generation: int


def _body(ctx: RequestContext, aggregates: list[str], generation: int) -> dict[str, Any]:
    body: dict[str, Any] = {"aggregates": aggregates}
    if ctx.microversion >= (1, 19):
        body["resource_provider_generation"] = generation
    return body


def _check(aggs: list[str]) -> list[str]:
    import re

    from overcast.common import faults

    if len(set(aggs)) != len(aggs):
        raise faults.BadRequest("JSON does not validate: aggregates has non-unique elements")
    for a in aggs:
        if not re.match(UUID, a):
            raise faults.BadRequest(f"JSON does not validate: '{a}' is not a 'uuid'")
    return aggs


@router.get("", **policy("placement:resource_providers:aggregates:list"))
async def list_aggregates(uuid: str, ctx: Ctx, providers: Provs) -> Response:
    ctx.enforce("placement:resource_providers:aggregates:list")
    aggs, gen = await providers.aggregates(uuid)
    return reply(ctx, _body(ctx, aggs, gen))


@router.put("", **policy("placement:resource_providers:aggregates:update"))
async def set_aggregates(uuid: str, ctx: Ctx, providers: Provs,
                         body: AggregatesPut | list[str] = Body(...)) -> Response:
    ctx.enforce("placement:resource_providers:aggregates:update")
    if ctx.microversion >= (1, 19):
        put = validate(AggregatesPut, body.model_dump() if isinstance(body, BaseModel) else body)
        wanted, generation = _check(put.aggregates), put.resource_provider_generation
        gen = await providers.set_aggregates(uuid, wanted, generation)
    else:
        wanted = _check(validate(AggregateList, body).root)
        gen = await providers.set_aggregates(uuid, wanted, None)
    aggs, gen = await providers.aggregates(uuid)
    return reply(ctx, _body(ctx, aggs, gen))
