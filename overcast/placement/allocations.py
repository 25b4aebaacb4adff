"""Allocations: what consumers hold of providers' inventory, written so that two claims racing
for the last resources never both succeed.

Every write (PUT, POST /allocations, DELETE, reshaper) runs in one transaction that:
  1. reads the providers involved and the consumers' rows,
  2. compares consumer generations the caller sent (1.28+: 409 on a mismatch),
  3. replaces the consumers' allocations and checks capacity with the other consumers' usage,
  4. moves each touched provider's generation on with UPDATE ... WHERE generation = seen.
Two writers that read the same generation cannot both pass step 4: the database re-checks the
WHERE under the row lock, the loser rolls back and starts again on fresh reads (state.retrying),
so its capacity check then sees the winner's allocations. SQLite writers are serialised anyway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.placement.capacity import fits, used_subquery
from overcast.placement.catalog import check_classes
from overcast.placement.errors import ConcurrentUpdate
from overcast.placement.models import Allocation, Consumer, Inventory, ResourceProvider
from overcast.placement.providers import load_provider
from overcast.placement.state import PlacementState, Raced, bump_generation

__all__ = ["UNCHECKED", "Allocations", "ConsumerAllocations", "ConsumerWrite",
           "ProviderAllocations"]

#: A consumer generation that is not compared (writes before microversion 1.28).
UNCHECKED = -1


@dataclass
class ConsumerWrite:
    """The allocations one consumer should have after the write (empty: none)."""

    consumer_uuid: str
    allocations: dict[str, dict[str, int]]  # provider uuid -> resource class -> amount
    project_id: str
    user_id: str
    generation: int | None = UNCHECKED  # None: the consumer must not exist yet
    consumer_type: str | None = None


@dataclass
class ConsumerAllocations:
    """GET /allocations/{consumer_uuid}."""

    allocations: dict[str, tuple[int, dict[str, int]]]  # provider uuid -> (generation, used)
    project_id: str | None = None
    user_id: str | None = None
    generation: int | None = None
    consumer_type: str | None = None
    updated_at: datetime | None = None


@dataclass
class ProviderAllocations:
    """GET /resource_providers/{uuid}/allocations."""

    allocations: dict[str, dict[str, int]] = field(default_factory=dict)
    generation: int = 0
    updated_at: datetime | None = None


class Allocations:
    def __init__(self, state: PlacementState):
        self.state = state
        self.db = state.db

    # -- reads --
    async def of_consumer(self, consumer_uuid: str) -> ConsumerAllocations:
        async with self.db.read() as s:
            consumer = await s.scalar(select(Consumer).where(Consumer.uuid == consumer_uuid))
            rows = (await s.execute(
                select(ResourceProvider.uuid, ResourceProvider.generation,
                       Allocation.resource_class, Allocation.used, Allocation.updated_at)
                .join(ResourceProvider, ResourceProvider.id == Allocation.resource_provider_id)
                .where(Allocation.consumer_id == consumer_uuid))).all()
        result = ConsumerAllocations({})
        for rp_uuid, gen, rc, used, updated in rows:
            result.allocations.setdefault(rp_uuid, (gen, {}))[1][rc] = used
            if result.updated_at is None or updated > result.updated_at:
                result.updated_at = updated
        if consumer is not None:
            result.project_id, result.user_id = consumer.project_id, consumer.user_id
            result.generation, result.consumer_type = consumer.generation, consumer.consumer_type
        return result

    async def of_provider(self, uuid: str) -> ProviderAllocations:
        async with self.db.read() as s:
            rp = await load_provider(s, uuid)
            rows = (await s.execute(
                select(Allocation.consumer_id, Allocation.resource_class, Allocation.used,
                       Allocation.updated_at)
                .where(Allocation.resource_provider_id == rp.id)
                .order_by(Allocation.id))).all()
        result = ProviderAllocations(generation=rp.generation)
        for consumer, rc, used, updated in rows:
            result.allocations.setdefault(consumer, {})[rc] = used
            if result.updated_at is None or updated > result.updated_at:
                result.updated_at = updated
        return result

    # -- writes --
    async def write(self, consumers: Sequence[ConsumerWrite]) -> None:
        """Replace the allocations of every consumer in `consumers`, all or nothing."""
        for c in consumers:
            for resources in c.allocations.values():
                for rc, amount in resources.items():
                    if amount < 1:
                        raise faults.BadRequest(f"JSON does not validate: {amount} is less "
                                                f"than the minimum of 1 ({rc})")

        async def work(s: AsyncSession) -> None:
            await write_allocations(s, consumers)

        await self.state.retrying(work)

    async def delete(self, consumer_uuid: str) -> None:
        async def work(s: AsyncSession) -> None:
            found = await s.scalar(select(func.count()).select_from(Allocation)
                                   .where(Allocation.consumer_id == consumer_uuid))
            if not found:
                raise faults.NotFound(f"No allocations for consumer '{consumer_uuid}'")
            consumer = await s.scalar(select(Consumer).where(Consumer.uuid == consumer_uuid))
            await write_allocations(s, [ConsumerWrite(
                consumer_uuid, {}, consumer.project_id if consumer else "",
                consumer.user_id if consumer else "", UNCHECKED)])

        await self.state.retrying(work)

    async def move(self, source: str, target: str) -> bool:
        """Give `target` the allocations of `source` (Nova's resize/migration swap); False when
        `source` holds none. Both consumers' generations move on."""

        async def work(s: AsyncSession) -> bool:
            src = await s.scalar(select(Consumer).where(Consumer.uuid == source))
            rows = (await s.execute(
                select(ResourceProvider.uuid, Allocation.resource_class, Allocation.used)
                .join(ResourceProvider, ResourceProvider.id == Allocation.resource_provider_id)
                .where(Allocation.consumer_id == source))).all()
            if src is None or not rows:
                return False
            moved: dict[str, dict[str, int]] = defaultdict(dict)
            for rp_uuid, rc, used in rows:
                moved[rp_uuid][rc] = used
            await write_allocations(s, [
                ConsumerWrite(source, {}, src.project_id, src.user_id),
                ConsumerWrite(target, dict(moved), src.project_id, src.user_id,
                              consumer_type=src.consumer_type)])
            return True

        return await self.state.retrying(work)


async def write_allocations(s: AsyncSession, consumers: Sequence[ConsumerWrite]) -> None:
    """Steps 1-4 of the module docstring, inside the caller's transaction."""
    uuids = {rp for c in consumers for rp in c.allocations}
    # populate_existing: a reshape moved these generations earlier in the same transaction.
    providers = {rp.uuid: rp for rp in await s.scalars(
        select(ResourceProvider).where(ResourceProvider.uuid.in_(uuids))
        .execution_options(populate_existing=True))} if uuids else {}
    for rp_uuid in sorted(uuids - providers.keys()):
        raise faults.BadRequest(f"Allocation for resource provider '{rp_uuid}' that does not "
                                f"exist.")
    await check_classes(s, {rc for c in consumers for r in c.allocations.values() for rc in r})
    names = [c.consumer_uuid for c in consumers]
    if len(set(names)) != len(names):
        raise faults.BadRequest("A consumer is named twice in one request.")
    rows = {c.uuid: c for c in await s.scalars(select(Consumer).where(Consumer.uuid.in_(names)))}
    touched: dict[int, int] = {rp.id: rp.generation for rp in providers.values()}
    # The providers the consumers' current allocations are on: their generations move too.
    for pid, gen in (await s.execute(
            select(ResourceProvider.id, ResourceProvider.generation)
            .join(Allocation, Allocation.resource_provider_id == ResourceProvider.id)
            .where(Allocation.consumer_id.in_(names)).distinct())):
        touched[pid] = gen
    for c in consumers:
        await _update_consumer(s, c, rows.get(c.consumer_uuid))
    await s.execute(delete(Allocation).where(Allocation.consumer_id.in_(names))
                    .execution_options(synchronize_session=False))
    singles = [(providers[rp_uuid].id, rc, amount) for c in consumers
               for rp_uuid, resources in c.allocations.items() for rc, amount in resources.items()]
    await _check_capacity(s, singles, {rp.id: rp.uuid for rp in providers.values()})
    now = utcnow()
    new_rows = [{"resource_provider_id": providers[rp_uuid].id, "consumer_id": c.consumer_uuid,
                 "resource_class": rc, "used": amount, "created_at": now, "updated_at": now}
                for c in consumers for rp_uuid, resources in c.allocations.items()
                for rc, amount in resources.items()]
    if new_rows:
        await s.execute(insert(Allocation), new_rows)
    emptied = [c.consumer_uuid for c in consumers if not c.allocations]
    if emptied:  # a consumer without allocations is gone, as Placement deletes it
        await s.execute(delete(Consumer).where(Consumer.uuid.in_(emptied))
                        .execution_options(synchronize_session=False))
    # Lock order by id: two writers touching the same providers never deadlock on each other.
    for pid in sorted(touched):
        await bump_generation(s, pid, touched[pid])


async def _update_consumer(s: AsyncSession, c: ConsumerWrite, row: Consumer | None) -> None:
    if c.generation != UNCHECKED:
        current = None if row is None else row.generation
        if c.generation != current:
            raise ConcurrentUpdate(
                f"consumer generation conflict - expected "
                f"{'null' if c.generation is None else c.generation} but got "
                f"{'null' if current is None else current}")
    if row is None:
        if not c.allocations:
            return
        s.add(Consumer(uuid=c.consumer_uuid, project_id=c.project_id, user_id=c.user_id,
                       consumer_type=c.consumer_type, generation=1))
        await s.flush()  # a racing insert of the same consumer fails here (retried)
        return
    values: dict[str, object] = {"generation": row.generation + 1, "updated_at": utcnow()}
    if c.project_id and c.project_id != row.project_id:
        values["project_id"] = c.project_id
    if c.user_id and c.user_id != row.user_id:
        values["user_id"] = c.user_id
    if c.consumer_type is not None and c.consumer_type != row.consumer_type:
        values["consumer_type"] = c.consumer_type
    result = await s.execute(update(Consumer)
                             .where(Consumer.id == row.id, Consumer.generation == row.generation)
                             .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if c.generation != UNCHECKED:
            raise ConcurrentUpdate("consumer generation conflict: the consumer's allocations "
                                   "changed while this request wrote them.")
        raise Raced()


async def _check_capacity(s: AsyncSession, singles: Sequence[tuple[int, str, int]],
                          names: Mapping[int, str]) -> None:
    """Each allocation within its inventory's min_unit, max_unit and step_size; the sum of a
    write's allocations of one class on one provider within what the others left."""
    if not singles:
        return
    wanted: dict[tuple[int, str], int] = defaultdict(int)
    for pid, rc, amount in singles:
        wanted[(pid, rc)] += amount
    ids = {pid for pid, _ in wanted}
    inventories = {(i.resource_provider_id, i.resource_class): i for i in await s.scalars(
        select(Inventory).where(Inventory.resource_provider_id.in_(ids)))}
    used = {(pid, rc): int(n) for pid, rc, n in (await s.execute(
        used_subquery().where(Allocation.resource_provider_id.in_(ids))))}
    for pid, rc, amount in singles:
        inv = inventories.get((pid, rc))
        if inv is None:
            raise faults.Conflict(f"Unable to allocate inventory: Inventory for '{rc}' on "
                                  f"resource provider '{names[pid]}' invalid.")
        if not (inv.min_unit <= amount <= inv.max_unit and amount % inv.step_size == 0):
            raise faults.Conflict(
                f"Unable to allocate inventory: Unable to create allocation for '{rc}' on "
                f"resource provider '{names[pid]}'. The requested amount would violate "
                f"inventory constraints.")
    for (pid, rc), amount in sorted(wanted.items()):
        inv = inventories[(pid, rc)]
        if not fits(inv.total, inv.reserved, inv.allocation_ratio, 1, amount, 1,
                    used.get((pid, rc), 0), amount):
            raise faults.Conflict(
                f"Unable to allocate inventory: Unable to create allocation for '{rc}' on "
                f"resource provider '{names[pid]}'. The requested amount would exceed the "
                f"capacity.")
