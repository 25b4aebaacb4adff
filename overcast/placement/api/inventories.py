"""/resource_providers/{uuid}/inventories: the whole inventory and one class of it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.placement.api import VERSIONED, Invs, empty, reply
from overcast.placement.inventories import MAX_INT, InventoryData

router = APIRouter(prefix="/resource_providers/{uuid}/inventories", tags=["inventories"],
                   dependencies=[VERSIONED])


class InventoryFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    total: int = Field(ge=1, le=MAX_INT)
    reserved: int = Field(0, ge=0, le=MAX_INT)
    min_unit: int = Field(1, ge=1, le=MAX_INT)
    max_unit: int = Field(MAX_INT, ge=1, le=MAX_INT)
    step_size: int = Field(1, ge=1, le=MAX_INT)
    allocation_ratio: float = Field(1.0, gt=0, le=3.40282e38)

    def data(self) -> InventoryData:
        return InventoryData(self.total, self.reserved, self.min_unit, self.max_unit,
                             self.step_size, self.allocation_ratio)


class InventoriesPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resource_provider_generation: int
    inventories: dict[str, InventoryFields]


class InventoryPut(InventoryFields):
    resource_provider_generation: int


class InventoryPost(InventoryPut):
    resource_class: str = Field(pattern=r"^[A-Z0-9_]+$")


def _one(data: InventoryData, generation: int) -> dict[str, Any]:
    return {**asdict(data), "resource_provider_generation": generation}


@router.get("", **policy("placement:resource_providers:inventories:list"))
async def list_inventories(uuid: str, ctx: Ctx, inventories: Invs) -> Response:
    ctx.enforce("placement:resource_providers:inventories:list")
    found = await inventories.list(uuid)
    return reply(ctx, {"inventories": {rc: asdict(i) for rc, i in found.inventories.items()},
                       "resource_provider_generation": found.generation},
                 last_modified=found.updated_at)


@router.put("", **policy("placement:resource_providers:inventories:update"))
async def replace_inventories(uuid: str, body: InventoriesPut, ctx: Ctx, inventories: Invs
                              ) -> Response:
    ctx.enforce("placement:resource_providers:inventories:update")
    done = await inventories.replace(
        uuid, body.resource_provider_generation,
        {rc: f.data() for rc, f in body.inventories.items()}, ctx.microversion >= (1, 26))
    return reply(ctx, {"inventories": {rc: asdict(i) for rc, i in done.inventories.items()},
                       "resource_provider_generation": done.generation},
                 last_modified=done.updated_at)


@router.post("", status_code=201, **policy("placement:resource_providers:inventories:create"))
async def create_inventory(uuid: str, body: InventoryPost, ctx: Ctx, inventories: Invs
                           ) -> Response:
    ctx.enforce("placement:resource_providers:inventories:create")
    data = InventoryFields.model_validate(
        body.model_dump(exclude={"resource_class", "resource_provider_generation"})).data()
    gen, when = await inventories.put_one(uuid, body.resource_class,
                                          body.resource_provider_generation, data, True,
                                          ctx.microversion >= (1, 26))
    return reply(ctx, _one(data, gen), 201, when, {
        "Location": f"/resource_providers/{uuid}/inventories/{body.resource_class}"})


@router.delete("", status_code=204, dependencies=[available(minimum=(1, 5))],
               **policy("placement:resource_providers:inventories:delete"))
async def delete_inventories(uuid: str, ctx: Ctx, inventories: Invs) -> Response:
    ctx.enforce("placement:resource_providers:inventories:delete")
    await inventories.delete_all(uuid)
    return empty()


@router.get("/{resource_class}", **policy("placement:resource_providers:inventories:show"))
async def show_inventory(uuid: str, resource_class: str, ctx: Ctx, inventories: Invs
                         ) -> Response:
    ctx.enforce("placement:resource_providers:inventories:show")
    data, gen, when = await inventories.get(uuid, resource_class)
    return reply(ctx, _one(data, gen), last_modified=when)


@router.put("/{resource_class}", **policy("placement:resource_providers:inventories:update"))
async def update_inventory(uuid: str, resource_class: str, body: InventoryPut, ctx: Ctx,
                           inventories: Invs) -> Response:
    ctx.enforce("placement:resource_providers:inventories:update")
    data = InventoryFields.model_validate(
        body.model_dump(exclude={"resource_provider_generation"})).data()
    gen, when = await inventories.put_one(uuid, resource_class,
                                          body.resource_provider_generation, data, False,
                                          ctx.microversion >= (1, 26))
    return reply(ctx, _one(data, gen), last_modified=when)


@router.delete("/{resource_class}", status_code=204,
               **policy("placement:resource_providers:inventories:delete"))
async def delete_inventory(uuid: str, resource_class: str, ctx: Ctx, inventories: Invs
                           ) -> Response:
    ctx.enforce("placement:resource_providers:inventories:delete")
    await inventories.delete_one(uuid, resource_class)
    return empty()
