"""Usages: what is allocated of each class, per provider and per project (and user)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.placement.models import Allocation, Consumer, Inventory
from overcast.placement.providers import load_provider
from overcast.placement.state import PlacementState

__all__ = ["ProviderUsages", "Usages"]


@dataclass(frozen=True)
class ProviderUsages:
    usages: dict[str, int]
    generation: int


class Usages:
    def __init__(self, state: PlacementState):
        self.db = state.db

    async def of_provider(self, uuid: str) -> ProviderUsages:
        """Every class the provider has inventory of (0 when unused), and any class allocated
        without inventory (left behind by a reshape)."""
        async with self.db.read() as s:
            rp = await load_provider(s, uuid)
            usages = {rc: 0 for rc in await s.scalars(
                select(Inventory.resource_class).where(Inventory.resource_provider_id == rp.id))}
            for rc, used in (await s.execute(
                    select(Allocation.resource_class, func.sum(Allocation.used))
                    .where(Allocation.resource_provider_id == rp.id)
                    .group_by(Allocation.resource_class))):
                usages[rc] = int(used)
            return ProviderUsages(usages, rp.generation)

    async def of_project(self, project_id: str, user_id: str | None,
                         consumer_type: str | None, by_type: bool
                         ) -> dict[str, dict[str, int]] | dict[str, int]:
        """GET /usages; `by_type` (1.38+): grouped by consumer type with consumer counts;
        consumer_type `all` groups everything under "all", `unknown` the untyped consumers."""
        async with self.db.read() as s:
            return await _project_usages(s, project_id, user_id, consumer_type, by_type)


async def _project_usages(s: AsyncSession, project_id: str, user_id: str | None,
                          consumer_type: str | None, by_type: bool
                          ) -> dict[str, dict[str, int]] | dict[str, int]:
    q = (select(Consumer.consumer_type, Allocation.resource_class, func.sum(Allocation.used),
                func.count(distinct(Consumer.id)))
         .join(Consumer, Consumer.uuid == Allocation.consumer_id)
         .where(Consumer.project_id == project_id)
         .group_by(Consumer.consumer_type, Allocation.resource_class))
    counts_q = (select(Consumer.consumer_type, func.count(distinct(Consumer.id)))
                .join(Allocation, Consumer.uuid == Allocation.consumer_id)
                .where(Consumer.project_id == project_id).group_by(Consumer.consumer_type))
    if user_id is not None:
        q = q.where(Consumer.user_id == user_id)
        counts_q = counts_q.where(Consumer.user_id == user_id)
    if consumer_type not in (None, "all", "unknown"):
        q = q.where(Consumer.consumer_type == consumer_type)
        counts_q = counts_q.where(Consumer.consumer_type == consumer_type)
    elif consumer_type == "unknown":
        q = q.where(Consumer.consumer_type.is_(None))
        counts_q = counts_q.where(Consumer.consumer_type.is_(None))
    rows = (await s.execute(q)).all()
    if not by_type:
        flat: dict[str, int] = defaultdict(int)
        for _, rc, used, _ in rows:
            flat[rc] += int(used)
        return dict(flat)
    grouped: dict[str, dict[str, int]] = defaultdict(dict)

    def key(kind: str | None) -> str:
        return "all" if consumer_type == "all" else (kind or "unknown")

    for kind, rc, used, _ in rows:
        grouped[key(kind)][rc] = grouped[key(kind)].get(rc, 0) + int(used)
    for kind, count in (await s.execute(counts_q)):
        g = grouped[key(kind)]
        g["consumer_count"] = g.get("consumer_count", 0) + int(count)
    return dict(grouped)
