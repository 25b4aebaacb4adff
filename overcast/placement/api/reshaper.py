"""POST /reshaper (1.30): inventories and allocations moved in one go."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.placement.api import VERSIONED, Reshape, empty, validate
from overcast.placement.api.allocations import AllocationsBody, _consumer_write, _section, _uuid
from overcast.placement.api.inventories import InventoryFields
from overcast.placement.reshaper import ProviderInventories

router = APIRouter(tags=["reshaper"], dependencies=[VERSIONED])


class _ProviderInventories(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inventories: dict[str, InventoryFields]
    resource_provider_generation: int | None


class ReshapeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inventories: dict[str, _ProviderInventories]
    allocations: dict[str, AllocationsBody]


@router.post("/reshaper", status_code=204, dependencies=[available(minimum=(1, 30))],
             **policy("placement:reshaper:reshape"))
async def reshape(request: Request, ctx: Ctx, reshaper: Reshape,
                  body: ReshapeBody = Body(...)) -> Response:
    ctx.enforce("placement:reshaper:reshape")
    raw: Any = await request.json()
    if not isinstance(raw, dict):
        raise faults.BadRequest("JSON does not validate: the body must be an object")
    parsed = validate(ReshapeBody, raw)
    inventories = {_uuid(u, "resource provider uuid"): ProviderInventories(
        p.resource_provider_generation, {rc: f.data() for rc, f in p.inventories.items()})
        for u, p in parsed.inventories.items()}
    section = _section(request)
    writes = [_consumer_write(ctx, _uuid(c, "consumer_uuid"), v, section)
              for c, v in raw["allocations"].items()]
    await reshaper.reshape(inventories, writes)
    return empty()
