"""Capacity arithmetic in SQL: what a provider has left of a resource class.

    capacity = (total - reserved) * allocation_ratio        (Placement's definition)
    a request of N fits when used + N <= capacity and min_unit <= N <= max_unit
    and N is a multiple of step_size.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Select, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.placement.models import Allocation, Inventory

__all__ = ["fits", "fitting_ids", "providers_with_capacity", "usage_totals", "used_subquery"]


def used_subquery() -> Select[int, str, int]:
    return (select(Allocation.resource_provider_id, Allocation.resource_class,
                   func.sum(Allocation.used).label("used"))
            .group_by(Allocation.resource_provider_id, Allocation.resource_class))


def _fitting(rc: str, amount: int) -> Select[int]:
    used = used_subquery().where(Allocation.resource_class == rc).subquery()
    return (select(Inventory.resource_provider_id)
            .outerjoin(used, and_(used.c.resource_provider_id == Inventory.resource_provider_id,
                                  used.c.resource_class == Inventory.resource_class))
            .where(Inventory.resource_class == rc,
                   Inventory.min_unit <= amount, Inventory.max_unit >= amount,
                   literal(amount) % Inventory.step_size == 0,
                   (Inventory.total - Inventory.reserved) * Inventory.allocation_ratio
                   >= func.coalesce(used.c.used, 0) + amount))


def fitting_ids(resources: Mapping[str, int]) -> Select[int]:
    """A query of the ids of the providers that can serve every amount by themselves."""
    query: Select[int] | None = None
    for rc, amount in resources.items():
        q = _fitting(rc, amount)
        query = q if query is None else query.where(
            Inventory.resource_provider_id.in_(q))
    assert query is not None, "no resources asked for"
    return query


async def providers_with_capacity(s: AsyncSession, resources: Mapping[str, int]) -> set[int]:
    """Ids of the providers that can serve every amount in `resources` by themselves."""
    found: set[int] | None = None
    for rc, amount in resources.items():
        ids = set(await s.scalars(_fitting(rc, amount)))
        found = ids if found is None else found & ids
        if not found:
            return set()
    return found or set()


def fits(total: int, reserved: int, ratio: float, min_unit: int, max_unit: int, step: int,
         used: int, amount: int) -> bool:
    """The same rule in Python, for amounts summed within one request."""
    return (min_unit <= amount <= max_unit and amount % step == 0
            and used + amount <= (total - reserved) * ratio)


async def usage_totals(s: AsyncSession, provider_id: int) -> dict[str, int]:
    rows = await s.execute(used_subquery().where(Allocation.resource_provider_id == provider_id))
    return {rc: int(used) for _, rc, used in rows}
