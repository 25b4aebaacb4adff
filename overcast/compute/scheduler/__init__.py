"""The scheduler: where each instance of a request goes (Nova's filter scheduler).

    candidates  Placement's allocation candidates for the flavor's VCPU/MEMORY_MB/DISK_GB
                (or, without Placement, the host view's own free-resource accounting)
    filters     ComputeFilter, AvailabilityZoneFilter, ImagePropertiesFilter,
                ServerGroupAffinity/AntiAffinity, same_host/different_host, zone:host
    weighers    RAM, CPU, disk (multipliers from config)
    claim       the allocation is written (Placement: PUT /allocations/{consumer}) before the
                boot goes to the host; a claim conflict (another scheduler won the race) tries
                the next host; the hosts after the chosen one are the alternates a failed boot
                is retried on.

`NoValidHost` carries Nova's message ("No valid host was found. ..."), which becomes the
instance's fault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from overcast.compute.messages import DesiredFlavor, DesiredImage
from overcast.compute.scheduler.filters import DEFAULT_FILTERS, Filter
from overcast.compute.scheduler.host_view import HostState, HostView, Usage
from overcast.compute.scheduler.weighers import Weigher, default_weighers, weigh

__all__ = ["Claims", "HostState", "HostView", "LocalClaims", "NoValidHost", "PlacementClaims",
           "RequestSpec",
           "Scheduler", "Selection", "Usage", "usage_of"]

log = logging.getLogger("overcast.compute.scheduler")

#: How many alternates each selection carries (Nova's max_attempts - 1).
ALTERNATES = 2


class NoValidHost(Exception):
    def __init__(self, reason: str = ""):
        super().__init__(f"No valid host was found. {reason}".strip())


@dataclass
class RequestSpec:
    project_id: str
    user_id: str
    flavor: DesiredFlavor
    image: DesiredImage | None = None
    availability_zone: str | None = None
    force_host: str | None = None
    force_node: str | None = None
    group_policy: str | None = None
    group_hosts: set[str] = field(default_factory=set)
    same_host: set[str] = field(default_factory=set)
    different_host: set[str] = field(default_factory=set)
    ignore_hosts: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Selection:
    host: str
    node: str
    provider_uuid: str


def usage_of(flavor: DesiredFlavor) -> Usage:
    return Usage(vcpus=flavor.vcpus, memory_mb=flavor.memory_mb,
                 disk_gb=flavor.root_gb + flavor.ephemeral_gb + (flavor.swap + 1023) // 1024)


def resources_of(flavor: DesiredFlavor) -> dict[str, int]:
    """Placement resource classes for a flavor (Nova's resources_from_flavor)."""
    u = usage_of(flavor)
    res = {"VCPU": u.vcpus, "MEMORY_MB": u.memory_mb}
    if u.disk_gb:
        res["DISK_GB"] = u.disk_gb
    return res


class Claims(Protocol):
    """Where capacity is decided and recorded."""

    async def candidates(self, view: HostView, need: Usage, resources: dict[str, int],
                         limit: int) -> list[HostState]: ...

    async def claim(self, consumer: str, host: HostState, resources: dict[str, int],
                    project_id: str, user_id: str) -> bool: ...

    async def release(self, consumer: str) -> None: ...


class LocalClaims:
    """Capacity from the host view's own ledger: one process, no Placement (simulated clouds
    and tests). The ledger is written by the caller on success (`view.add_usage`)."""

    async def candidates(self, view: HostView, need: Usage, resources: dict[str, int],
                         limit: int) -> list[HostState]:
        return [h for h in view.hosts() if h.fits(need)]

    async def claim(self, consumer: str, host: HostState, resources: dict[str, int],
                    project_id: str, user_id: str) -> bool:
        return host.fits(Usage(resources.get("VCPU", 0), resources.get("MEMORY_MB", 0),
                               resources.get("DISK_GB", 0)))

    async def release(self, consumer: str) -> None:
        return None


class PlacementClaims:
    """Capacity from Placement: allocation candidates, then a claim per instance. When
    Placement cannot be reached (it starts beside us in `overcast up`), the local ledger
    decides, so a boot does not fail for a service that is a second late."""

    def __init__(self, client: Any):
        self.client = client
        self.local = LocalClaims()
        #: Whether a host's provider and inventory are in Placement yet (the conductor says).
        self.synced: Callable[[str], bool] = lambda host: True

    async def candidates(self, view: HostView, need: Usage, resources: dict[str, int],
                         limit: int) -> list[HostState]:
        try:
            found = await self.client.allocation_candidates(resources, limit=limit)
        except Exception as exc:
            log.warning("allocation candidates from Placement failed (%s); using the local "
                        "view", exc)
            return await self.local.candidates(view, need, resources, limit)
        uuids: list[str] = []
        for req in found.allocation_requests:
            for uuid in req:
                if uuid not in uuids:
                    uuids.append(uuid)
        by_uuid = {h.provider_uuid: h for h in view.hosts()}
        hosts = [by_uuid[u] for u in uuids if u in by_uuid]
        # Hosts whose inventory has not reached Placement yet are judged by the local ledger.
        return hosts + [h for h in view.hosts() if not self.synced(h.host) and h.fits(need)]

    async def claim(self, consumer: str, host: HostState, resources: dict[str, int],
                    project_id: str, user_id: str) -> bool:
        if not self.synced(host.host):
            return await self.local.claim(consumer, host, resources, project_id, user_id)
        try:
            return bool(await self.client.claim(consumer, {host.provider_uuid: resources},
                                                project_id, user_id))
        except Exception as exc:
            log.warning("claim in Placement failed (%s); using the local view", exc)
            return await self.local.claim(consumer, host, resources, project_id, user_id)

    async def release(self, consumer: str) -> None:
        try:
            await self.client.delete_allocations(consumer)
        except Exception as exc:
            log.warning("allocations of %s not deleted in Placement: %s", consumer, exc)

    async def replace(self, consumer: str, host: HostState, resources: dict[str, int]) -> None:
        """A resize: the consumer now holds `resources` on the same provider."""
        try:
            current = await self.client.allocations(consumer)
            await self.client.claim(consumer, {host.provider_uuid: resources},
                                    current.get("project_id", ""), current.get("user_id", ""),
                                    consumer_generation=current.get("consumer_generation"))
        except Exception as exc:
            log.warning("allocations of %s not resized in Placement: %s", consumer, exc)


class Scheduler:
    def __init__(self, view: HostView, claims: Claims, *,
                 filters: Sequence[Filter] = DEFAULT_FILTERS,
                 weighers: Sequence[Weigher] | None = None, candidate_limit: int = 1000):
        self.view = view
        self.claims = claims
        self.filters = list(filters)
        self.weighers = list(weighers) if weighers is not None else default_weighers()
        self.candidate_limit = candidate_limit

    def _filter(self, hosts: Sequence[HostState], spec: RequestSpec) -> list[HostState]:
        down = self.view.service_down_time
        return [h for h in hosts if all(f(h, spec, down) for f in self.filters)]

    async def select(self, spec: RequestSpec, instance_uuids: Sequence[str]
                     ) -> list[list[Selection]]:
        """Choose and claim a host for each instance; each answer is [chosen, *alternates].

        All or nothing: when one instance finds no host, the claims made for the others of the
        request are released and NoValidHost is raised (Nova's multi-create)."""
        need = usage_of(spec.flavor)
        resources = resources_of(spec.flavor)
        chosen: list[list[Selection]] = []
        try:
            for uuid in instance_uuids:
                hosts = await self.claims.candidates(self.view, need, resources,
                                                     self.candidate_limit)
                ranked = weigh(self._filter(hosts, spec), self.weighers)
                if not ranked:
                    raise NoValidHost(
                        "There are not enough hosts available." if hosts else "")
                picked: HostState | None = None
                rest: list[HostState] = []
                for i, host in enumerate(ranked):
                    if await self.claims.claim(uuid, host, resources, spec.project_id,
                                               spec.user_id):
                        picked = host
                        rest = ranked[i + 1:i + 1 + ALTERNATES]
                        break
                    log.info("claim for %s on %s lost a race; trying the next host", uuid,
                             host.host)
                if picked is None:
                    raise NoValidHost("There are not enough hosts available.")
                self.view.add_usage(picked.host, uuid, need)
                if spec.group_policy == "affinity":
                    spec.group_hosts.add(picked.host)
                elif spec.group_policy == "anti-affinity":
                    spec.group_hosts.add(picked.host)
                chosen.append([Selection(h.host, h.node, h.provider_uuid)
                               for h in (picked, *rest)])
        except NoValidHost:
            for uuid in instance_uuids[:len(chosen)]:
                await self.release(uuid)
            raise
        return chosen

    async def claim_on(self, uuid: str, sel: Selection, spec: RequestSpec) -> bool:
        """Claim an alternate chosen earlier (a reschedule)."""
        host = self.view.get(sel.host)
        if host is None or not self._filter([host], spec):
            return False
        if not await self.claims.claim(uuid, host, resources_of(spec.flavor), spec.project_id,
                                       spec.user_id):
            return False
        self.view.add_usage(host.host, uuid, usage_of(spec.flavor))
        return True

    async def release(self, uuid: str, host: str | None = None) -> None:
        self.view.remove_usage(uuid, host)
        await self.claims.release(uuid)

    async def resized(self, uuid: str, host: str, flavor: DesiredFlavor) -> None:
        """The instance holds `flavor` on `host` now (a resize finished or was reverted)."""
        self.view.add_usage(host, uuid, usage_of(flavor))
        state = self.view.get(host)
        if state is not None and isinstance(self.claims, PlacementClaims):
            await self.claims.replace(uuid, state, resources_of(flavor))
