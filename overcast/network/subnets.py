"""Subnets: IPv4 and IPv6 ranges of a network, their pools, gateway, DHCP options, IPv6 modes,
and prefixes taken from subnet pools."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors, ipam
from overcast.network.models import IPAllocation, Network, Port, RBACPolicy, Subnet, SubnetPool
from overcast.network.networks import (
    NETWORK_OWNED,
    ensure_network_shared,
    network_scope,
    shared_scope,
)
from overcast.network.quotas import check_quota
from overcast.network.resources import (
    Attrs,
    Collection,
    Kind,
    attribute_check,
    new_id,
    retrying,
)

__all__ = ["SUBNET", "Subnets"]

IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")


def _view(sub: Subnet, extra: Attrs) -> Attrs:
    return {
        "id": sub.id,
        "name": sub.name,
        "network_id": sub.network_id,
        "ip_version": sub.ip_version,
        "cidr": sub.cidr,
        "gateway_ip": sub.gateway_ip,
        "enable_dhcp": sub.enable_dhcp,
        "ipv6_ra_mode": sub.ipv6_ra_mode,
        "ipv6_address_mode": sub.ipv6_address_mode,
        "subnetpool_id": sub.subnetpool_id,
        "segment_id": sub.segment_id,
        "dns_publish_fixed_ip": sub.dns_publish_fixed_ip,
        "allocation_pools": list(sub.allocation_pools or []),
        "dns_nameservers": list(sub.dns_nameservers or []),
        "host_routes": list(sub.host_routes or []),
        "service_types": list(sub.service_types or []),
        "_network_project_id": extra.get("network_project_id", ""),
        "_network_shared": extra.get("network_shared", False),
    }


async def _extras(s: AsyncSession, rows: Sequence[Any]) -> dict[str, Attrs]:
    nets = {r.network_id for r in rows}
    info = {nid: (pid, shared) for nid, pid, shared in (await s.execute(
        select(Network.id, Network.project_id, Network.shared)
        .where(Network.id.in_(nets)))).all()}
    return {r.id: {"network_project_id": info.get(r.network_id, ("", False))[0],
                   "network_shared": info.get(r.network_id, ("", False))[1]} for r in rows}


def _scope(project_id: str | None) -> Any:
    """A project sees its subnets and those of networks shared with it (not of networks that
    are only external for it)."""
    visible_nets = select(Network.id).where(shared_scope(project_id))
    return (Subnet.project_id == (project_id or "")) | Subnet.network_id.in_(visible_nets)


def _target(attrs: Attrs) -> Attrs:
    return {"network:project_id": attrs.get("_network_project_id"),
            "network:tenant_id": attrs.get("_network_project_id"),
            "shared": attrs.get("_network_shared")}


SUBNET = Kind(
    name="subnet", collection="subnets", label="Subnet", model=Subnet,
    columns={"id": Subnet.id, "name": Subnet.name, "network_id": Subnet.network_id,
             "ip_version": Subnet.ip_version, "cidr": Subnet.cidr,
             "gateway_ip": Subnet.gateway_ip, "enable_dhcp": Subnet.enable_dhcp,
             "ipv6_ra_mode": Subnet.ipv6_ra_mode, "ipv6_address_mode": Subnet.ipv6_address_mode,
             "subnetpool_id": Subnet.subnetpool_id, "segment_id": Subnet.segment_id,
             "project_id": Subnet.project_id, "tenant_id": Subnet.project_id,
             "description": Subnet.description, "created_at": Subnet.created_at,
             "updated_at": Subnet.updated_at, "revision_number": Subnet.revision_number},
    view=_view, extras=_extras, scope=_scope, target_extras=_target)


class Subnets(Collection):
    kind = SUBNET

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)
        self.config = config

    async def for_caller(self, s: AsyncSession, ctx: RequestContext,
                         views: list[Attrs]) -> None:
        """The subnets of a network an RBAC policy shares with the caller's project are
        shared for it (Neutron's `rule:shared` reads the network as the caller sees it)."""
        if not ctx.project_id or not views:
            return
        granted = set((await s.execute(select(RBACPolicy.object_id).where(
            RBACPolicy.object_type == "network", RBACPolicy.action == "access_as_shared",
            RBACPolicy.target_tenant == ctx.project_id,
            RBACPolicy.object_id.in_({v["network_id"] for v in views})))).scalars())
        for v in views:
            if v["network_id"] in granted:
                v["_network_shared"] = True

    def _checked_dns(self, servers: object, version: int | None = None) -> list[str]:
        if servers is None:
            return []
        if not isinstance(servers, list):
            raise errors.InvalidInput(f"'{servers}' is not a list")
        if len(servers) > self.config.max_dns_nameservers:
            raise errors.fault(400, "DNSNameServersExhausted",
                               f"Number of DNS nameservers exceeds the limit "
                               f"{self.config.max_dns_nameservers}")
        seen = set()
        for srv in servers:
            ipam.parse_ip(srv)
            if srv in seen:
                raise errors.InvalidInput(f"Duplicate nameserver '{srv}'")
            seen.add(srv)
        return list(servers)

    def _checked_routes(self, routes: object, net: ipam.IPNetwork) -> list[dict[str, str]]:
        if routes is None:
            return []
        if not isinstance(routes, list):
            raise errors.InvalidInput(f"'{routes}' is not a list")
        if len(routes) > self.config.max_subnet_host_routes:
            raise errors.fault(400, "HostRoutesExhausted",
                               "Number of host routes exceeds the limit "
                               f"{self.config.max_subnet_host_routes}")
        out = []
        for r in routes:
            if not isinstance(r, dict) or set(r) != {"destination", "nexthop"}:
                raise errors.InvalidInput(f"Invalid data format for hostroute: '{r}'")
            dest = ipam.parse_cidr(r["destination"], strict=False)
            hop = ipam.parse_ip(r["nexthop"])
            if dest.version != net.version or hop.version != net.version:
                raise errors.InvalidInput(f"Invalid route {r}: IP version mismatch")
            item = {"destination": str(dest), "nexthop": str(hop)}
            if item in out:
                raise errors.InvalidInput(f"Duplicate hostroute '{r}'")
            out.append(item)
        return out

    async def _from_pool(self, s: AsyncSession, ctx: RequestContext, attrs: Attrs,
                         version: int | None) -> tuple[ipam.IPNetwork, SubnetPool]:
        pool_id = attrs.get("subnetpool_id")
        pool: SubnetPool | None = None
        if pool_id:
            pool = await s.get(SubnetPool, pool_id)
            if pool is None or (pool.project_id != ctx.project_id and not pool.shared
                                and not ctx.can("context_is_admin")):
                raise errors.not_found("SubnetPool", pool_id)
        else:
            pool = (await s.execute(select(SubnetPool).where(
                SubnetPool.is_default.is_(True), SubnetPool.ip_version == (version or 4))
            )).scalars().first()
            if pool is None:
                raise errors.BadRequest("No default subnetpool found for IPv"
                                        f"{version or 4}")
        if version is not None and version != pool.ip_version:
            raise errors.InvalidInput("Cannot allocate requested subnet from the available set "
                                      "of prefixes")
        taken = list((await s.execute(select(Subnet.cidr).where(
            Subnet.subnetpool_id == pool.id))).scalars())
        if attrs.get("cidr"):
            net = ipam.parse_cidr(attrs["cidr"])
            if not any(net.subnet_of(ipaddress.ip_network(p))  # type: ignore[arg-type]
                       for p in pool.prefixes if ipaddress.ip_network(p).version == net.version):
                raise errors.fault(400, "SubnetAllocationError",
                                   "Cannot allocate requested subnet from the available "
                                   "set of prefixes")
            if any(ipaddress.ip_network(t).overlaps(net) for t in taken):
                raise errors.fault(400, "SubnetAllocationError",
                                   "Cannot allocate requested subnet from the available "
                                   "set of prefixes")
            return net, pool
        prefixlen = attrs.get("prefixlen") or pool.default_prefixlen
        prefixlen = int(prefixlen)
        if not pool.min_prefixlen <= prefixlen <= pool.max_prefixlen:
            raise errors.InvalidInput(f"Prefix length {prefixlen} is out of the pool's range "
                                      f"{pool.min_prefixlen}-{pool.max_prefixlen}")
        found = ipam.free_prefix(pool.prefixes, taken, prefixlen)
        if found is None:
            raise errors.fault(409, "SubnetAllocationError",
                               "Unable to allocate subnet with prefix length "
                               f"{prefixlen}, maximum allowed prefixes reached")
        if pool.default_quota is not None and pool.default_quota >= 0:
            used = sum(ipaddress.ip_network(t).num_addresses for t in (await s.execute(
                select(Subnet.cidr).where(Subnet.subnetpool_id == pool.id,
                                          Subnet.project_id == ctx.project_id))).scalars())
            unit = 1 if pool.ip_version == 4 else (1 << 64)
            if (used + found.num_addresses) // unit > pool.default_quota:
                raise errors.fault(409, "SubnetPoolQuotaExceeded",
                                   "Per-tenant subnet pool prefix quota exceeded.")
        return found, pool

    async def create(self, ctx: RequestContext, items: list[Attrs]) -> list[Attrs]:
        async def attempt() -> list[Attrs]:
            async with self.db.transaction() as s:
                rows = [await self._create(s, ctx, a) for a in items]
                await s.flush()
                return await self.views(s, rows)
        out: list[Attrs] = await retrying(attempt)
        await self.changed(*(str(a["network_id"]) for a in out))
        return [self.shown(ctx, a) for a in out]

    async def _create(self, s: AsyncSession, ctx: RequestContext, attrs: Attrs) -> Subnet:
        network_id = attrs.get("network_id")
        if not network_id:
            raise errors.BadRequest("Failed to parse request. Required attribute 'network_id' "
                                    "not specified")
        net = (await s.execute(select(Network).where(
            Network.id == network_id, *(() if ctx.can("context_is_admin") else
                                        (network_scope(ctx.project_id),))))).scalars().first()
        if net is None:
            raise errors.not_found("Network", network_id)
        project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
        await ensure_network_shared(s, ctx, net, project)
        target = {**attrs, "project_id": project, "tenant_id": project,
                  "network:project_id": net.project_id, "network:tenant_id": net.project_id,
                  "shared": net.shared}
        ctx.enforce("create_subnet", target)
        attribute_check(ctx, "create", "subnet", attrs, target)
        await check_quota(s, self.config, project, "subnet")
        version = attrs.get("ip_version")
        if version is not None and version not in (4, 6):
            raise errors.InvalidInput(f"{version} is not in [4, 6]")
        pool: SubnetPool | None = None
        if attrs.get("subnetpool_id") or attrs.get("use_default_subnetpool"):
            cidr, pool = await self._from_pool(s, ctx, attrs, version)
        elif not attrs.get("cidr"):
            raise errors.BadRequest("a subnetpool must be specified in the absence of a cidr")
        else:
            cidr = ipam.parse_cidr(attrs["cidr"])
        if version is None:
            version = cidr.version
        if cidr.version != version:
            raise errors.InvalidInput("Cidr and ip_version mismatch")
        if (version == 4 and cidr.prefixlen > 32) or (cidr.prefixlen == 0 and version == 4):
            raise errors.InvalidInput(f"{cidr} is not a valid subnet")
        ra, am = attrs.get("ipv6_ra_mode"), attrs.get("ipv6_address_mode")
        if version == 4 and (ra or am):
            raise errors.InvalidInput("ipv6_ra_mode and ipv6_address_mode are valid only for "
                                      "IPv6 subnets")
        for mode in (ra, am):
            if mode is not None and mode not in IPV6_MODES:
                raise errors.InvalidInput(f"'{mode}' is not in {list(IPV6_MODES)}")
        if ra and am and ra != am:
            raise errors.InvalidInput(f"ipv6_ra_mode set to '{ra}' with ipv6_address_mode set "
                                      f"to '{am}' is not valid. If both attributes are set, "
                                      "they must be the same value")
        if (am == "slaac" or am == "dhcpv6-stateless") and cidr.prefixlen != 64:
            raise errors.InvalidInput(f"Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses "
                                      "the EUI-64 address format, which requires the prefix "
                                      "to be /64")
        # overlaps on the same network
        for other in (await s.execute(select(Subnet.cidr).where(
                Subnet.network_id == net.id))).scalars():
            if ipaddress.ip_network(other).overlaps(cidr):
                raise errors.InvalidInput(f"Requested subnet with cidr: {cidr} for network: "
                                          f"{net.id} overlaps with another subnet")
        if "gateway_ip" in attrs:
            gateway = attrs["gateway_ip"]
            if gateway is not None:
                g = ipam.parse_ip(gateway)
                if g.version != version:
                    raise errors.InvalidInput("Gateway IP version inconsistent with allocation "
                                              "pool version")
                if (g == cidr.network_address and version == 4) or (
                        version == 4 and g == cidr.broadcast_address and cidr.prefixlen < 31):
                    raise errors.InvalidInput(f"Gateway is not valid on subnet {cidr}")
                gateway = str(g)
        else:
            gateway = str(cidr.network_address + 1) if cidr.num_addresses > 1 else None
        if attrs.get("allocation_pools"):
            pools = ipam.validate_pools(cidr, attrs["allocation_pools"], gateway)
        else:
            pools = ipam.default_pools(cidr, gateway if gateway and ipaddress.ip_address(
                gateway) in cidr else None)
        now = utcnow()
        sub = Subnet(
            id=new_id(), project_id=project, name=attrs.get("name") or "",
            description=attrs.get("description") or "", network_id=net.id, ip_version=version,
            cidr=str(cidr), gateway_ip=gateway,
            enable_dhcp=attrs.get("enable_dhcp", True) if attrs.get("enable_dhcp") is not None
            else True,
            ipv6_ra_mode=ra, ipv6_address_mode=am, subnetpool_id=pool.id if pool else None,
            segment_id=attrs.get("segment_id"),
            dns_publish_fixed_ip=bool(attrs.get("dns_publish_fixed_ip", False)),
            allocation_pools=pools,
            dns_nameservers=self._checked_dns(attrs.get("dns_nameservers")),
            host_routes=self._checked_routes(attrs.get("host_routes"), cidr),
            service_types=list(attrs.get("service_types") or []),
            created_at=now, updated_at=now, revision_number=0)
        s.add(sub)
        net.revision_number += 1
        net.updated_at = now
        await s.flush()
        return sub

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.transaction() as s:
            sub = await self.load(s, ctx, ident)
            target = self.target(await self.view_of(s, sub))
            ctx.enforce("update_subnet", target)
            attribute_check(ctx, "update", "subnet", attrs, target)
            for key in ("cidr", "ip_version", "network_id", "subnetpool_id", "ipv6_ra_mode",
                        "ipv6_address_mode", "prefixlen"):
                if key in attrs and attrs[key] != getattr(sub, key, None):
                    raise errors.BadRequest(f"Cannot update read-only attribute {key}")
            await self.bump(sub, if_match)
            cidr = ipaddress.ip_network(sub.cidr)
            for key in ("name", "description", "enable_dhcp", "dns_publish_fixed_ip"):
                if key in attrs and attrs[key] is not None:
                    setattr(sub, key, attrs[key])
            if "dns_nameservers" in attrs:
                sub.dns_nameservers = self._checked_dns(attrs["dns_nameservers"])
            if "host_routes" in attrs:
                sub.host_routes = self._checked_routes(attrs["host_routes"], cidr)
            if "service_types" in attrs:
                sub.service_types = list(attrs["service_types"] or [])
            if "gateway_ip" in attrs:
                gateway = attrs["gateway_ip"]
                if gateway is not None:
                    g = ipam.parse_ip(gateway)
                    if g.version != sub.ip_version:
                        raise errors.InvalidInput("Gateway IP version inconsistent with "
                                                  "allocation pool version")
                    gateway = str(g)
                    if "allocation_pools" not in attrs and ipam.in_pools(
                            g, sub.allocation_pools):
                        raise errors.fault(409, "GatewayConflictWithAllocationPools",
                                           f"Gateway ip {gateway} conflicts with allocation "
                                           "pool")
                sub.gateway_ip = gateway
            if "allocation_pools" in attrs and attrs["allocation_pools"] is not None:
                sub.allocation_pools = ipam.validate_pools(
                    cidr, attrs["allocation_pools"], sub.gateway_ip)
            await s.flush()
            view = await self.view_of(s, sub)
        await self.changed(sub.network_id)
        return self.shown(ctx, view)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            sub = await self.load(s, ctx, ident)
            ctx.enforce("delete_subnet", self.target(await self.view_of(s, sub)))
            held = (await s.execute(
                select(Port.device_owner).join(IPAllocation, IPAllocation.port_id == Port.id)
                .where(IPAllocation.subnet_id == ident))).scalars().all()
            # A SLAAC address goes with its subnet (the port keeps its other addresses); only
            # a router interface holds such a subnet, as in Neutron.
            auto = sub.ipv6_address_mode in ("slaac", "dhcpv6-stateless")
            if any(owner not in NETWORK_OWNED and (
                    not auto or owner == "network:router_interface") for owner in held):
                raise errors.fault(409, "SubnetInUse",
                                   f"Unable to complete operation on subnet {ident}: One or more "
                                   "ports have an IP allocation from this subnet.")
            await s.execute(delete(IPAllocation).where(
                IPAllocation.subnet_id == ident))
            net = await s.get(Network, sub.network_id)
            if net is not None:
                net.revision_number += 1
            await self.delete_row(s, sub)
        await self.changed(sub.network_id)

