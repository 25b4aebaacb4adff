"""Block storage services (os-services): cinder-scheduler and each volume agent
(`host@backend`), with their capability reports; up while their last report is younger than
`[volume] service_down_time`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import VolumeSection
from overcast.volume.models import Service, Volume

__all__ = ["Hosts", "Pool", "ServiceView"]


@dataclass(frozen=True)
class ServiceView:
    service: Service
    up: bool


@dataclass(frozen=True)
class Pool:
    """A pool the scheduler may place a volume in: `host@backend#pool` and its capacity."""

    name: str
    availability_zone: str
    total_capacity_gb: float
    free_capacity_gb: float
    provisioned_capacity_gb: float
    reserved_percentage: int
    max_over_subscription_ratio: float
    thin_provisioning_support: bool


class Hosts:
    def __init__(self, db: Database, config: VolumeSection):
        self.db = db
        self.config = config

    def _up(self, svc: Service) -> bool:
        seen = svc.updated_at or svc.created_at
        return utcnow() - seen < timedelta(seconds=self.config.service_down_time)

    async def report(self, host: str, binary: str, zone: str,
                     capabilities: dict[str, Any] | None = None) -> None:
        """A heartbeat: create or refresh the service row (idempotent)."""
        now = utcnow()
        async with self.db.transaction() as s:
            svc = await s.scalar(select(Service).where(Service.host == host,
                                                       Service.binary == binary))
            if svc is None:
                svc = Service(uuid=str(uuid.uuid4()), host=host, binary=binary,
                              availability_zone=zone, disabled=False, frozen=False,
                              capabilities={}, created_at=now)
                s.add(svc)
            svc.availability_zone = zone
            if capabilities is not None:
                svc.capabilities = capabilities
            svc.updated_at = now

    async def pools(self) -> list[Pool]:
        """Every pool of an enabled, up volume agent, with what its volumes provision."""
        async with self.db.read() as s:
            services = (await s.scalars(select(Service).where(
                Service.binary == "cinder-volume"))).all()
            provisioned: dict[str | None, int] = {
                h: int(n or 0) for h, n in (await s.execute(
                    select(Volume.host, func.sum(Volume.size)).group_by(Volume.host))).all()}
        out = []
        for svc in services:
            if svc.disabled or not self._up(svc):
                continue
            for pool in svc.capabilities.get("pools", []):
                name = f"{svc.host}#{pool['pool_name']}"
                out.append(Pool(
                    name=name, availability_zone=svc.availability_zone,
                    total_capacity_gb=float(pool.get("total_capacity_gb", 0)),
                    free_capacity_gb=float(pool.get("free_capacity_gb", 0)),
                    provisioned_capacity_gb=float(provisioned.get(name) or 0),
                    reserved_percentage=int(pool.get("reserved_percentage", 0)),
                    max_over_subscription_ratio=float(
                        pool.get("max_over_subscription_ratio", 1.0)),
                    thin_provisioning_support=bool(pool.get("thin_provisioning_support"))))
        return out

    async def zones(self) -> list[tuple[str, bool]]:
        """(zone, available) of every volume agent's zone."""
        async with self.db.read() as s:
            services = (await s.scalars(select(Service).where(
                Service.binary == "cinder-volume"))).all()
        zones: dict[str, bool] = {}
        for svc in services:
            zones[svc.availability_zone] = zones.get(svc.availability_zone, False) or (
                not svc.disabled and self._up(svc))
        return sorted(zones.items())

    async def services(self, ctx: RequestContext, host: str | None, binary: str | None
                       ) -> list[ServiceView]:
        ctx.enforce("volume_extension:services:index", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            q = select(Service).order_by(Service.id)
            if host:
                q = q.where(Service.host == host)
            if binary:
                q = q.where(Service.binary == binary)
            rows = (await s.scalars(q)).all()
        return [ServiceView(r, self._up(r)) for r in rows]

    async def set_disabled(self, ctx: RequestContext, host: str, binary: str, disabled: bool,
                           reason: str | None) -> ServiceView:
        ctx.enforce("volume_extension:services:update", {"project_id": ctx.project_id})
        async with self.db.transaction() as s:
            svc = await s.scalar(select(Service).where(Service.host == host,
                                                       Service.binary == binary))
            if svc is None:
                raise faults.NotFound(f"Service {binary} on host {host} could not be found.")
            svc.disabled = disabled
            svc.disabled_reason = reason if disabled else None
            svc.updated_at = svc.updated_at or utcnow()
            return ServiceView(svc, self._up(svc))
