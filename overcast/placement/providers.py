"""Resource providers: create, list with filters, show, update (names, trees), delete, and the
traits and aggregates that belong to a provider."""

from __future__ import annotations

import builtins
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.placement.capacity import providers_with_capacity
from overcast.placement.catalog import check_classes, check_traits
from overcast.placement.errors import CannotDeleteParent, DuplicateName, ProviderInUse
from overcast.placement.models import (
    Allocation,
    ProviderAggregate,
    ProviderTrait,
    ResourceProvider,
)
from overcast.placement.queries import AggregateQuery, TraitQuery
from overcast.placement.state import PlacementState, bump_generation, check_generation

__all__ = ["ProviderFilters", "ProviderView", "Providers", "load_provider", "provider_views"]


@dataclass(frozen=True)
class ProviderView:
    """A provider as the API shows it."""

    uuid: str
    name: str
    generation: int
    parent_provider_uuid: str | None
    root_provider_uuid: str
    updated_at: datetime


@dataclass
class ProviderFilters:
    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None
    member_of: AggregateQuery | None = None
    resources: dict[str, int] | None = None
    required: TraitQuery | None = None


async def load_provider(s: AsyncSession, uuid: str) -> ResourceProvider:
    rp = await s.scalar(select(ResourceProvider).where(ResourceProvider.uuid == uuid))
    if rp is None:
        raise faults.NotFound(f"No resource provider with uuid {uuid} found")
    return rp


async def provider_views(s: AsyncSession, rps: Sequence[ResourceProvider]) -> list[ProviderView]:
    """Views of `rps`, their parent and root uuids looked up in one query."""
    ids = {i for rp in rps for i in (rp.parent_provider_id, rp.root_provider_id) if i}
    uuids: dict[int, str] = {}
    if ids:
        uuids = dict((await s.execute(select(ResourceProvider.id, ResourceProvider.uuid)
                                      .where(ResourceProvider.id.in_(ids)))).all())
    return [ProviderView(rp.uuid, rp.name, rp.generation,
                         uuids.get(rp.parent_provider_id) if rp.parent_provider_id else None,
                         uuids.get(rp.root_provider_id or rp.id, rp.uuid), rp.updated_at)
            for rp in rps]


