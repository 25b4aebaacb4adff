"""Floating IPs: addresses of an external network (in pool order), associated with a port
whose subnet a router links to that network. Status stays DOWN until a data plane wires it."""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors
from overcast.network.models import FloatingIP, IPAllocation, Network, Port, Router
from overcast.network.networks import network_scope
from overcast.network.ports import FLOATING_IP, ROUTER_INTERFACE, Ports
from overcast.network.quotas import check_quota
from overcast.network.resources import (
    Attrs,
    Collection,
    Kind,
    attribute_check,
    new_id,
    retrying,
)

__all__ = ["FLOATINGIP", "FloatingIPs"]


def _view(f: FloatingIP, extra: Attrs) -> Attrs:
    return {
        "id": f.id,
        "floating_ip_address": f.floating_ip_address,
        "floating_network_id": f.floating_network_id,
        "router_id": f.router_id,
        "port_id": f.port_id,
        "fixed_ip_address": f.fixed_ip_address,
        "status": f.status,
        "dns_name": f.dns_name,
        "dns_domain": f.dns_domain,
        "port_forwardings": [],
    }


FLOATINGIP = Kind(
    name="floatingip", collection="floatingips", label="FloatingIP", model=FloatingIP,
    columns={"id": FloatingIP.id, "floating_ip_address": FloatingIP.floating_ip_address,
             "floating_network_id": FloatingIP.floating_network_id,
             "router_id": FloatingIP.router_id, "port_id": FloatingIP.port_id,
             "fixed_ip_address": FloatingIP.fixed_ip_address, "status": FloatingIP.status,
             "project_id": FloatingIP.project_id, "tenant_id": FloatingIP.project_id,
             "description": FloatingIP.description, "created_at": FloatingIP.created_at,
             "updated_at": FloatingIP.updated_at,
             "revision_number": FloatingIP.revision_number},
    view=_view)


