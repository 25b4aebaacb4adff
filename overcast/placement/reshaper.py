"""The reshaper (1.30): move inventory and the allocations against it between providers of a
tree in one transaction, e.g. VGPU from a compute node to new child providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.placement.allocations import ConsumerWrite, write_allocations
from overcast.placement.capacity import usage_totals
from overcast.placement.catalog import check_classes
from overcast.placement.errors import InventoryInUse
from overcast.placement.inventories import InventoryData, _store, _validate
from overcast.placement.models import Inventory
from overcast.placement.providers import load_provider
from overcast.placement.state import PlacementState, bump_generation, check_generation

__all__ = ["ProviderInventories", "Reshaper"]


@dataclass
class ProviderInventories:
    generation: int | None
    inventories: dict[str, InventoryData]


class Reshaper:
    def __init__(self, state: PlacementState):
        self.state = state

    async def reshape(self, inventories: Mapping[str, ProviderInventories],
                      allocations: Sequence[ConsumerWrite]) -> None:
        for uuid, p in inventories.items():
            for rc, inv in p.inventories.items():
                _validate(uuid, rc, inv, True)

        async def work(s: AsyncSession) -> None:
            ids = []
            for uuid, p in sorted(inventories.items()):
                rp = await load_provider(s, uuid)
                check_generation(p.generation, rp.generation)
                await check_classes(s, p.inventories)
                rows = {r.resource_class: r for r in await s.scalars(
                    select(Inventory).where(Inventory.resource_provider_id == rp.id))}
                for rc, row in rows.items():
                    if rc not in p.inventories:
                        await s.delete(row)
                for rc, inv in p.inventories.items():
                    _store(s, rp, rows.get(rc), rc, inv)
                await s.flush()
                await bump_generation(s, rp.id, rp.generation)
                ids.append((uuid, rp.id))
            await write_allocations(s, allocations)
            for uuid, pid in ids:  # no allocation may be left on inventory that went away
                have = set(await s.scalars(select(Inventory.resource_class)
                                           .where(Inventory.resource_provider_id == pid)))
                orphans = sorted(rc for rc, n in (await usage_totals(s, pid)).items()
                                 if n and rc not in have)
                if orphans:
                    raise InventoryInUse(f"Unable to reshape: Inventory for "
                                         f"'{', '.join(orphans)}' on resource provider "
                                         f"'{uuid}' in use.")

        await self.state.retrying(work)
