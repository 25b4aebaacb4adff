"""/os-aggregates: host aggregates with metadata and availability zones (admins); `uuid` in
views from 2.41, image precaching from 2.81."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.compute.aggregates import AZ_KEY
from overcast.compute.api import MAX_INT, Aggs, isotime
from overcast.compute.models import Aggregate

router = APIRouter(prefix="/v2.1/os-aggregates", tags=["aggregates"])

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
#: Zone names: no colon (Nova: it separates zone and host in `zone:host`).
Zone = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^:]*$")]


class AggregateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    availability_zone: Zone | None = None


class AggregateCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aggregate: AggregateCreate


class AggregateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    availability_zone: Zone | None = None

    @model_validator(mode="after")
    def _something(self) -> AggregateUpdate:
        if not self.model_fields_set:
            raise ValueError("name or availability_zone is required")
        return self


class AggregateUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aggregate: AggregateUpdate


class Host(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: Name


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metadata: dict[Annotated[str, StringConstraints(min_length=1, max_length=255)],
                   Annotated[str, StringConstraints(max_length=255)] | None]


class AggregateAction(BaseModel):
    """POST /os-aggregates/{id}/action: exactly one of add_host, remove_host, set_metadata."""

    model_config = ConfigDict(extra="forbid")
    add_host: Host | None = None
    remove_host: Host | None = None
    set_metadata: Metadata | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AggregateAction:
        if len(self.model_fields_set) != 1:
            raise ValueError("exactly one of add_host, remove_host, set_metadata")
        return self


class CachedImage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[0-9a-fA-F-]{32,36}$")


class PrecacheBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cache: list[CachedImage] = Field(min_length=1)


def _view(ctx: Ctx, agg: Aggregate, *, full: bool = True) -> dict[str, Any]:
    metadata = {m.key: m.value for m in agg.metadata_items}
    view: dict[str, Any] = {
        "availability_zone": metadata.get(AZ_KEY), "created_at": isotime(agg.created_at),
        "deleted": False, "deleted_at": None, "id": agg.id, "name": agg.name,
        "updated_at": isotime(agg.updated_at)}
    if full:
        view["hosts"] = [h.host for h in agg.hosts]
        view["metadata"] = metadata
    if ctx.microversion >= (2, 41):
        view["uuid"] = agg.uuid
    return view


def _id(aggregate_id: str) -> int:
    """Nova's aggregate ids are integers: anything else is a 400, an unknown one a 404."""
    try:
        number = int(aggregate_id)
    except ValueError:
        raise faults.BadRequest(f"Invalid aggregate id {aggregate_id}: an integer is "
                                "required.") from None
    if not -MAX_INT <= number <= MAX_INT:  # beyond the column: no such aggregate
        raise faults.NotFound(f"Aggregate {aggregate_id} could not be found.")
    return number


@router.get("", **policy("os_compute_api:os-aggregates:index"))
async def list_aggregates(ctx: Ctx, aggregates: Aggs) -> dict[str, Any]:
    return {"aggregates": [_view(ctx, a) for a in await aggregates.list(ctx)]}


@router.post("", **policy("os_compute_api:os-aggregates:create"))
async def create_aggregate(body: AggregateCreateBody, ctx: Ctx, aggregates: Aggs
                           ) -> dict[str, Any]:
    a = body.aggregate
    agg = await aggregates.create(ctx, a.name, a.availability_zone)
    return {"aggregate": _view(ctx, agg, full=False)}


@router.get("/{aggregate_id}", **policy("os_compute_api:os-aggregates:show"))
async def show_aggregate(aggregate_id: str, ctx: Ctx, aggregates: Aggs) -> dict[str, Any]:
    return {"aggregate": _view(ctx, await aggregates.get(ctx, _id(aggregate_id)))}


@router.put("/{aggregate_id}", **policy("os_compute_api:os-aggregates:update"))
async def update_aggregate(aggregate_id: str, body: AggregateUpdateBody, ctx: Ctx,
                           aggregates: Aggs) -> dict[str, Any]:
    a = body.aggregate
    if "name" in a.model_fields_set and a.name is None:
        raise faults.BadRequest("Invalid input for field/attribute name: None is not a string")
    agg = await aggregates.update(ctx, _id(aggregate_id), a.name, a.availability_zone,
                                  "availability_zone" in a.model_fields_set)
    return {"aggregate": _view(ctx, agg)}


@router.delete("/{aggregate_id}", **policy("os_compute_api:os-aggregates:delete"))
async def delete_aggregate(aggregate_id: str, ctx: Ctx, aggregates: Aggs) -> Response:
    await aggregates.delete(ctx, _id(aggregate_id))
    return Response(status_code=200)


@router.post("/{aggregate_id}/action",
             **policy("os_compute_api:os-aggregates:add_host",
                      "os_compute_api:os-aggregates:remove_host",
                      "os_compute_api:os-aggregates:set_metadata"))
async def aggregate_action(aggregate_id: str, body: AggregateAction, ctx: Ctx,
                           aggregates: Aggs) -> dict[str, Any]:
    agg_id = _id(aggregate_id)
    if body.add_host is not None:
        agg = await aggregates.add_host(ctx, agg_id, body.add_host.host)
    elif body.remove_host is not None:
        agg = await aggregates.remove_host(ctx, agg_id, body.remove_host.host)
    else:
        assert body.set_metadata is not None
        agg = await aggregates.set_metadata(ctx, agg_id, body.set_metadata.metadata)
    return {"aggregate": _view(ctx, agg)}


@router.post("/{aggregate_id}/images", dependencies=[available(minimum=(2, 81))],
             **policy("compute:aggregates:images"))
async def precache_images(aggregate_id: str, body: PrecacheBody, ctx: Ctx, aggregates: Aggs
                          ) -> Response:
    await aggregates.precache_images(ctx, _id(aggregate_id), [c.id for c in body.cache])
    return Response(status_code=202)