class Providers:
    def __init__(self, state: PlacementState):
        self.state = state
        self.db = state.db

    # -- the provider itself --
    async def create(self, name: str, uuid: str | None, parent_uuid: str | None) -> ProviderView:
        try:
            return await self._create(name, uuid, parent_uuid)
        except IntegrityError:  # the same name or uuid created at the same moment elsewhere
            raise DuplicateName(f"Conflicting resource provider name: {name} already "
                                f"exists.") from None

    async def _create(self, name: str, uuid: str | None, parent_uuid: str | None
                      ) -> ProviderView:
        if parent_uuid is not None:
            parent_uuid = str(uuidlib.UUID(parent_uuid))
        async with self.db.transaction() as s:
            uuid = str(uuidlib.UUID(uuid)) if uuid else str(uuidlib.uuid4())
            if await s.scalar(select(ResourceProvider.id).where(ResourceProvider.name == name)):
                raise DuplicateName(f"Conflicting resource provider name: {name} already "
                                    f"exists.")
            if await s.scalar(select(ResourceProvider.id).where(ResourceProvider.uuid == uuid)):
                raise DuplicateName(f"Conflicting resource provider uuid: {uuid} already "
                                    f"exists.")
            parent = None
            if parent_uuid is not None:
                parent = await s.scalar(select(ResourceProvider)
                                        .where(ResourceProvider.uuid == parent_uuid))
                if parent is None:
                    raise faults.BadRequest(
                        f"Unable to create resource provider \"{name}\", {uuid}: No such "
                        f"resource provider {parent_uuid}.")
            rp = ResourceProvider(uuid=uuid, name=name, generation=0,
                                  parent_provider_id=parent.id if parent else None)
            s.add(rp)
            await s.flush()
            rp.root_provider_id = parent.root_provider_id if parent else rp.id
            await s.flush()
            return (await provider_views(s, [rp]))[0]

    async def get(self, uuid: str) -> ProviderView:
        async with self.db.read() as s:
            return (await provider_views(s, [await load_provider(s, uuid)]))[0]

    async def list(self, f: ProviderFilters) -> builtins.list[ProviderView]:
        async with self.db.read() as s:
            q = select(ResourceProvider).order_by(ResourceProvider.id)
            if f.name is not None:
                q = q.where(ResourceProvider.name == f.name)
            if f.uuid is not None:
                q = q.where(ResourceProvider.uuid == f.uuid)
            if f.in_tree is not None:
                root = await s.scalar(select(ResourceProvider.root_provider_id)
                                      .where(ResourceProvider.uuid == f.in_tree))
                # an unknown provider has an empty tree (Placement answers an empty list)
                q = q.where(ResourceProvider.root_provider_id == (root or -1))
            if f.resources:
                await check_classes(s, f.resources)
                ids = await providers_with_capacity(s, f.resources)
                q = q.where(ResourceProvider.id.in_(ids))
            if f.required:
                await check_traits(s, f.required.names())
            rps = list(await s.scalars(q))
            if f.member_of:
                aggs = await aggregates_of(s, [rp.id for rp in rps])
                rps = [rp for rp in rps if f.member_of.matches(aggs.get(rp.id, frozenset()))]
            if f.required:
                traits = await traits_of(s, [rp.id for rp in rps])
                rps = [rp for rp in rps if f.required.matches(traits.get(rp.id, frozenset()))]
            return await provider_views(s, rps)

    async def update(self, uuid: str, name: str, parent_uuid: str | None, parent_given: bool,
                     reparent: bool) -> ProviderView:
        """`parent_given`: the body names parent_provider_uuid (1.14+); `reparent`: it may
        change or clear a parent already set (1.37+)."""
        try:
            return await self._update(uuid, name, parent_uuid, parent_given, reparent)
        except IntegrityError:
            raise DuplicateName(f"Conflicting resource provider name: {name} already "
                                f"exists.") from None

    async def _update(self, uuid: str, name: str, parent_uuid: str | None, parent_given: bool,
                      reparent: bool) -> ProviderView:
        if parent_uuid is not None:
            parent_uuid = str(uuidlib.UUID(parent_uuid))
        async with self.db.transaction() as s:
            rp = await load_provider(s, uuid)
            if name != rp.name:
                if await s.scalar(select(ResourceProvider.id)
                                  .where(ResourceProvider.name == name)):
                    raise DuplicateName(f"Conflicting resource provider name: {name} already "
                                        f"exists.")
                rp.name = name
            if parent_given:
                await self._set_parent(s, rp, parent_uuid, reparent)
            rp.updated_at = utcnow()
            await s.flush()
            return (await provider_views(s, [rp]))[0]

    async def _set_parent(self, s: AsyncSession, rp: ResourceProvider, parent_uuid: str | None,
                          reparent: bool) -> None:
        current = None
        if rp.parent_provider_id is not None:
            current = await s.scalar(select(ResourceProvider.uuid)
                                     .where(ResourceProvider.id == rp.parent_provider_id))
        if parent_uuid == current:
            return
        if current is not None and not reparent:
            raise faults.BadRequest("re-parenting a provider is not currently allowed.")
        if parent_uuid is None:
            new_root = rp.id
            rp.parent_provider_id = None
        else:
            parent = await s.scalar(select(ResourceProvider)
                                    .where(ResourceProvider.uuid == parent_uuid))
            if parent is None:
                raise faults.BadRequest(f"parent provider UUID {parent_uuid} does not exist.")
            if parent.id in await self._subtree(s, rp):
                raise faults.BadRequest("creating loop in the provider tree is not allowed.")
            rp.parent_provider_id = parent.id
            new_root = parent.root_provider_id or parent.id
        for pid in await self._subtree(s, rp):
            node = await s.get(ResourceProvider, pid)
            assert node is not None
            node.root_provider_id = new_root

    @staticmethod
    async def _subtree(s: AsyncSession, rp: ResourceProvider) -> set[int]:
        """The ids of `rp` and every provider below it."""
        rows = (await s.execute(select(ResourceProvider.id, ResourceProvider.parent_provider_id)
                                .where(ResourceProvider.root_provider_id
                                       == rp.root_provider_id))).all()
        children: dict[int, list[int]] = defaultdict(list)
        for pid, parent in rows:
            if parent is not None:
                children[parent].append(pid)
        found, todo = set(), [rp.id]
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo.extend(children[pid])
        return found

    async def delete(self, uuid: str) -> None:
        async with self.db.transaction() as s:
            rp = await load_provider(s, uuid)
            if await s.scalar(select(func.count()).select_from(ResourceProvider)
                              .where(ResourceProvider.parent_provider_id == rp.id)):
                raise CannotDeleteParent(f"Unable to delete parent resource provider {uuid}: "
                                         f"It has child resource providers.")
            if await s.scalar(select(func.count()).select_from(Allocation)
                              .where(Allocation.resource_provider_id == rp.id)):
                raise ProviderInUse(f"Unable to delete resource provider {uuid}: Resource "
                                    f"provider has allocations.")
            rp.root_provider_id = None
            await s.flush()
            await s.delete(rp)

    # -- traits of a provider --
    async def traits(self, uuid: str) -> tuple[builtins.list[str], int]:
        async with self.db.read() as s:
            rp = await load_provider(s, uuid)
            return sorted((await traits_of(s, [rp.id])).get(rp.id, ())), rp.generation

    async def set_traits(self, uuid: str, traits: Iterable[str], generation: int) -> int:
        names = set(traits)

        async def work(s: AsyncSession) -> int:
            rp = await load_provider(s, uuid)
            check_generation(generation, rp.generation)
            await check_traits(s, names)
            await s.execute(delete(ProviderTrait).where(ProviderTrait.resource_provider_id == rp.id))
            if names:
                await s.execute(insert(ProviderTrait), [
                    {"resource_provider_id": rp.id, "trait": t} for t in sorted(names)])
            return await bump_generation(s, rp.id, rp.generation)

        return await self.state.retrying(work)

    async def clear_traits(self, uuid: str) -> None:
        async def work(s: AsyncSession) -> None:
            rp = await load_provider(s, uuid)
            await s.execute(delete(ProviderTrait).where(ProviderTrait.resource_provider_id == rp.id))
            await bump_generation(s, rp.id, rp.generation)

        await self.state.retrying(work)

    # -- aggregates of a provider --
    async def aggregates(self, uuid: str) -> tuple[builtins.list[str], int]:
        async with self.db.read() as s:
            rp = await load_provider(s, uuid)
            return sorted((await aggregates_of(s, [rp.id])).get(rp.id, ())), rp.generation

    async def set_aggregates(self, uuid: str, aggregates: Iterable[str],
                             generation: int | None) -> int:
        """`generation` None: the pre-1.19 form, which does not compare generations."""
        wanted = {str(uuidlib.UUID(a)) for a in aggregates}

        async def work(s: AsyncSession) -> int:
            rp = await load_provider(s, uuid)
            if generation is not None:
                check_generation(generation, rp.generation)
            await s.execute(delete(ProviderAggregate)
                            .where(ProviderAggregate.resource_provider_id == rp.id))
            if wanted:
                await s.execute(insert(ProviderAggregate), [
                    {"resource_provider_id": rp.id, "aggregate_uuid": a} for a in sorted(wanted)])
            return await bump_generation(s, rp.id, rp.generation)

        return await self.state.retrying(work)


async def traits_of(s: AsyncSession, ids: Sequence[int]) -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(ids):
        for pid, trait in (await s.execute(
                select(ProviderTrait.resource_provider_id, ProviderTrait.trait)
                .where(ProviderTrait.resource_provider_id.in_(chunk)))):
            found[pid].add(trait)
    return {k: frozenset(v) for k, v in found.items()}


async def aggregates_of(s: AsyncSession, ids: Sequence[int]) -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(ids):
        for pid, agg in (await s.execute(
                select(ProviderAggregate.resource_provider_id, ProviderAggregate.aggregate_uuid)
                .where(ProviderAggregate.resource_provider_id.in_(chunk)))):
            found[pid].add(agg)
    return {k: frozenset(v) for k, v in found.items()}


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    """IN lists of bounded length (SQLite allows ~32k variables; big lists are slow anyway)."""
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i:i + size]
