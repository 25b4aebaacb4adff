"""Allocation candidates: the ways a request's groups can be served by one provider tree (and
the sharing providers associated with it by aggregate), each a ready-made allocation body.

The search, per request:
  1. SQL narrows each (group, resource class, amount) to the providers with room for it.
  2. Only trees holding such a provider (or associated with a sharing provider that has room)
     are loaded, a chunk of trees at a time, until `limit` requests are found.
  3. In each tree every group gets its options (a numbered group: one provider for all its
     resources; the unnumbered group: a provider per resource class), and their product is
     kept where summed amounts fit, group_policy=isolate holds, traits and aggregates match,
     root_required and same_subtree hold.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.placement.capacity import fitting_ids, used_subquery
from overcast.placement.catalog import check_classes, check_traits
from overcast.placement.models import (
    Allocation,
    Inventory,
    ProviderAggregate,
    ProviderTrait,
    ResourceProvider,
)
from overcast.placement.providers import _chunks, aggregates_of, traits_of
from overcast.placement.queries import GroupRequest, TraitQuery
from overcast.placement.state import PlacementState

__all__ = ["AllocationRequest", "CandidateRequest", "CandidateResult", "Candidates", "Summary"]

#: The trait that makes a provider's inventory usable by the trees in its aggregates.
SHARING_TRAIT = "MISC_SHARES_VIA_AGGREGATE"
#: Trees loaded at a time while looking for candidates.
TREE_CHUNK = 250
#: Combinations tried in one tree (a guard against a pathological nested request).
MAX_COMBINATIONS_PER_TREE = 10_000


@dataclass
class CandidateRequest:
    groups: dict[str, GroupRequest]
    group_policy: str | None = None
    limit: int | None = None
    root_required: TraitQuery | None = None
    same_subtree: list[list[str]] = field(default_factory=list)


@dataclass
class AllocationRequest:
    allocations: dict[str, dict[str, int]]  # provider uuid -> class -> amount
    mappings: dict[str, list[str]]  # group suffix -> provider uuids


@dataclass
class Summary:
    resources: dict[str, tuple[int, int]]  # class -> (capacity, used)
    traits: list[str]
    parent_provider_uuid: str | None
    root_provider_uuid: str


@dataclass
class CandidateResult:
    allocation_requests: list[AllocationRequest]
    provider_summaries: dict[str, Summary]


@dataclass
class _Inv:
    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    ratio: float

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.ratio)


@dataclass
class _Node:
    id: int
    uuid: str
    parent: int | None
    root: int
    inventory: dict[str, _Inv] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()

    def room(self, rc: str, amount: int, already: int = 0) -> bool:
        inv = self.inventory.get(rc)
        if inv is None:
            return False
        return (inv.min_unit <= amount <= inv.max_unit and amount % inv.step_size == 0
                and self.used.get(rc, 0) + already + amount <= (inv.total - inv.reserved) * inv.ratio)


class Candidates:
    def __init__(self, state: PlacementState):
        self.db = state.db

    async def find(self, req: CandidateRequest) -> CandidateResult:
        async with self.db.read() as s:
            await check_classes(s, {rc for g in req.groups.values() for rc in g.resources})
            names = {t for g in req.groups.values() for t in g.required.names()}
            if req.root_required:
                names |= req.root_required.names()
            await check_traits(s, names)
            return await _Search(s, req).run()


class _Search:
    def __init__(self, s: AsyncSession, req: CandidateRequest):
        self.s = s
        self.req = req
        self.nodes: dict[int, _Node] = {}
        self.sharing: dict[int, _Node] = {}

    async def run(self) -> CandidateResult:
        req, s = self.req, self.s
        result = CandidateResult([], {})
        # 1. the sharing providers (few): loaded whole, they may serve any tree they reach
        sharing_ids = set(await s.scalars(select(ProviderTrait.resource_provider_id)
                                          .where(ProviderTrait.trait == SHARING_TRAIT)))
        if sharing_ids:
            await self._load_sharing(sharing_ids)
        # 2. per requirement (a numbered group: all its classes on one provider; the unnumbered
        # group: each class), the trees that hold a provider with room for it, in SQL; a tree
        # must be in all of them
        requirements = [g.resources for g in req.groups.values() if g.suffix and g.resources]
        requirements += [{rc: n} for g in req.groups.values() if not g.suffix
                         for rc, n in g.resources.items()]
        if not requirements:
            return result  # nothing asked for resources: there is nothing to allocate
        roots: set[int] | None = None
        for wanted in requirements:
            found: set[int] = set(await s.scalars(
                select(ResourceProvider.root_provider_id).distinct()
                .where(ResourceProvider.id.in_(fitting_ids(wanted)),
                       ResourceProvider.root_provider_id.is_not(None))))
            sharers = [n for n in self.sharing.values()
                       if all(n.room(rc, a) for rc, a in wanted.items())]
            if sharers:
                found |= {n.root for n in sharers}
                aggs = {a for n in sharers for a in n.aggregates}
                if aggs:
                    found |= set(await _roots_in_aggregates(s, aggs))
            roots = found if roots is None else roots & found
            if not roots:
                return result
        assert roots is not None
        seen: set[tuple[frozenset[tuple[str, str, int]], frozenset[tuple[str, tuple[str, ...]]]]] = set()
        # A small limit needs few trees: load a few more than it asks for at a time.
        chunk_size = min(TREE_CHUNK, max(2 * req.limit, 20)) if req.limit else TREE_CHUNK
        for chunk in _chunks(sorted(roots), chunk_size):
            trees = await self._load_trees(chunk)
            for root in chunk:
                members = trees.get(root, [])
                for ar in self._tree_requests(root, members):
                    # Two requests are the same when allocations and mappings are (as
                    # Placement's AllocationRequest equality).
                    key = (frozenset((u, rc, n) for u, r in ar.allocations.items()
                                     for rc, n in r.items()),
                           frozenset((g, tuple(us)) for g, us in ar.mappings.items()))
                    if key in seen:
                        continue
                    seen.add(key)
                    result.allocation_requests.append(ar)
                    if req.limit is not None and len(result.allocation_requests) >= req.limit:
                        return self._summaries(result, trees)
            if req.limit is None or len(result.allocation_requests) < req.limit:
                self._summaries(result, trees)
        return result

    def _summaries(self, result: CandidateResult, trees: dict[int, list[_Node]]
                   ) -> CandidateResult:
        by_uuid = {n.uuid: n for ns in trees.values() for n in ns} | {
            n.uuid: n for n in self.sharing.values()}
        used_roots = {by_uuid[u].root for ar in result.allocation_requests
                      for u in ar.allocations if u in by_uuid}
        used_roots |= {by_uuid[u].root for ar in result.allocation_requests
                       for us in ar.mappings.values() for u in us if u in by_uuid}
        for node in by_uuid.values():
            if node.root in used_roots and node.uuid not in result.provider_summaries:
                result.provider_summaries[node.uuid] = Summary(
                    {rc: (inv.capacity, node.used.get(rc, 0))
                     for rc, inv in sorted(node.inventory.items())},
                    sorted(node.traits), self._uuid(node.parent), self._uuid(node.root) or "")
        return result

    def _uuid(self, pid: int | None) -> str | None:
        if pid is None:
            return None
        node = self.nodes.get(pid) or self.sharing.get(pid)
        return node.uuid if node else None

    async def _load_sharing(self, ids: set[int]) -> None:
        nodes = await self._load(list(ids))
        self.sharing = {n.id: n for n in nodes if SHARING_TRAIT in n.traits}
        # roots of the sharing providers, for their summaries
        missing = {n.root for n in self.sharing.values()} - self.sharing.keys()
        if missing:
            for n in await self._load(list(missing)):
                self.nodes[n.id] = n

    async def _load_trees(self, roots: Sequence[int]) -> dict[int, list[_Node]]:
        ids = list(await self.s.scalars(select(ResourceProvider.id)
                                        .where(ResourceProvider.root_provider_id.in_(roots))))
        trees: dict[int, list[_Node]] = defaultdict(list)
        for n in await self._load(ids):
            trees[n.root].append(n)
        return trees

    async def _load(self, ids: list[int]) -> list[_Node]:
        s = self.s
        nodes: dict[int, _Node] = {}
        for chunk in _chunks(ids):
            for pid, uuid, parent, root in (await s.execute(
                    select(ResourceProvider.id, ResourceProvider.uuid,
                           ResourceProvider.parent_provider_id, ResourceProvider.root_provider_id)
                    .where(ResourceProvider.id.in_(chunk)))):
                nodes[pid] = _Node(pid, uuid, parent, root or pid)
            for inv in await s.scalars(select(Inventory)
                                       .where(Inventory.resource_provider_id.in_(chunk))):
                nodes[inv.resource_provider_id].inventory[inv.resource_class] = _Inv(
                    inv.total, inv.reserved, inv.min_unit, inv.max_unit, inv.step_size,
                    inv.allocation_ratio)
            for pid, rc, used in (await s.execute(
                    used_subquery().where(Allocation.resource_provider_id.in_(chunk)))):
                nodes[pid].used[rc] = int(used)
        traits = await traits_of(s, list(nodes))
        aggs = await aggregates_of(s, list(nodes))
        for pid, node in nodes.items():
            node.traits = traits.get(pid, frozenset())
            node.aggregates = aggs.get(pid, frozenset())
        self.nodes.update(nodes)
        return list(nodes.values())

    # -- one tree --
    def _tree_requests(self, root: int, members: list[_Node]) -> Iterable[AllocationRequest]:
        req = self.req
        root_node = self.nodes.get(root)
        if root_node is None:
            return
        if req.root_required and not req.root_required.matches(root_node.traits):
            return
        tree_aggs = {a for n in members for a in n.aggregates}
        shared = [n for n in self.sharing.values()
                  if n.root != root and not n.aggregates.isdisjoint(tree_aggs)]
        pool = [n for n in members if n.id not in self.sharing or n.root == root] + shared
        in_tree_roots: dict[str, int | None] = {}
        for g in req.groups.values():
            if g.in_tree is not None:
                in_tree_roots[g.suffix] = next((n.root for n in self.nodes.values()
                                                if n.uuid == g.in_tree), -1)
        # each group's options: a tuple of (provider, class, amount) choices
        options: list[tuple[str, list[list[tuple[_Node, str, int]]]]] = []
        for suffix, g in sorted(req.groups.items()):
            want_root = in_tree_roots.get(suffix)
            candidates = [n for n in pool if want_root is None or n.root == want_root]
            if suffix:
                picks = [[(n, rc, a) for rc, a in g.resources.items()] if g.resources
                         else [(n, "", 0)] for n in candidates
                         if all(n.room(rc, a) for rc, a in g.resources.items())
                         and g.required.matches(n.traits) and g.member_of.matches(n.aggregates)]
            else:
                if not g.resources:
                    continue
                per_rc = []
                for rc, a in sorted(g.resources.items()):
                    per_rc.append([(n, rc, a) for n in candidates if n.room(rc, a)
                                   and g.required.forbidden.isdisjoint(n.traits)
                                   and g.member_of.matches(
                                       n.aggregates | self._root_aggs(n))])
                picks = [list(combo) for combo in itertools.product(*per_rc)]
            if not picks:
                return
            options.append((suffix, picks))
        tried = 0
        for combo in itertools.product(*(picks for _, picks in options)):
            tried += 1
            if tried > MAX_COMBINATIONS_PER_TREE:
                return
            ar = self._check(combo, [suffix for suffix, _ in options])
            if ar is not None:
                yield ar

    def _root_aggs(self, n: _Node) -> frozenset[str]:
        root = self.nodes.get(n.root)
        return root.aggregates if root else frozenset()

    def _check(self, combo: tuple[list[tuple[_Node, str, int]], ...], suffixes: list[str]
               ) -> AllocationRequest | None:
        req = self.req
        totals: dict[tuple[int, str], int] = defaultdict(int)
        by_id: dict[int, _Node] = {}
        mappings: dict[str, list[str]] = {}
        group_providers: dict[str, set[int]] = {}
        for suffix, picks in zip(suffixes, combo, strict=True):
            ids = {n.id for n, _, _ in picks}
            group_providers[suffix] = ids
            mappings[suffix] = sorted({n.uuid for n, _, _ in picks})
            for n, rc, a in picks:
                by_id[n.id] = n
                if rc:
                    totals[(n.id, rc)] += a
        if req.group_policy == "isolate":
            numbered = [ids for suffix, ids in group_providers.items() if suffix]
            flat = [i for ids in numbered for i in ids]
            if len(flat) != len(set(flat)):
                return None
        for (pid, rc), amount in totals.items():
            node = by_id[pid]
            inv = node.inventory[rc]
            if node.used.get(rc, 0) + amount > (inv.total - inv.reserved) * inv.ratio:
                return None
        unnumbered = req.groups.get("")
        if unnumbered is not None and unnumbered.required.all_of:
            serving = group_providers.get("") or set(by_id)
            have = frozenset(t for pid in serving for t in by_id[pid].traits)
            if not all(not s.isdisjoint(have) for s in unnumbered.required.all_of):
                return None
        for names in req.same_subtree:
            chosen = [by_id[i] for suffix in names for i in group_providers.get(suffix, ())]
            if chosen and not any(all(self._is_ancestor(a, b) for b in chosen) for a in chosen):
                return None
        allocations: dict[str, dict[str, int]] = defaultdict(dict)
        for (pid, rc), amount in totals.items():
            allocations[by_id[pid].uuid][rc] = amount
        return AllocationRequest(dict(allocations), mappings)

    def _is_ancestor(self, a: _Node, b: _Node) -> bool:
        """Whether `a` is `b` or above it."""
        node: _Node | None = b
        while node is not None:
            if node.id == a.id:
                return True
            node = self.nodes.get(node.parent) if node.parent is not None else None
        return False


async def _roots_in_aggregates(s: AsyncSession, aggs: set[str]) -> list[int]:
    rows = await s.scalars(select(ResourceProvider.root_provider_id)
                           .join(ProviderAggregate,
                                 ProviderAggregate.resource_provider_id == ResourceProvider.id)
                           .where(ProviderAggregate.aggregate_uuid.in_(aggs)).distinct())
    return [r for r in rows if r]
