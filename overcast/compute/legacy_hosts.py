"""os-hosts (deprecated at 2.43): the hosts of the services, a host's resources by project, and
its enable/disable switch. Nova asks the host's virt driver for status, maintenance and power;
here a host's scheduling switch is its nova-compute service's `disabled` flag (what
os-services sets), and maintenance and power actions are the answer of the drivers that have
none (Nova's libvirt driver): 501. The host must exist first (404), as in Nova.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.compute.hosts import Hosts
from overcast.compute.instance_models import Instance
from overcast.compute.models import ComputeNode, Service

__all__ = ["HostEntry", "LegacyHosts"]

#: The API services Nova leaves out of the list (they have no host role).
_API_BINARIES = ("nova-osapi_compute", "nova-metadata")
NOT_SUPPORTED = "The requested functionality is not supported."


@dataclass(frozen=True)
class HostEntry:
    host_name: str
    service: str
    zone: str


class LegacyHosts:
    def __init__(self, db: Database, hosts: Hosts):
        self.db = db
        self.hosts = hosts

    async def entries(self, ctx: RequestContext, zone: str | None) -> list[HostEntry]:
        """Enabled services' hosts (Nova lists `disabled=False` only), of `zone` if given."""
        ctx.enforce("os_compute_api:os-hosts:list", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            zones = await self.hosts.host_zones(s)
            rows = (await s.scalars(select(Service).where(Service.disabled.is_(False))
                                    .order_by(Service.id))).all()
        out = []
        for svc in rows:
            if svc.binary in _API_BINARIES:
                continue
            entry = HostEntry(svc.host, svc.topic or svc.binary.removeprefix("nova-"),
                              self.hosts.zone_of(svc, zones))
            if not zone or entry.zone == zone:
                out.append(entry)
        return out

    async def _compute_service(self, s: AsyncSession, host: str) -> Service:
        svc: Service | None = await s.scalar(select(Service).where(Service.host == host,
                                                   Service.binary == "nova-compute"))
        if svc is None:
            raise faults.NotFound(f"Compute host {host} could not be found.")
        return svc

    async def resources(self, ctx: RequestContext, host: str) -> list[dict[str, Any]]:
        """(total), (used_now), (used_max) and one entry per project with servers there."""
        ctx.enforce("os_compute_api:os-hosts:show", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            node = await s.scalar(select(ComputeNode).where(ComputeNode.host == host)
                                  .order_by(ComputeNode.id).limit(1))
            if node is None:
                raise faults.NotFound(f"Compute host {host} could not be found.")
            flavors = (await s.scalars(select(Instance).where(
                Instance.host == host, Instance.deleted.is_(False)).order_by(Instance.id))).all()
            used = [(i.project_id, i.flavor) for i in flavors]

        def entry(project: str, cpu: int, mem: int, disk: int) -> dict[str, Any]:
            return {"resource": {"host": host, "project": project, "cpu": cpu,
                                 "memory_mb": mem, "disk_gb": disk}}

        def size(f: dict[str, Any]) -> tuple[int, int, int]:
            return (int(f.get("vcpus") or 0), int(f.get("memory_mb") or 0),
                    int(f.get("root_gb") or 0) + int(f.get("ephemeral_gb") or 0))

        out = [entry("(total)", node.vcpus, node.memory_mb, node.local_gb),
               entry("(used_now)", node.vcpus_used, node.memory_mb_used, node.local_gb_used)]
        sums = [sum(size(f)[k] for _, f in used) for k in range(3)]
        out.append(entry("(used_max)", *sums))
        by_project: dict[str, list[int]] = {}
        for project, f in used:
            acc = by_project.setdefault(project, [0, 0, 0])
            for k, v in enumerate(size(f)):
                acc[k] += v
        out.extend(entry(p, *v) for p, v in by_project.items())
        return out

    async def set_enabled(self, ctx: RequestContext, host: str, enabled: bool) -> str:
        """The host takes new servers or not: its nova-compute service's switch."""
        async with self.db.transaction() as s:
            svc = await self._compute_service(s, host)
            svc.disabled = not enabled
            svc.disabled_reason = None
            svc.updated_at = utcnow()
        return "enabled" if enabled else "disabled"

    async def check_exists(self, host: str) -> None:
        async with self.db.read() as s:
            await self._compute_service(s, host)
