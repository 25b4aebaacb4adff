"""Compute hosts: the services that run on them (os-services), their hypervisors
(os-hypervisors) and the availability zones they fall in (os-availability-zone).

The conductor calls `register_host`, `update_resources`, `heartbeat` and `register_service`
for the agents, which never touch the database (COMPUTE.md "Hosts"). A service is up while
its last heartbeat is younger than `[compute] service_down_time` and it is not forced down.
A host's zone is the `availability_zone` metadata of an aggregate it belongs to, else
`[compute] default_availability_zone`; services other than nova-compute are in the internal zone.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.compute.models import AggregateHost, AggregateMetadata, ComputeNode, Service
from overcast.config import ComputeSection

__all__ = ["HostServers", "Hosts", "Hypervisor", "Registered", "ServiceView"]

#: Ids beyond this are looked up as _MAX_ID + 1 (the column's largest value, never given out
#: here): no such row, rather than an integer the database refuses.
_MAX_ID = 2_147_483_646

#: host -> [(server uuid, server name)] on it: the servers side's answer, for os-hypervisors.
HostServers = Callable[[Sequence[str]], Awaitable[dict[str, list[tuple[str, str]]]]]
#: Whether a compute host still has servers (a service with servers cannot be deleted).
HostBusy = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True)
class Registered:
    """What `register_host` made or found: ids the agent reports with afterwards."""

    service_id: int
    service_uuid: str
    node_uuid: str


@dataclass(frozen=True)
class ServiceView:
    service: Service
    zone: str
    up: bool


@dataclass(frozen=True)
class Hypervisor:
    node: ComputeNode
    service: Service | None
    up: bool
    servers: list[tuple[str, str]] = field(default_factory=list)


class Hosts:
    def __init__(self, db: Database, config: ComputeSection):
        self.db = db
        self.config = config
        self._servers: HostServers | None = None
        self._busy: HostBusy | None = None

    def set_server_source(self, servers: HostServers, busy: HostBusy) -> None:
        """The servers side tells which servers run on a host."""
        self._servers, self._busy = servers, busy

    # -- the conductor's side --
    async def register_service(self, host: str, binary: str, topic: str | None = None,
                               down_reason: str | None = None) -> Service:
        """Create or refresh a service row (nova-scheduler, nova-conductor, nova-compute)."""
        now = utcnow()
        async with self.db.transaction() as s:
            svc = await self._service(s, host, binary)
            if svc is None:
                svc = Service(uuid=str(uuid.uuid4()), host=host, binary=binary,
                              topic=topic or binary.removeprefix("nova-"), report_count=0,
                              disabled=False, forced_down=False, version=1, created_at=now)
                s.add(svc)
            svc.down_reason = down_reason
            svc.last_seen_up = now
            svc.updated_at = now
            svc.report_count += 1
            await s.flush()
            return svc

    async def register_host(
        self, host: str, *, hypervisor_hostname: str | None = None,
        hypervisor_type: str = "QEMU", hypervisor_version: int = 0, host_ip: str | None = None,
        vcpus: int = 0, memory_mb: int = 0, local_gb: int = 0,
        cpu_info: dict[str, Any] | None = None, node_uuid: str | None = None,
        cpu_allocation_ratio: float = 16.0, ram_allocation_ratio: float = 1.5,
        disk_allocation_ratio: float = 1.0, down_reason: str | None = None,
    ) -> Registered:
        """A compute agent starts: its nova-compute service and compute node, made or
        refreshed (idempotent; the node keeps its uuid, the Placement provider's)."""
        svc = await self.register_service(host, "nova-compute", "compute", down_reason)
        nodename = hypervisor_hostname or host
        now = utcnow()
        async with self.db.transaction() as s:
            node = (await s.execute(select(ComputeNode).where(
                ComputeNode.host == host, ComputeNode.hypervisor_hostname == nodename))
                    ).scalar_one_or_none()
            if node is None:
                node = ComputeNode(uuid=node_uuid or str(uuid.uuid4()), host=host,
                                   hypervisor_hostname=nodename, created_at=now)
                s.add(node)
            node.service_id = svc.id
            node.hypervisor_type = hypervisor_type
            node.hypervisor_version = hypervisor_version
            node.host_ip = host_ip
            node.vcpus, node.memory_mb, node.local_gb = vcpus, memory_mb, local_gb
            node.cpu_info = cpu_info or {}
            node.cpu_allocation_ratio = cpu_allocation_ratio
            node.ram_allocation_ratio = ram_allocation_ratio
            node.disk_allocation_ratio = disk_allocation_ratio
            node.updated_at = now
            await s.flush()
            return Registered(svc.id, svc.uuid, node.uuid)

    async def update_resources(self, host: str, hypervisor_hostname: str | None = None, *,
                               vcpus_used: int, memory_mb_used: int, local_gb_used: int,
                               running_vms: int, current_workload: int = 0,
                               disk_available_least: int | None = None,
                               uptime: str | None = None) -> None:
        """An agent's periodic report of what its guests use."""
        async with self.db.transaction() as s:
            node = (await s.execute(select(ComputeNode).where(
                ComputeNode.host == host,
                ComputeNode.hypervisor_hostname == (hypervisor_hostname or host)))
                    ).scalar_one_or_none()
            if node is None:
                raise faults.NotFound(f"Compute host {host} could not be found.")
            node.vcpus_used, node.memory_mb_used = vcpus_used, memory_mb_used
            node.local_gb_used, node.running_vms = local_gb_used, running_vms
            node.current_workload = current_workload
            node.disk_available_least = disk_available_least
            node.uptime = uptime
            node.updated_at = utcnow()

    async def heartbeat(self, host: str, binary: str = "nova-compute",
                        down_reason: str | None = None) -> None:
        """A service says it is alive (and, when it cannot work, why)."""
        now = utcnow()
        async with self.db.transaction() as s:
            svc = await self._service(s, host, binary)
            if svc is None:
                raise faults.NotFound(f"Service {binary} on host {host} could not be found.")
            svc.last_seen_up = now
            svc.updated_at = now
            svc.down_reason = down_reason
            svc.report_count += 1

    # -- reads every caller shares --
    def is_up(self, svc: Service) -> bool:
        if svc.forced_down or svc.last_seen_up is None or svc.down_reason:
            return False
        return utcnow() - svc.last_seen_up <= timedelta(seconds=self.config.service_down_time)

    @staticmethod
    async def _service(s: AsyncSession, host: str, binary: str) -> Service | None:
        return (await s.execute(select(Service).where(
            Service.host == host, Service.binary == binary))).scalar_one_or_none()

    async def host_zones(self, s: AsyncSession) -> dict[str, str]:
        """host -> availability zone, for hosts in an aggregate with a zone."""
        rows = await s.execute(
            select(AggregateHost.host, AggregateMetadata.value)
            .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
            .where(AggregateMetadata.key == "availability_zone"))
        zones: dict[str, str] = {}
        for host, zone in rows:
            zones.setdefault(host, zone)
        return zones

    def zone_of(self, svc: Service, zones: dict[str, str]) -> str:
        """A service's zone, given `host_zones`."""
        return self._zone(svc, zones)

    def _zone(self, svc: Service, zones: dict[str, str]) -> str:
        if svc.binary != "nova-compute":
            return self.config.internal_service_availability_zone
        return zones.get(svc.host, self.config.default_availability_zone)

    async def availability_zone(self, host: str) -> str:
        """The zone of a compute host (the servers side: a server's OS-EXT-AZ)."""
        async with self.db.read() as s:
            return (await self.host_zones(s)).get(host, self.config.default_availability_zone)

    async def compute_hosts(self, *, enabled_and_up: bool = True) -> list[ServiceView]:
        """The nova-compute services, by default only those the scheduler may use."""
        async with self.db.read() as s:
            zones = await self.host_zones(s)
            rows = (await s.execute(select(Service).where(Service.binary == "nova-compute")
                                    .order_by(Service.id))).scalars()
            views = [ServiceView(v, self._zone(v, zones), self.is_up(v)) for v in rows]
        if enabled_and_up:
            views = [v for v in views if v.up and not v.service.disabled]
        return views

    # -- os-services --
    async def services(self, ctx: RequestContext, host: str | None = None,
                       binary: str | None = None) -> list[ServiceView]:
        ctx.enforce("os_compute_api:os-services:list", {"project_id": ctx.project_id})
        query = select(Service).order_by(Service.id)
        if host is not None:
            query = query.where(Service.host == host)
        if binary is not None:
            query = query.where(Service.binary == binary)
        async with self.db.read() as s:
            zones = await self.host_zones(s)
            return [ServiceView(v, self._zone(v, zones), self.is_up(v))
                    for v in (await s.execute(query)).scalars()]

    async def update_service(self, ctx: RequestContext, *, service_id: str | None = None,
                             host: str | None = None, binary: str | None = None,
                             disabled: bool | None = None, disabled_reason: str | None = None,
                             forced_down: bool | None = None) -> ServiceView:
        """Enable, disable (with a reason) or force down a service, found by its uuid (2.53)
        or by host and binary (before)."""
        ctx.enforce("os_compute_api:os-services:update", {"project_id": ctx.project_id})
        async with self.db.transaction() as s:
            if service_id is not None:
                svc = (await s.execute(select(Service).where(Service.uuid == service_id))
                       ).scalar_one_or_none()
                if svc is None:
                    raise faults.NotFound(f"Service {service_id} could not be found.")
            else:
                assert host is not None and binary is not None
                svc = await self._service(s, host, binary)
                if svc is None:
                    if binary != "nova-compute":
                        raise faults.BadRequest(f"Updating a {binary} service is not "
                                                "supported. Only nova-compute services can "
                                                "be updated.")
                    raise faults.NotFound(f"Host '{host}' is not mapped to any cell")
            if svc.binary != "nova-compute":
                raise faults.BadRequest(f"Updating a {svc.binary} service is not supported. "
                                        "Only nova-compute services can be updated.")
            if disabled is not None:
                svc.disabled = disabled
                svc.disabled_reason = disabled_reason if disabled else None
            if forced_down is not None:
                svc.forced_down = forced_down
            svc.updated_at = utcnow()
            await s.flush()
            zones = await self.host_zones(s)
            return ServiceView(svc, self._zone(svc, zones), self.is_up(svc))

    async def delete_service(self, ctx: RequestContext, service_id: str, *, by_uuid: bool
                             ) -> None:
        """Delete a service; a compute service takes its compute nodes and aggregate
        memberships with it, and may not go while servers run on its host (409)."""
        ctx.enforce("os_compute_api:os-services:delete", {"project_id": ctx.project_id})
        async with self.db.transaction() as s:
            if by_uuid:
                where = Service.uuid == service_id
            elif service_id.isdigit():
                where = Service.id == min(int(service_id), _MAX_ID + 1)
            else:
                raise faults.BadRequest(f"Invalid uuid {service_id}")
            svc = (await s.execute(select(Service).where(where))).scalar_one_or_none()
            if svc is None:
                raise faults.NotFound(f"Service {service_id} not found.")
            if svc.binary == "nova-compute":
                if self._busy is not None and await self._busy(svc.host):
                    raise faults.Conflict("Unable to delete compute service that is hosting "
                                          "instances. Migrate or delete the instances first.")
                await s.execute(delete(ComputeNode).where(ComputeNode.service_id == svc.id))
                await s.execute(delete(AggregateHost).where(AggregateHost.host == svc.host))
            await s.delete(svc)

    # -- os-hypervisors --
    async def hypervisors(self, ctx: RequestContext, rule: str, *,
                          hostname_pattern: str | None = None, exact: str | None = None,
                          node_id: str | None = None, by_uuid: bool = False,
                          with_servers: bool = False, limit: int | None = None,
                          marker: str | None = None) -> list[Hypervisor]:
        """Hypervisors (compute nodes) with their service, by id or uuid, a hostname
        substring (`hostname_pattern`) or an exact name; `with_servers` asks the servers
        side what runs on them."""
        ctx.enforce(rule, {"project_id": ctx.project_id})
        query = select(ComputeNode).order_by(ComputeNode.id)
        if hostname_pattern is not None:
            query = query.where(ComputeNode.hypervisor_hostname.contains(
                hostname_pattern, autoescape=True))
        if exact is not None:
            query = query.where(ComputeNode.hypervisor_hostname == exact)
        if node_id is not None:
            if by_uuid:
                query = query.where(ComputeNode.uuid == node_id)
            elif node_id.isdigit():
                query = query.where(ComputeNode.id == min(int(node_id), _MAX_ID + 1))
            else:
                raise faults.NotFound(f"Hypervisor with ID '{node_id}' could not be found.")
        async with self.db.read() as s:
            if marker is not None:
                m = select(ComputeNode.id).where(ComputeNode.uuid == marker if by_uuid
                                                 else ComputeNode.id == _int_or(marker))
                after = (await s.execute(m)).scalar_one_or_none()
                if after is None:
                    raise faults.BadRequest(f"marker [{marker}] not found")
                query = query.where(ComputeNode.id > after)
            if limit is not None:
                query = query.limit(limit)
            nodes = list((await s.execute(query)).scalars())
            ids = {n.service_id for n in nodes if n.service_id is not None}
            services = {v.id: v for v in (await s.execute(
                select(Service).where(Service.id.in_(ids)))).scalars()} if ids else {}
        on_host: dict[str, list[tuple[str, str]]] = {}
        if with_servers and self._servers is not None and nodes:
            on_host = await self._servers(sorted({n.host for n in nodes}))
        out = []
        for n in nodes:
            svc = services.get(n.service_id) if n.service_id is not None else None
            out.append(Hypervisor(n, svc, svc is not None and self.is_up(svc),
                                  on_host.get(n.host, [])))
        return out

    # -- os-availability-zone --
    async def zones(self, ctx: RequestContext, *, detail: bool
                    ) -> list[tuple[str, bool, dict[str, list[ServiceView]]]]:
        """(zone, available, {host: services}) for every zone with a service; a zone is
        available when one of its services is enabled. The internal zone only in detail."""
        ctx.enforce("os_compute_api:os-availability-zone:detail" if detail else
                    "os_compute_api:os-availability-zone:list", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            zones = await self.host_zones(s)
            services = list((await s.execute(select(Service).order_by(Service.id))).scalars())
        by_zone: dict[str, dict[str, list[ServiceView]]] = {}
        enabled: dict[str, bool] = {}
        for svc in services:
            zone = self._zone(svc, zones)
            if not detail and zone == self.config.internal_service_availability_zone:
                continue
            by_zone.setdefault(zone, {}).setdefault(svc.host, []).append(
                ServiceView(svc, zone, self.is_up(svc)))
            enabled[zone] = enabled.get(zone, False) or not svc.disabled
        return [(zone, enabled[zone], hosts) for zone, hosts in sorted(by_zone.items())]


def _int_or(value: str) -> int:
    return int(value) if value.isdigit() and int(value) <= _MAX_ID else -1
