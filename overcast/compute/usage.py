"""Simple tenant usage: what each project's servers consumed over a period (Nova's
os-simple-tenant-usage). A server counts when it ran at some point of the period: launched
before its end and not terminated before its start, deleted servers included. Its hours are
the part of the period it ran; the totals are flavor size times hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from overcast.common import clock, faults
from overcast.common.db import Database
from overcast.compute.instance_models import Instance

__all__ = ["ServerUsage", "TenantUsage", "usages"]


@dataclass
class ServerUsage:
    instance_id: str
    name: str
    tenant_id: str
    flavor: str
    hours: float
    memory_mb: int
    local_gb: int
    vcpus: int
    started_at: datetime | None
    ended_at: datetime | None
    state: str
    uptime: int


@dataclass
class TenantUsage:
    tenant_id: str
    start: datetime
    stop: datetime
    total_hours: float = 0.0
    total_local_gb_usage: float = 0.0
    total_vcpus_usage: float = 0.0
    total_memory_mb_usage: float = 0.0
    server_usages: list[ServerUsage] = field(default_factory=list)


def _hours(inst: Instance, start: datetime, stop: datetime) -> float:
    launched, ended = inst.launched_at, inst.terminated_at
    if launched is None or (ended is not None and ended < start) or launched > stop:
        return 0.0
    until = min(stop, ended) if ended is not None else stop
    return max((until - max(launched, start)).total_seconds(), 0.0) / 3600.0


def _usage(inst: Instance, start: datetime, stop: datetime, now: datetime) -> ServerUsage:
    flavor: dict[str, Any] = inst.flavor or {}
    ended = inst.terminated_at
    began = inst.launched_at
    uptime = 0 if began is None else int(((ended or now) - began).total_seconds())
    return ServerUsage(
        instance_id=inst.uuid, name=inst.display_name, tenant_id=inst.project_id,
        flavor=str(flavor.get("name") or ""), hours=_hours(inst, start, stop),
        memory_mb=int(flavor.get("memory_mb") or 0),
        local_gb=int(flavor.get("root_gb") or 0) + int(flavor.get("ephemeral_gb") or 0),
        vcpus=int(flavor.get("vcpus") or 0), started_at=began, ended_at=ended,
        state="terminated" if ended is not None else inst.vm_state, uptime=uptime)


async def usages(db: Database, start: datetime, stop: datetime, *, tenant_id: str | None,
                 limit: int, marker: str | None) -> tuple[list[TenantUsage], list[ServerUsage]]:
    """The usage of each project (of `tenant_id` only, when given) over [start, stop], from at
    most `limit` servers after the server `marker` in creation order; and those servers."""
    query = select(Instance).where(
        or_(Instance.terminated_at.is_(None), Instance.terminated_at > start),
        or_(Instance.launched_at.is_(None), Instance.launched_at < stop))
    if tenant_id is not None:
        query = query.where(Instance.project_id == tenant_id)
    async with db.read() as s:
        if marker is not None:
            after = await s.scalar(select(Instance).where(Instance.uuid == marker))
            if after is None:
                raise faults.BadRequest(f"Marker {marker} could not be found.")
            query = query.where(or_(Instance.created_at > after.created_at, and_(
                Instance.created_at == after.created_at, Instance.id > after.id)))
        rows = (await s.scalars(query.order_by(Instance.created_at, Instance.id)
                                .limit(limit))).all()
    now = clock.utcnow()
    projects: dict[str, TenantUsage] = {}
    servers = []
    for inst in rows:
        one = _usage(inst, start, stop, now)
        total = projects.setdefault(one.tenant_id, TenantUsage(one.tenant_id, start, stop))
        total.total_hours += one.hours
        total.total_local_gb_usage += one.local_gb * one.hours
        total.total_vcpus_usage += one.vcpus * one.hours
        total.total_memory_mb_usage += one.memory_mb * one.hours
        total.server_usages.append(one)
        servers.append(one)
    return list(projects.values()), servers
