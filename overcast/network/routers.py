"""Routers: an external gateway (SNAT on or off; the gateway port takes the lowest free
address of the external network), interfaces by subnet or port, and static routes.

A router's ports are ordinary ports that the network owns: `network:router_interface` ports in
the router's project on the inner networks, one `network:router_gateway` port without a project
on the external network.

Routers are centralized and not HA: the `dvr` and `l3-ha` extensions are not listed, so, as in a
Neutron without them, routers have no `distributed` or `ha` attribute (tempest's DVR tests read
its absence as "no DVR"). A body may still say `distributed: false` or `ha: false`
(administrators; what `openstack router create --centralized --no-ha` sends); true is 400."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.faults import Fault
from overcast.config import NetworkSection
from overcast.network import errors, ipam
from overcast.network.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    RBACPolicy,
    Router,
    Subnet,
)
from overcast.network.networks import network_scope, shared_scope
from overcast.network.ports import ROUTER_GATEWAY, ROUTER_INTERFACE, Ports
from overcast.network.quotas import check_quota
from overcast.network.resources import (
    Attrs,
    Collection,
    Kind,
    attribute_check,
    new_id,
    retrying,
)

__all__ = ["ROUTER", "Routers"]


async def _extras(s: AsyncSession, rows: Sequence[Any]) -> dict[str, Attrs]:
    gw_ports = [r.gw_port_id for r in rows if r.gw_port_id]
    ips: dict[str, list[dict[str, str]]] = {p: [] for p in gw_ports}
    for a in (await s.execute(select(IPAllocation).where(IPAllocation.port_id.in_(gw_ports))
                              .order_by(IPAllocation.position))).scalars():
        ips[a.port_id].append({"subnet_id": a.subnet_id, "ip_address": a.ip_address})
    return {r.id: {"gw_ips": ips.get(r.gw_port_id or "", [])} for r in rows}


def _view(r: Router, extra: Attrs) -> Attrs:
    gateway = None
    if r.gw_network_id:
        gateway = {"network_id": r.gw_network_id, "enable_snat": r.enable_snat,
                   "external_fixed_ips": extra.get("gw_ips", [])}
    return {
        "id": r.id,
        "name": r.name,
        "status": r.status,
        "admin_state_up": r.admin_state_up,
        "external_gateway_info": gateway,
        "routes": list(r.routes or []),
        "availability_zone_hints": list(r.availability_zone_hints or []),
        "availability_zones": ["nova"],
        "flavor_id": None,
    }


ROUTER = Kind(
    name="router", collection="routers", label="Router", model=Router,
    columns={"id": Router.id, "name": Router.name, "status": Router.status,
             "admin_state_up": Router.admin_state_up, "project_id": Router.project_id,
             "tenant_id": Router.project_id, "description": Router.description,
             "created_at": Router.created_at, "updated_at": Router.updated_at,
             "revision_number": Router.revision_number},
    view=_view, extras=_extras)


def _bad_router(router_id: str, reason: str) -> Fault:
    return errors.fault(400, "BadRequest", f"Bad router request: {reason}.")


def _centralized_only(attrs: Attrs) -> None:
    """Refuse what this service cannot build: distributed (DVR) or HA routers."""
    for key, what in (("distributed", "distributed (DVR)"), ("ha", "highly available (HA)")):
        if attrs.get(key):
            raise _bad_router("", f"{what} routers are not supported")


class Routers(Collection):
    kind = ROUTER

    def __init__(self, db: Database, config: NetworkSection, ports: Ports):
        super().__init__(db, config.pagination_max_limit)
        self.config = config
        self.ports = ports

    # -- gateway --
    async def _set_gateway(self, s: AsyncSession, ctx: RequestContext, router: Router,
                           info: object, attempt: int) -> None:
        if info is None or info == {}:
            await self._clear_gateway(s, router)
            return
        if not isinstance(info, dict) or not set(info) <= {
                "network_id", "enable_snat", "external_fixed_ips", "qos_policy_id"}:
            raise errors.InvalidInput(f"Invalid data format for external_gateway_info: {info}")
        network_id = info.get("network_id")
        if not network_id:
            raise errors.InvalidInput("network_id is required in external_gateway_info")
        q = select(Network).where(Network.id == str(network_id))
        if not ctx.can("context_is_admin"):
            q = q.where(network_scope(ctx.project_id))
        net = (await s.execute(q)).scalars().first()
        if net is None:
            raise errors.not_found("Network", str(network_id))
        if not net.router_external:
            raise _bad_router(router.id, f"Network {net.id} is not an external network")
        snat = info.get("enable_snat")
        if router.gw_network_id == net.id and "external_fixed_ips" not in info:
            router.enable_snat = True if snat is None else bool(snat)
            return
        await self._clear_gateway(s, router)
        attrs: Attrs = {"device_owner": ROUTER_GATEWAY, "device_id": router.id}
        if info.get("external_fixed_ips"):
            attrs["fixed_ips"] = info["external_fixed_ips"]
        port = await self.ports.make(s, None, net, attrs, "", attempt)
        if not (await s.execute(select(IPAllocation).where(
                IPAllocation.port_id == port.id))).first():
            raise errors.fault(400, "BadRequest",
                               f"Network {net.id} has no subnet for the router's gateway.")
        router.gw_network_id = net.id
        router.gw_port_id = port.id
        router.enable_snat = True if snat is None else bool(snat)

    async def _clear_gateway(self, s: AsyncSession, router: Router) -> None:
        if not router.gw_port_id:
            return
        used = (await s.execute(select(FloatingIP.id).where(
            FloatingIP.router_id == router.id))).first()
        if used is not None:
            raise errors.fault(409, "RouterExternalGatewayInUseByFloatingIp",
                               f"Gateway cannot be updated for router {router.id}, since a "
                               "gateway to external network is required by one or more "
                               "floating IPs.")
        port = await s.get(Port, router.gw_port_id)
        if port is not None:
            await self.ports.remove(s, port)
        router.gw_network_id = None
        router.gw_port_id = None
        router.enable_snat = True

    # -- routes --
    async def _routes(self, s: AsyncSession, router: Router, routes: object) -> list[Attrs]:
        if routes is None:
            return []
        if not isinstance(routes, list):
            raise errors.InvalidInput(f"Invalid data format for routes: {routes}")
        if len(routes) > self.config.max_routes:
            raise errors.fault(400, "RoutesExhausted",
                               f"Number of routes exceeds the limit {self.config.max_routes}")
        connected = [ipaddress.ip_network(c) for c in await self._cidrs(s, router)]
        out: list[Attrs] = []
        for r in routes:
            if not isinstance(r, dict) or set(r) != {"destination", "nexthop"}:
                raise errors.InvalidInput(f"Invalid data format for hostroute: '{r}'")
            dest = ipam.parse_cidr(r["destination"], strict=False)
            hop = ipam.parse_ip(r["nexthop"])
            if not any(hop in c for c in connected):
                raise errors.fault(400, "InvalidRoutes",
                                   f"Invalid format for routes: {routes}, the nexthop is not "
                                   "connected with router")
            item = {"destination": str(dest), "nexthop": str(hop)}
            if item not in out:
                out.append(item)
        return out

    async def _cidrs(self, s: AsyncSession, router: Router) -> list[str]:
        return list((await s.execute(
            select(Subnet.cidr).join(IPAllocation, IPAllocation.subnet_id == Subnet.id)
            .join(Port, Port.id == IPAllocation.port_id)
            .where(Port.device_id == router.id,
                   Port.device_owner.in_((ROUTER_INTERFACE, ROUTER_GATEWAY))))).scalars())

    # -- CRUD --
    async def create(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        attempt = 0

        async def run() -> Attrs:
            nonlocal attempt
            attempt += 1
            project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
            target = {**attrs, "project_id": project, "tenant_id": project}
            async with self.db.transaction() as s:
                ctx.enforce("create_router", target)
                attribute_check(ctx, "create", "router", attrs, target,
                                {"distributed": False, "ha": False})
                _centralized_only(attrs)
                await check_quota(s, self.config, project, "router")
                now = utcnow()
                router = Router(id=new_id(), project_id=project, name=attrs.get("name") or "",
                                description=attrs.get("description") or "",
                                admin_state_up=True if attrs.get("admin_state_up") is None
                                else attrs["admin_state_up"],
                                availability_zone_hints=attrs.get(
                                    "availability_zone_hints") or [],
                                routes=[], created_at=now, updated_at=now, revision_number=0)
                s.add(router)
                await s.flush()
                if attrs.get("external_gateway_info"):
                    await self._set_gateway(s, ctx, router, attrs["external_gateway_info"],
                                            attempt - 1)
                await s.flush()
                return await self.view_of(s, router)

        view: Attrs = await retrying(run)
        return self.shown(ctx, view)

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        attempt = 0

        async def run() -> Attrs:
            nonlocal attempt
            attempt += 1
            async with self.db.transaction() as s:
                router = await self.load(s, ctx, ident)
                target = self.target(await self.view_of(s, router))
                ctx.enforce("update_router", target)
                attribute_check(ctx, "update", "router", attrs, target)
                _centralized_only(attrs)
                await self.bump(router, if_match)
                for key in ("name", "description", "admin_state_up"):
                    if key in attrs and attrs[key] is not None:
                        setattr(router, key, attrs[key])
                if "external_gateway_info" in attrs:
                    await self._set_gateway(s, ctx, router, attrs["external_gateway_info"],
                                            attempt - 1)
                if "routes" in attrs:
                    router.routes = await self._routes(s, router, attrs["routes"])
                await s.flush()
                return await self.view_of(s, router)

        view: Attrs = await retrying(run)
        return self.shown(ctx, view)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            router = await self.load(s, ctx, ident)
            ctx.enforce("delete_router", self.target(await self.view_of(s, router)))
            busy = (await s.execute(select(Port.id).where(
                Port.device_id == router.id, Port.device_owner == ROUTER_INTERFACE))).first()
            if busy is not None:
                raise errors.fault(409, "RouterInUse", f"Router {router.id} still has ports")
            await self._clear_gateway(s, router)
            await self.delete_row(s, router)

    # -- interfaces --
    async def add_interface(self, ctx: RequestContext, ident: str, body: Attrs) -> Attrs:
        attempt = 0

        async def run() -> Attrs:
            nonlocal attempt
            attempt += 1
            async with self.db.transaction() as s:
                router = await self.load(s, ctx, ident)
                ctx.enforce("add_router_interface", self.target(await self.view_of(s, router)))
                return await self._add(s, ctx, router, body, attempt - 1)

        result: Attrs = await retrying(run)
        return result

    async def _add(self, s: AsyncSession, ctx: RequestContext, router: Router, body: Attrs,
                   attempt: int) -> Attrs:
        subnet_id, port_id = body.get("subnet_id"), body.get("port_id")
        if bool(subnet_id) == bool(port_id):
            raise _bad_router(router.id, "Either subnet_id or port_id must be specified"
                              if not subnet_id else "Cannot specify both subnet-id and port-id")
        existing = [ipaddress.ip_network(c) for c in await self._cidrs(s, router)]
        if port_id:
            port = await self.ports.load(s, ctx, str(port_id))
            if port.device_id or port.device_owner:
                raise errors.fault(409, "PortInUse",
                                   f"Port {port.id} has owner {port.device_owner or 'device'} "
                                   f"and therefore cannot be used.")
            allocs = list((await s.execute(select(IPAllocation).where(
                IPAllocation.port_id == port.id))).scalars())
            if not allocs:
                raise _bad_router(router.id, "Router port must have at least one fixed IP")
            subs = [await s.get(Subnet, a.subnet_id) for a in allocs]
            for sub in subs:
                assert sub is not None
                self._check_overlap(router, sub, existing)
            port.device_id = router.id
            port.device_owner = ROUTER_INTERFACE
            port.revision_number += 1
            net_id, sub_ids = port.network_id, [a.subnet_id for a in allocs]
        else:
            sub = await self._subnet(s, ctx, router, str(subnet_id))
            if not sub.gateway_ip:
                raise _bad_router(router.id, "Subnet for router interface must have a "
                                  "gateway IP")
            for _pid in (await s.execute(
                    select(Port.id).join(IPAllocation, IPAllocation.port_id == Port.id)
                    .where(Port.device_id == router.id, IPAllocation.subnet_id == sub.id)
                    )).scalars():
                raise _bad_router(router.id, f"Router already has a port on subnet {sub.id}")
            self._check_overlap(router, sub, existing)
            net = await s.get(Network, sub.network_id)
            assert net is not None
            port = await self.ports.make(
                s, None, net, {"device_owner": ROUTER_INTERFACE, "device_id": router.id,
                               "fixed_ips": [{"subnet_id": sub.id,
                                              "ip_address": sub.gateway_ip}]},
                router.project_id, attempt)
            net_id, sub_ids = net.id, [sub.id]
        router.revision_number += 1
        router.updated_at = utcnow()
        return {"id": router.id, "tenant_id": router.project_id,
                "project_id": router.project_id, "port_id": port.id, "network_id": net_id,
                "subnet_id": sub_ids[0], "subnet_ids": sub_ids, "tags": []}

    async def _subnet(self, s: AsyncSession, ctx: RequestContext, router: Router,
                      subnet_id: str) -> Subnet:
        """The subnet for an interface, if the caller sees it (404 otherwise). Another
        project's subnet is refused (400) unless an RBAC policy shares its network with the
        caller's project by name: not one shared with everyone (Neutron, LP 1757482 and
        LP 1975603)."""
        sub = await s.get(Subnet, subnet_id)
        if sub is None:
            raise errors.not_found("Subnet", subnet_id)
        if ctx.can("context_is_admin") or sub.project_id == ctx.project_id:
            return sub
        if (await s.execute(select(Network.id).where(
                Network.id == sub.network_id, shared_scope(ctx.project_id)))).first() is None:
            raise errors.not_found("Subnet", subnet_id)
        granted = (await s.execute(select(RBACPolicy.id).where(
            RBACPolicy.object_id == sub.network_id, RBACPolicy.action == "access_as_shared",
            RBACPolicy.target_tenant == (ctx.project_id or "")))).first()
        if granted is None:
            raise _bad_router(router.id, f"Cannot add interface to router because subnet "
                              f"{sub.id} is not owned by project making the request")
        return sub

    @staticmethod
    def _check_overlap(router: Router, sub: Subnet, existing: list[Any]) -> None:
        cidr = ipaddress.ip_network(sub.cidr)
        for other in existing:
            if other.overlaps(cidr):
                raise _bad_router(router.id, f"Cidr {sub.cidr} of subnet {sub.id} overlaps "
                                  f"with cidr {other} of another subnet of the router")

    async def remove_interface(self, ctx: RequestContext, ident: str, body: Attrs) -> Attrs:
        async with self.db.transaction() as s:
            router = await self.load(s, ctx, ident)
            ctx.enforce("remove_router_interface", self.target(await self.view_of(s, router)))
            subnet_id, port_id = body.get("subnet_id"), body.get("port_id")
            if not subnet_id and not port_id:
                raise _bad_router(router.id, "Either subnet_id or port_id must be specified")
            q = select(Port).where(Port.device_id == router.id,
                                   Port.device_owner == ROUTER_INTERFACE)
            if port_id:
                q = q.where(Port.id == port_id)
            if subnet_id:
                q = q.where(Port.id.in_(select(IPAllocation.port_id).where(
                    IPAllocation.subnet_id == subnet_id)))
            port = (await s.execute(q)).scalars().first()
            if port is None:
                if port_id:
                    raise errors.fault(404, "RouterInterfaceNotFound",
                                       f"Router {router.id} does not have an interface with "
                                       f"id {port_id}")
                raise errors.fault(404, "RouterInterfaceNotFoundForSubnet",
                                   f"Router {router.id} has no interface on subnet {subnet_id}")
            allocs = list((await s.execute(select(IPAllocation).where(
                IPAllocation.port_id == port.id))).scalars())
            cidrs = [ipaddress.ip_network(c) for c in (await s.execute(select(Subnet.cidr).where(
                Subnet.id.in_([a.subnet_id for a in allocs])))).scalars()]
            for route in router.routes or []:
                if any(ipaddress.ip_address(route["nexthop"]) in c for c in cidrs):
                    raise errors.fault(409, "RouterInterfaceInUseByRoute",
                                       f"Router interface for subnet {allocs[0].subnet_id} on "
                                       f"router {router.id} cannot be deleted, as it is "
                                       "required by one or more routes.")
            fip = (await s.execute(select(FloatingIP.id).where(
                FloatingIP.router_id == router.id,
                FloatingIP.port_id.in_(select(IPAllocation.port_id).where(
                    IPAllocation.subnet_id.in_([a.subnet_id for a in allocs])))))).first()
            if fip is not None:
                raise errors.fault(409, "RouterInterfaceInUseByFloatingIP",
                                   f"Cannot remove the interface of router {router.id}: "
                                   "floating IPs need it.")
            result = {"id": router.id, "tenant_id": router.project_id,
                      "project_id": router.project_id, "port_id": port.id,
                      "network_id": port.network_id,
                      "subnet_id": allocs[0].subnet_id if allocs else None,
                      "subnet_ids": [a.subnet_id for a in allocs], "tags": []}
            if port_id or len(allocs) <= 1:
                await self.ports.remove(s, port)
            else:
                for a in allocs:
                    if a.subnet_id == subnet_id:
                        await s.delete(a)
            router.revision_number += 1
            router.updated_at = utcnow()
            return result