class FloatingIPs(Collection):
    kind = FLOATINGIP

    def __init__(self, db: Database, config: NetworkSection, ports: Ports):
        super().__init__(db, config.pagination_max_limit)
        self.config = config
        self.ports = ports

    async def _associate(self, s: AsyncSession, ctx: RequestContext, fip: FloatingIP,
                         port_id: object, fixed_ip: object) -> None:
        if port_id is None:
            fip.port_id = fip.fixed_ip_address = fip.router_id = None
            fip.status = "DOWN"
            return
        port = await self.ports.load(s, ctx, str(port_id))
        if port.project_id != fip.project_id and not ctx.can("context_is_admin"):
            # a network's owner sees others' ports on it, and still may not use them
            raise errors.fault(400, "BadRequest",
                               f"Bad floatingip request: Cannot process floating IP "
                               f"association with Port {port.id}, since that port is owned "
                               "by a different tenant.")
        allocs = list((await s.execute(select(IPAllocation).where(
            IPAllocation.port_id == port.id).order_by(IPAllocation.position))).scalars())
        v4 = [a for a in allocs if ipaddress.ip_address(a.ip_address).version == 4]
        if fixed_ip is not None:
            chosen = [a for a in v4 if a.ip_address == fixed_ip]
            if not chosen:
                raise errors.fault(400, "BadRequest",
                                   f"Port {port.id} does not have fixed ip {fixed_ip}")
        elif not v4:
            raise errors.fault(400, "BadRequest",
                               f"Bad floatingip request: Port {port.id} does not have any "
                               "IPv4 address and cannot be associated with a floating IP.")
        else:
            chosen = v4[:1]
        alloc = chosen[0]
        # The router that connects the port's subnet with the floating IP's network.
        router_id = (await s.execute(
            select(Router.id).join(Port, Port.device_id == Router.id)
            .join(IPAllocation, IPAllocation.port_id == Port.id)
            .where(Router.gw_network_id == fip.floating_network_id,
                   Port.device_owner == ROUTER_INTERFACE,
                   IPAllocation.subnet_id == alloc.subnet_id))).scalars().first()
        if router_id is None:
            raise errors.fault(404, "ExternalGatewayForFloatingIPNotFound",
                               f"External network {fip.floating_network_id} is not reachable "
                               f"from subnet {alloc.subnet_id}.  Therefore, cannot associate "
                               f"Port {port.id} with a Floating IP.")
        taken = (await s.execute(select(FloatingIP.id).where(
            FloatingIP.port_id == port.id, FloatingIP.fixed_ip_address == alloc.ip_address,
            FloatingIP.floating_network_id == fip.floating_network_id,
            FloatingIP.id != fip.id))).scalars().first()
        if taken is not None:
            raise errors.fault(409, "FloatingIPPortAlreadyAssociated",
                               f"Cannot associate floating IP {fip.floating_ip_address} "
                               f"({fip.id}) with port {port.id} using fixed IP "
                               f"{alloc.ip_address}, as that fixed IP already has a floating "
                               f"IP on external network {fip.floating_network_id}.")
        fip.port_id = port.id
        fip.fixed_ip_address = alloc.ip_address
        fip.router_id = router_id

    async def create(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        attempt = 0

        async def run() -> Attrs:
            nonlocal attempt
            attempt += 1
            project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
            target = {**attrs, "project_id": project, "tenant_id": project}
            async with self.db.transaction() as s:
                ctx.enforce("create_floatingip", target)
                attribute_check(ctx, "create", "floatingip", attrs, target)
                network_id = attrs.get("floating_network_id")
                if not network_id:
                    raise errors.BadRequest("Failed to parse request. Required attribute "
                                            "'floating_network_id' not specified")
                q = select(Network).where(Network.id == str(network_id))
                if not ctx.can("context_is_admin"):
                    q = q.where(network_scope(ctx.project_id))
                net = (await s.execute(q)).scalars().first()
                if net is None:
                    raise errors.not_found("Network", str(network_id))
                if not net.router_external:
                    raise errors.fault(400, "BadRequest",
                                       f"Bad floatingip request: Network {net.id} is not a "
                                       "valid external network.")
                await check_quota(s, self.config, project, "floatingip")
                now = utcnow()
                fip = FloatingIP(id=new_id(), project_id=project,
                                 description=attrs.get("description") or "",
                                 floating_network_id=net.id, floating_ip_address="",
                                 floating_port_id="", status="DOWN",
                                 dns_name=attrs.get("dns_name") or "",
                                 dns_domain=attrs.get("dns_domain") or "",
                                 created_at=now, updated_at=now, revision_number=0)
                fixed: list[Attrs] | None = None
                if attrs.get("floating_ip_address") or attrs.get("subnet_id"):
                    item: Attrs = {}
                    if attrs.get("subnet_id"):
                        item["subnet_id"] = attrs["subnet_id"]
                    if attrs.get("floating_ip_address"):
                        item["ip_address"] = attrs["floating_ip_address"]
                    fixed = [item]
                port_attrs: Attrs = {"device_owner": FLOATING_IP, "device_id": fip.id}
                if fixed is not None:
                    port_attrs["fixed_ips"] = fixed
                port = await self.ports.make(s, None, net, port_attrs, "", attempt - 1)
                ips = [a.ip_address for a in (await s.execute(select(IPAllocation).where(
                    IPAllocation.port_id == port.id))).scalars()
                    if ipaddress.ip_address(a.ip_address).version == 4]
                if not ips:
                    raise errors.IpAddressGenerationFailure(net.id)
                fip.floating_ip_address = ips[0]
                fip.floating_port_id = port.id
                s.add(fip)
                if attrs.get("port_id") is not None:
                    await self._associate(s, ctx, fip, attrs["port_id"],
                                          attrs.get("fixed_ip_address"))
                await s.flush()
                return await self.view_of(s, fip)

        view: Attrs = await retrying(run)
        return self.shown(ctx, view)

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.transaction() as s:
            fip = await self.load(s, ctx, ident)
            ctx.enforce("update_floatingip", self.target(await self.view_of(s, fip)))
            await self.bump(fip, if_match)
            if attrs.get("description") is not None:
                fip.description = attrs["description"]
            if "port_id" in attrs:
                await self._associate(s, ctx, fip, attrs["port_id"],
                                      attrs.get("fixed_ip_address"))
            await s.flush()
            view = await self.view_of(s, fip)
        return self.shown(ctx, view)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            fip = await self.load(s, ctx, ident)
            ctx.enforce("delete_floatingip", self.target(await self.view_of(s, fip)))
            port = await s.get(Port, fip.floating_port_id)
            await self.delete_row(s, fip)
            if port is not None:
                await self.ports.remove(s, port)

