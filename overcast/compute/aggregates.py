"""Host aggregates: named groups of compute hosts with metadata; the `availability_zone` key
makes one an availability zone. As Nova, a host may sit in several aggregates but in one zone
only, the internal zone's name is refused, and an aggregate with hosts cannot be deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.compute.models import Aggregate, AggregateHost, AggregateMetadata, Service
from overcast.config import ComputeSection

__all__ = ["AZ_KEY", "Aggregates", "Precache"]

AZ_KEY = "availability_zone"

#: (hosts, image ids) -> None: the servers side casts a precache to each host's agent.
Precache = Callable[[Sequence[str], Sequence[str]], Awaitable[None]]


class Aggregates:
    def __init__(self, db: Database, config: ComputeSection):
        self.db = db
        self.config = config
        self._precache: Precache | None = None

    def set_precache(self, precache: Precache) -> None:
        self._precache = precache

    @staticmethod
    async def _load(s: AsyncSession, aggregate_id: int) -> Aggregate:
        agg = await s.get(Aggregate, aggregate_id)
        if agg is None:
            raise faults.NotFound(f"Aggregate {aggregate_id} could not be found.")
        return agg

    def _check_zone(self, zone: str | None) -> None:
        if zone is not None and zone == self.config.internal_service_availability_zone:
            raise faults.BadRequest(
                "Cannot update aggregate: the availability zone may not be the internal "
                f"zone '{zone}'.")

    @staticmethod
    async def _zone_conflicts(s: AsyncSession, agg: Aggregate, hosts: Sequence[str],
                              zone: str | None) -> None:
        """A host can be in one zone: refuse a zone that differs from one its other
        aggregates give it."""
        if zone is None or not hosts:
            return
        rows = await s.execute(
            select(AggregateHost.host, AggregateMetadata.value)
            .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
            .where(AggregateMetadata.key == AZ_KEY, AggregateHost.host.in_(hosts),
                   AggregateHost.aggregate_id != agg.id))
        for host, other in rows:
            if other != zone:
                raise faults.BadRequest(
                    f"Cannot add host {host} to aggregate {agg.id}: host already in "
                    f"availability zone {other}, not {zone}.")

    async def list(self, ctx: RequestContext) -> list[Aggregate]:
        ctx.enforce("os_compute_api:os-aggregates:index", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            return list((await s.execute(select(Aggregate).order_by(Aggregate.id))).scalars())

    async def get(self, ctx: RequestContext, aggregate_id: int) -> Aggregate:
        ctx.enforce("os_compute_api:os-aggregates:show", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            return await self._load(s, aggregate_id)

    async def create(self, ctx: RequestContext, name: str, zone: str | None) -> Aggregate:
        ctx.enforce("os_compute_api:os-aggregates:create", {"project_id": ctx.project_id})
        self._check_zone(zone)
        now = utcnow()
        try:
            async with self.db.transaction() as s:
                if (await s.execute(select(Aggregate.id).where(Aggregate.name == name))).first():
                    raise faults.Conflict(f"Aggregate {name} already exists.")
                agg = Aggregate(uuid=str(uuid.uuid4()), name=name, created_at=now,
                                hosts=[], metadata_items=[])
                if zone is not None:
                    agg.metadata_items.append(AggregateMetadata(key=AZ_KEY, value=zone))
                s.add(agg)
                await s.flush()
        except IntegrityError:
            raise faults.Conflict(f"Aggregate {name} already exists.") from None
        return agg

    async def update(self, ctx: RequestContext, aggregate_id: int, name: str | None,
                     zone: str | None, zone_given: bool) -> Aggregate:
        self._check_zone(zone)
        try:
            async with self.db.transaction() as s:
                agg = await self._load(s, aggregate_id)
                ctx.enforce("os_compute_api:os-aggregates:update", {"project_id": ctx.project_id})
                if name is not None and name != agg.name:
                    if (await s.execute(select(Aggregate.id).where(Aggregate.name == name))
                            ).first():
                        raise faults.Conflict(f"Aggregate {name} already exists.")
                    agg.name = name
                if zone_given:
                    await self._zone_conflicts(s, agg, [h.host for h in agg.hosts], zone)
                    self._set(agg, {AZ_KEY: zone})
                agg.updated_at = utcnow()
                await s.flush()
                return agg
        except IntegrityError:
            raise faults.Conflict(f"Aggregate {name} already exists.") from None

    async def delete(self, ctx: RequestContext, aggregate_id: int) -> None:
        async with self.db.transaction() as s:
            agg = await self._load(s, aggregate_id)
            ctx.enforce("os_compute_api:os-aggregates:delete", {"project_id": ctx.project_id})
            if agg.hosts:
                raise faults.BadRequest(f"Cannot remove aggregate {aggregate_id}: host "
                                        "aggregate is not empty.")
            await s.delete(agg)

    async def add_host(self, ctx: RequestContext, aggregate_id: int, host: str) -> Aggregate:
        async with self.db.transaction() as s:
            agg = await self._load(s, aggregate_id)
            ctx.enforce("os_compute_api:os-aggregates:add_host", {"project_id": ctx.project_id})
            known = (await s.execute(select(Service.id).where(
                Service.host == host, Service.binary == "nova-compute"))).first()
            if known is None:
                raise faults.NotFound(f"Compute host {host} could not be found.")
            if any(h.host == host for h in agg.hosts):
                raise faults.Conflict(f"Aggregate {aggregate_id} already has host {host}.")
            zone = next((m.value for m in agg.metadata_items if m.key == AZ_KEY), None)
            await self._zone_conflicts(s, agg, [host], zone)
            agg.hosts.append(AggregateHost(host=host))
            agg.updated_at = utcnow()
            await s.flush()
            return agg

    async def remove_host(self, ctx: RequestContext, aggregate_id: int, host: str) -> Aggregate:
        async with self.db.transaction() as s:
            agg = await self._load(s, aggregate_id)
            ctx.enforce("os_compute_api:os-aggregates:remove_host",
                        {"project_id": ctx.project_id})
            kept = [h for h in agg.hosts if h.host != host]
            if len(kept) == len(agg.hosts):
                raise faults.NotFound(f"Cannot remove host {host} from aggregate "
                                      f"{aggregate_id}: the host is not in it.")
            agg.hosts = kept
            agg.updated_at = utcnow()
            await s.flush()
            return agg

    async def set_metadata(self, ctx: RequestContext, aggregate_id: int,
                           metadata: Mapping[str, str | None]) -> Aggregate:
        """Set keys; a null value removes its key (Nova's set_metadata)."""
        if AZ_KEY in metadata:
            self._check_zone(metadata[AZ_KEY])
        async with self.db.transaction() as s:
            agg = await self._load(s, aggregate_id)
            ctx.enforce("os_compute_api:os-aggregates:set_metadata",
                        {"project_id": ctx.project_id})
            if AZ_KEY in metadata:
                await self._zone_conflicts(s, agg, [h.host for h in agg.hosts], metadata[AZ_KEY])
            self._set(agg, metadata)
            agg.updated_at = utcnow()
            await s.flush()
            return agg

    @staticmethod
    def _set(agg: Aggregate, metadata: Mapping[str, str | None]) -> None:
        current = {m.key: m for m in agg.metadata_items}
        for key, value in metadata.items():
            if value is None:
                if key in current:
                    agg.metadata_items.remove(current.pop(key))
            elif key in current:
                current[key].value = value
            else:
                item = AggregateMetadata(key=key, value=value)
                agg.metadata_items.append(item)
                current[key] = item

    async def precache_images(self, ctx: RequestContext, aggregate_id: int,
                              image_ids: Sequence[str]) -> None:
        """Ask the aggregate's hosts to fetch images ahead of boots (2.81)."""
        async with self.db.read() as s:
            agg = await self._load(s, aggregate_id)
            ctx.enforce("compute:aggregates:images", {"project_id": ctx.project_id})
            hosts = [h.host for h in agg.hosts]
        if self._precache is not None and hosts:
            await self._precache(hosts, list(image_ids))
