"""Availability zones and how many addresses each network has left (agents: agents.py)."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import func, select

from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors
from overcast.network.models import IPAllocation, Network, Subnet

__all__ = ["Availability"]


def _pool_size(pools: list[dict[str, str]]) -> int:
    return sum(int(ipaddress.ip_address(p["end"])) - int(ipaddress.ip_address(p["start"])) + 1
               for p in pools)


class Availability:
    def __init__(self, db: Database, config: NetworkSection):
        self.db = db
        self.config = config

    def zones(self, ctx: RequestContext) -> list[dict[str, str]]:
        ctx.enforce("get_availability_zone")
        names = [z.strip() for z in self.config.default_availability_zones.split(",")
                 if z.strip()]
        return [{"name": n, "resource": r, "state": "available"}
                for n in names for r in ("network", "router")]

    async def ip_usage(self, ctx: RequestContext, network_id: str | None = None) -> Any:
        ctx.enforce("get_network_ip_availability", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            q = select(Network)
            if network_id:
                q = q.where(Network.id == network_id)
            nets = list((await s.execute(q.order_by(Network.id))).scalars())
            if network_id and not nets:
                raise errors.not_found("Network", network_id)
            used = dict((await s.execute(select(IPAllocation.subnet_id, func.count())
                                         .group_by(IPAllocation.subnet_id))).all())
            out = []
            for n in nets:
                subs = list((await s.execute(select(Subnet).where(
                    Subnet.network_id == n.id))).scalars())
                rows: list[dict[str, Any]] = [{"subnet_id": sub.id, "subnet_name": sub.name, "cidr": sub.cidr,
                         "ip_version": sub.ip_version,
                         "total_ips": _pool_size(sub.allocation_pools or []),
                         "used_ips": int(used.get(sub.id, 0))} for sub in subs]
                out.append({"network_id": n.id, "network_name": n.name,
                            "project_id": n.project_id, "tenant_id": n.project_id,
                            "total_ips": sum(r["total_ips"] for r in rows),
                            "used_ips": sum(r["used_ips"] for r in rows),
                            "subnet_ip_availability": rows})
        return out[0] if network_id else out
