"""/allocations/{consumer_uuid}, POST /allocations (1.13) and a provider's allocations.

The body changed shape over the microversions; one parser (`_consumer_write`) reads each:
  1.0-1.11  {"allocations": [{"resource_provider": {"uuid": U}, "resources": {...}}], ...}
  1.12+     {"allocations": {U: {"resources": {...}}}, "project_id", "user_id"}
  1.28+     + "consumer_generation" (null: a new consumer); empty allocations delete safely
  1.34+     + "mappings" (accepted, ignored)   1.38+ + "consumer_type"
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import lifespan_state, policy
from overcast.common.app import Ctx, RequestContext
from overcast.common.microversion import available
from overcast.config import PlacementSection
from overcast.placement.allocations import UNCHECKED, ConsumerWrite
from overcast.placement.api import VERSIONED, Allocs, empty, reply, validate

router = APIRouter(tags=["allocations"], dependencies=[VERSIONED])

Amounts = dict[str, int]


class _Provider(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uuid: str


class _ListItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resource_provider: _Provider
    resources: Amounts


class _DictItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resources: Amounts
    generation: int | None = None  # shown by GET; accepted and ignored


class AllocationsBody(BaseModel):
    """The 1.38 shape (older shapes are read by the same parser)."""

    model_config = ConfigDict(extra="forbid")
    allocations: dict[str, _DictItem] | list[_ListItem]
    project_id: str | None = Field(None, min_length=1, max_length=255)
    user_id: str | None = Field(None, min_length=1, max_length=255)
    consumer_generation: int | None = None
    mappings: dict[str, list[str]] | None = None
    consumer_type: str | None = Field(None, max_length=255, pattern=r"^[A-Z0-9_]+$")


def _uuid(raw: str, what: str) -> str:
    try:
        return str(uuidlib.UUID(raw))
    except ValueError:
        raise faults.BadRequest(f"Malformed {what}: {raw}") from None


def _consumer_write(ctx: RequestContext, consumer: str, raw: Any, section: PlacementSection
                    ) -> ConsumerWrite:
    mv = ctx.microversion
    if not isinstance(raw, dict):
        raise faults.BadRequest("JSON does not validate: the body must be an object")
    allowed = {"allocations"}
    if mv >= (1, 8):
        allowed |= {"project_id", "user_id"}
    if mv >= (1, 28):
        allowed.add("consumer_generation")
    if mv >= (1, 34):
        allowed.add("mappings")
    if mv >= (1, 38):
        allowed.add("consumer_type")
    extra = sorted(set(raw) - allowed)
    if extra:
        raise faults.BadRequest(f"JSON does not validate: Additional properties are not allowed "
                                f"({', '.join(repr(e) for e in extra)} were unexpected)")
    required = {"allocations"} | ({"project_id", "user_id"} if mv >= (1, 8) else set()) | (
        {"consumer_generation"} if mv >= (1, 28) else set()) | (
        {"consumer_type"} if mv >= (1, 38) else set())
    missing = sorted(required - set(raw))
    if missing:
        raise faults.BadRequest(f"JSON does not validate: '{missing[0]}' is a required property")
    body = validate(AllocationsBody, raw)
    allocations: dict[str, Amounts] = {}
    if mv < (1, 12):
        if not isinstance(body.allocations, list) or not body.allocations:
            raise faults.BadRequest("JSON does not validate: allocations must be a non-empty "
                                    "list before microversion 1.12")
        for listed in body.allocations:
            allocations[_uuid(listed.resource_provider.uuid, "resource provider uuid")] = (
                dict(listed.resources))
    else:
        if not isinstance(body.allocations, dict):
            raise faults.BadRequest("JSON does not validate: allocations must be an object "
                                    "from microversion 1.12")
        if not body.allocations and mv < (1, 28):
            raise faults.BadRequest("JSON does not validate: allocations does not have enough "
                                    "properties")
        for rp, item in body.allocations.items():
            allocations[_uuid(rp, "resource provider uuid")] = dict(item.resources)
    for resources in allocations.values():
        if not resources:
            raise faults.BadRequest("JSON does not validate: resources does not have enough "
                                    "properties")
        for rc, amount in resources.items():
            if amount < 1:
                raise faults.BadRequest(f"JSON does not validate: {amount} is less than the "
                                        f"minimum of 1 ({rc})")
    return ConsumerWrite(
        consumer_uuid=consumer, allocations=allocations,
        project_id=body.project_id or section.incomplete_consumer_project_id,
        user_id=body.user_id or section.incomplete_consumer_user_id,
        generation=body.consumer_generation if mv >= (1, 28) else UNCHECKED,
        consumer_type=body.consumer_type if mv >= (1, 38) else None)


def _section(request: Request) -> PlacementSection:
    return lifespan_state(request, "placement_config", PlacementSection)


@router.get("/allocations/{consumer_uuid}", **policy("placement:allocations:list"))
async def show_allocations(consumer_uuid: str, ctx: Ctx, allocations: Allocs) -> Response:
    ctx.enforce("placement:allocations:list")
    found = await allocations.of_consumer(consumer_uuid)
    mv = ctx.microversion
    body: dict[str, Any] = {"allocations": {
        rp: {"generation": gen, "resources": used} for rp, (gen, used) in found.allocations.items()}}
    if found.allocations and found.project_id is not None:
        if mv >= (1, 12):
            body["project_id"], body["user_id"] = found.project_id, found.user_id
        if mv >= (1, 28):
            body["consumer_generation"] = found.generation
        if mv >= (1, 38):
            body["consumer_type"] = found.consumer_type or "unknown"
    return reply(ctx, body, last_modified=found.updated_at)


@router.put("/allocations/{consumer_uuid}", status_code=204,
            **policy("placement:allocations:update"))
async def put_allocations(consumer_uuid: str, request: Request, ctx: Ctx, allocations: Allocs,
                          body: AllocationsBody | dict[str, Any] = Body(...)) -> Response:
    ctx.enforce("placement:allocations:update")
    consumer = _uuid(consumer_uuid, "consumer_uuid")
    raw = body.model_dump(exclude_unset=True) if isinstance(body, BaseModel) else body
    await allocations.write([_consumer_write(ctx, consumer, raw, _section(request))])
    return empty()


@router.post("/allocations", status_code=204, dependencies=[available(minimum=(1, 13))],
             **policy("placement:allocations:manage"))
async def post_allocations(request: Request, ctx: Ctx, allocations: Allocs,
                           body: dict[str, AllocationsBody] = Body(...)) -> Response:
    ctx.enforce("placement:allocations:manage")
    raw = await request.json()
    if not isinstance(raw, dict) or not raw:
        raise faults.BadRequest("JSON does not validate: the body must name consumers")
    section = _section(request)
    writes = [_consumer_write(ctx, _uuid(c, "consumer_uuid"), v, section) for c, v in raw.items()]
    await allocations.write(writes)
    return empty()


@router.delete("/allocations/{consumer_uuid}", status_code=204,
               **policy("placement:allocations:delete"))
async def delete_allocations(consumer_uuid: str, ctx: Ctx, allocations: Allocs) -> Response:
    ctx.enforce("placement:allocations:delete")
    await allocations.delete(consumer_uuid)
    return empty()


@router.get("/resource_providers/{uuid}/allocations",
            **policy("placement:resource_providers:allocations:list"))
async def provider_allocations(uuid: str, ctx: Ctx, allocations: Allocs) -> Response:
    ctx.enforce("placement:resource_providers:allocations:list")
    found = await allocations.of_provider(uuid)
    return reply(ctx, {"allocations": {c: {"resources": r} for c, r in found.allocations.items()},
                       "resource_provider_generation": found.generation},
                 last_modified=found.updated_at)
