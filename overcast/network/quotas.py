"""Quotas: per-project limits with Neutron's defaults, counted from the rows themselves in the
transaction that adds one (so two creates cannot both take the last unit on one writer)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors
from overcast.network.models import (
    FloatingIP,
    Network,
    Port,
    Quota,
    RBACPolicy,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    SubnetPool,
)

__all__ = ["RESOURCES", "Quotas", "check_quota"]

#: Neutron's quota resource names and the table each counts.
RESOURCES: dict[str, Any] = {
    "network": Network, "subnet": Subnet, "port": Port, "router": Router,
    "floatingip": FloatingIP, "security_group": SecurityGroup,
    "security_group_rule": SecurityGroupRule, "subnetpool": SubnetPool,
    "rbac_policy": RBACPolicy,
}


def defaults(config: NetworkSection) -> dict[str, int]:
    return {name: int(getattr(config, f"quota_{name}")) for name in RESOURCES}


async def _limits(s: AsyncSession, config: NetworkSection, project_id: str) -> dict[str, int]:
    limits = defaults(config)
    for q in (await s.execute(select(Quota).where(Quota.project_id == project_id))).scalars():
        limits[q.resource] = q.limit
    return limits


async def _used(s: AsyncSession, resource: str, project_id: str) -> int:
    model = RESOURCES[resource]
    return int(await s.scalar(select(func.count()).select_from(model)
                              .where(model.project_id == project_id)) or 0)


async def check_quota(s: AsyncSession, config: NetworkSection, project_id: str, resource: str,
                      adding: int = 1) -> None:
    """409 OverQuota if `adding` more `resource` would pass the project's limit."""
    if not project_id:
        return
    limit = (await _limits(s, config, project_id))[resource]
    if limit < 0:
        return
    if await _used(s, resource, project_id) + adding > limit:
        raise errors.OverQuota(resource)


class Quotas:
    """/v2.0/quotas: show, update, reset, details, defaults."""

    def __init__(self, db: Database, config: NetworkSection):
        self.db = db
        self.config = config

    async def list(self, ctx: RequestContext) -> list[dict[str, Any]]:
        """Projects whose quotas differ from the defaults (an admin list)."""
        ctx.enforce("get_quota", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            rows = (await s.execute(select(Quota))).scalars().all()
            projects = sorted({r.project_id for r in rows})
            if not ctx.can("context_is_admin"):
                projects = [p for p in projects if p == ctx.project_id]
            out = []
            for p in projects:
                limits = await _limits(s, self.config, p)
                out.append({**limits, "project_id": p, "tenant_id": p})
        return out

    async def show(self, ctx: RequestContext, project_id: str, details: bool = False,
                   default: bool = False) -> dict[str, Any]:
        ctx.enforce("get_quota", {"project_id": project_id, "tenant_id": project_id})
        async with self.db.read() as s:
            limits = defaults(self.config) if default else await _limits(s, self.config,
                                                                         project_id)
            if not details:
                return dict(limits)
            return {name: {"limit": limit, "used": await _used(s, name, project_id),
                           "reserved": 0} for name, limit in limits.items()}

    async def update(self, ctx: RequestContext, project_id: str,
                     values: dict[str, int]) -> dict[str, Any]:
        ctx.enforce("update_quota", {"project_id": project_id, "tenant_id": project_id})
        for name, limit in values.items():
            if name not in RESOURCES:
                raise errors.InvalidInput(f"Unrecognized attribute(s) '{name}'")
            if limit < -1:
                raise errors.InvalidInput(f"'{limit}' should be non-negative or -1")
        async with self.db.transaction() as s:
            for name, limit in values.items():
                row = await s.get(Quota, (project_id, name))
                if row is None:
                    s.add(Quota(project_id=project_id, resource=name, limit=limit))
                else:
                    row.limit = limit
            await s.flush()
            return dict(await _limits(s, self.config, project_id))

    async def reset(self, ctx: RequestContext, project_id: str) -> None:
        ctx.enforce("delete_quota", {"project_id": project_id, "tenant_id": project_id})
        async with self.db.transaction() as s:
            await s.execute(delete(Quota).where(Quota.project_id == project_id))
