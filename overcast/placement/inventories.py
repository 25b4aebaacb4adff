"""Inventories: what a provider has of each resource class, changed under its generation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.placement.capacity import usage_totals
from overcast.placement.catalog import check_classes
from overcast.placement.errors import ConcurrentUpdate, InventoryInUse
from overcast.placement.models import Inventory, ResourceProvider
from overcast.placement.providers import load_provider
from overcast.placement.state import PlacementState, bump_generation, check_generation

__all__ = ["MAX_INT", "Inventories", "InventoryData", "Listing"]

#: The largest amount Placement accepts anywhere (its schemas' maximum, a signed 32-bit int).
MAX_INT = 2147483647


@dataclass(frozen=True)
class InventoryData:
    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = MAX_INT
    step_size: int = 1
    allocation_ratio: float = 1.0

    @classmethod
    def of(cls, row: Inventory) -> InventoryData:
        return cls(row.total, row.reserved, row.min_unit, row.max_unit, row.step_size,
                   row.allocation_ratio)


@dataclass(frozen=True)
class Listing:
    inventories: dict[str, InventoryData]
    generation: int
    updated_at: datetime | None


class Inventories:
    def __init__(self, state: PlacementState):
        self.state = state
        self.db = state.db

    async def list(self, uuid: str) -> Listing:
        async with self.db.read() as s:
            rp = await load_provider(s, uuid)
            return await _listing(s, rp)

    async def get(self, uuid: str, rc: str) -> tuple[InventoryData, int, datetime]:
        async with self.db.read() as s:
            rp = await load_provider(s, uuid)
            row = await _row(s, rp, rc)
            if row is None:
                raise faults.NotFound(f"No inventory of class {rc} for {uuid}")
            return InventoryData.of(row), rp.generation, row.updated_at

    async def replace(self, uuid: str, generation: int, wanted: Mapping[str, InventoryData],
                      reserved_may_equal_total: bool) -> Listing:
        """PUT .../inventories: the provider's whole inventory becomes `wanted`."""
        for rc, inv in wanted.items():
            _validate(uuid, rc, inv, reserved_may_equal_total)

        async def work(s: AsyncSession) -> Listing:
            rp = await load_provider(s, uuid)
            check_generation(generation, rp.generation)
            await check_classes(s, wanted)
            rows = {r.resource_class: r for r in await s.scalars(
                select(Inventory).where(Inventory.resource_provider_id == rp.id))}
            used = await usage_totals(s, rp.id)
            gone = sorted(rc for rc in rows if rc not in wanted and used.get(rc))
            if gone:
                raise InventoryInUse(
                    f"update conflict: Inventory for '{', '.join(gone)}' on resource provider "
                    f"'{uuid}' in use.")
            for rc, row in rows.items():
                if rc not in wanted:
                    await s.delete(row)
            for rc, inv in wanted.items():
                _store(s, rp, rows.get(rc), rc, inv)
            await s.flush()
            gen = await bump_generation(s, rp.id, rp.generation)
            return Listing(dict(wanted), gen, utcnow())

        return await self.state.retrying(work)

    async def put_one(self, uuid: str, rc: str, generation: int, inv: InventoryData,
                      create: bool, reserved_may_equal_total: bool) -> tuple[int, datetime]:
        """POST (create=True) or PUT of one class's inventory; the new generation."""
        _validate(uuid, rc, inv, reserved_may_equal_total)

        async def work(s: AsyncSession) -> tuple[int, datetime]:
            rp = await load_provider(s, uuid)
            check_generation(generation, rp.generation)
            await check_classes(s, [rc])
            row = await _row(s, rp, rc)
            if create and row is not None:
                raise ConcurrentUpdate(f"Update conflict: Inventory for {rc} on resource "
                                       f"provider {uuid} already exists.")
            if not create and row is None:
                raise faults.BadRequest(f"No inventory record with resource class for "
                                        f"resource provider {uuid}: {rc}")
            _store(s, rp, row, rc, inv)
            await s.flush()
            return await bump_generation(s, rp.id, rp.generation), utcnow()

        return await self.state.retrying(work)

    async def delete_one(self, uuid: str, rc: str) -> None:
        async def work(s: AsyncSession) -> None:
            rp = await load_provider(s, uuid)
            row = await _row(s, rp, rc)
            if row is None:
                raise faults.NotFound(f"No inventory of class {rc} found for delete")
            if (await usage_totals(s, rp.id)).get(rc):
                # Placement names this one concurrent_update (its handler groups the two)
                raise ConcurrentUpdate(f"Unable to delete inventory of class {rc}: Inventory "
                                       f"for '{rc}' on resource provider '{uuid}' in use.")
            await s.delete(row)
            await bump_generation(s, rp.id, rp.generation)

        await self.state.retrying(work)

    async def delete_all(self, uuid: str) -> None:
        async def work(s: AsyncSession) -> None:
            rp = await load_provider(s, uuid)
            used = sorted(rc for rc, n in (await usage_totals(s, rp.id)).items() if n)
            if used:
                raise InventoryInUse(f"Unable to delete inventory for resource provider {uuid} "
                                     f"because the inventory is in use: "
                                     f"Inventory for '{', '.join(used)}' in use.")
            await s.execute(delete(Inventory).where(Inventory.resource_provider_id == rp.id))
            await bump_generation(s, rp.id, rp.generation)

        await self.state.retrying(work)


async def _listing(s: AsyncSession, rp: ResourceProvider) -> Listing:
    rows = list(await s.scalars(select(Inventory).where(Inventory.resource_provider_id == rp.id)
                                .order_by(Inventory.resource_class)))
    updated = max((r.updated_at for r in rows), default=rp.updated_at)
    return Listing({r.resource_class: InventoryData.of(r) for r in rows}, rp.generation, updated)


async def _row(s: AsyncSession, rp: ResourceProvider, rc: str) -> Inventory | None:
    return await s.scalar(select(Inventory).where(Inventory.resource_provider_id == rp.id,
                                                  Inventory.resource_class == rc))


def _validate(uuid: str, rc: str, inv: InventoryData, may_equal: bool) -> None:
    if inv.reserved > inv.total or (inv.reserved == inv.total and not may_equal):
        raise faults.BadRequest(
            f"Unable to update inventory for resource provider {uuid}: Invalid inventory for "
            f"'{rc}' on resource provider '{uuid}'. The reserved value is greater than "
            f"{'' if may_equal else 'or equal to '}total.")
    if inv.min_unit > inv.max_unit:
        raise faults.BadRequest(
            f"Unable to update inventory for resource provider {uuid}: Invalid inventory for "
            f"'{rc}' on resource provider '{uuid}'. min_unit is greater than max_unit.")


def _store(s: AsyncSession, rp: ResourceProvider, row: Inventory | None, rc: str,
           inv: InventoryData) -> None:
    if row is None:
        s.add(Inventory(resource_provider_id=rp.id, resource_class=rc, **asdict(inv)))
        return
    for key, value in asdict(inv).items():
        setattr(row, key, value)
    row.updated_at = utcnow()
