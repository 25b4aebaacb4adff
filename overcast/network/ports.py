"""Ports: MAC addresses, fixed IPs (asked for or allocated), security groups, binding, address
pairs, DHCP options and DNS names.

Allocation never hands out one address twice: an address is a row of ip_allocations whose
primary key is (subnet, address); a writer that loses a race to another process gets an
IntegrityError and the whole transaction runs again (`retrying`), picking again from what is
then free. A subnet with nothing left answers 409 IpAddressGenerationFailure.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors, ipam
from overcast.network.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    Subnet,
)
from overcast.network.networks import ensure_network_shared, network_scope
from overcast.network.quotas import check_quota
from overcast.network.resources import (
    Attrs,
    Collection,
    Kind,
    attribute_check,
    new_id,
    retrying,
)
from overcast.network.security_groups import ensure_default

__all__ = ["FLOATING_IP", "PORT", "ROUTER_GATEWAY", "ROUTER_INTERFACE", "Ports"]

#: Addresses probed per query when looking for a free one, and queries before reading all.
_PROBE_CHUNK = 64
_PROBE_CHUNKS = 4
#: Per subnet, the lowest address this process last found free (a starting point: addresses
#: freed below it are seen by `forget_below`, or when the scan wraps round).
_HINTS: dict[str, int] = {}
_MAX_HINTS = 4096


def _remember(subnet_id: str, addr: int) -> None:
    if subnet_id not in _HINTS and len(_HINTS) >= _MAX_HINTS:
        _HINTS.pop(next(iter(_HINTS)))
    _HINTS[subnet_id] = addr


def forget_below(subnet_id: str, ip: str) -> None:
    """An address was freed: the next pick in its subnet may start there."""
    hint = _HINTS.get(subnet_id)
    if hint is not None:
        try:
            addr = int(ipaddress.ip_address(ip))
        except ValueError:
            return
        if addr < hint:
            _HINTS[subnet_id] = addr


def _scan_order(ranges: list[tuple[int, int]], hint: int | None) -> Iterator[int]:
    """The pools' addresses from `hint` (when inside a pool) to the end, then from the start
    up to `hint`: every address once."""
    at = next((k for k, (a, b) in enumerate(ranges) if hint is not None and a <= hint <= b),
              None)
    if at is None or hint is None:
        for a, b in ranges:
            yield from range(a, b + 1)
        return
    yield from range(hint, ranges[at][1] + 1)
    for a, b in ranges[at + 1:]:
        yield from range(a, b + 1)
    for a, b in ranges[:at]:
        yield from range(a, b + 1)
    yield from range(ranges[at][0], hint)


VNIC_TYPES = ("normal", "direct", "macvtap", "baremetal", "direct-physical",
              "virtio-forwarder", "smart-nic", "vdpa", "remote-managed", "accelerator-direct",
              "accelerator-direct-physical")
ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATING_IP = "network:floatingip"
_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


async def _extras(s: AsyncSession, rows: Sequence[Any]) -> dict[str, Attrs]:
    ids = [r.id for r in rows]
    ips: dict[str, list[dict[str, str]]] = {i: [] for i in ids}
    for a in (await s.execute(select(IPAllocation).where(IPAllocation.port_id.in_(ids))
                              .order_by(IPAllocation.position))).scalars():
        ips[a.port_id].append({"subnet_id": a.subnet_id, "ip_address": a.ip_address})
    groups: dict[str, list[str]] = {i: [] for i in ids}
    for pid, gid in (await s.execute(select(PortSecurityGroup.port_id,
                                            PortSecurityGroup.security_group_id)
                                     .where(PortSecurityGroup.port_id.in_(ids)))).all():
        groups[pid].append(gid)
    nets = {r.network_id for r in rows}
    owners = {nid: (pid, shared, dom) for nid, pid, shared, dom in (await s.execute(
        select(Network.id, Network.project_id, Network.shared, Network.dns_domain)
        .where(Network.id.in_(nets)))).all()}
    return {r.id: {"fixed_ips": ips[r.id], "security_groups": sorted(groups[r.id]),
                   "network": owners.get(r.network_id, ("", False, ""))} for r in rows}


def _dns_assignment(p: Port, ips: list[dict[str, str]], domain: str) -> list[Attrs]:
    out = []
    for ip in ips:
        host = p.dns_name or "host-" + re.sub(r"[.:]", "-", ip["ip_address"])
        out.append({"ip_address": ip["ip_address"], "hostname": host,
                    "fqdn": f"{host}.{domain}" if domain else host})
    return out


def _view(p: Port, extra: Attrs) -> Attrs:
    ips = extra.get("fixed_ips", [])
    net_project, net_shared, _dom = extra.get("network", ("", False, ""))
    return {
        "id": p.id,
        "name": p.name,
        "network_id": p.network_id,
        "mac_address": p.mac_address,
        "admin_state_up": p.admin_state_up,
        "status": p.status,
        "device_id": p.device_id,
        "device_owner": p.device_owner,
        "fixed_ips": ips,
        "security_groups": extra.get("security_groups", []),
        "port_security_enabled": p.port_security_enabled,
        "allowed_address_pairs": list(p.allowed_address_pairs or []),
        "extra_dhcp_opts": list(p.extra_dhcp_opts or []),
        "binding:host_id": p.binding_host_id,
        "binding:vnic_type": p.binding_vnic_type,
        "binding:vif_type": p.binding_vif_type,
        "binding:vif_details": dict(p.binding_vif_details or {}),
        "binding:profile": dict(p.binding_profile or {}),
        "dns_name": p.dns_name,
        "dns_assignment": _dns_assignment(p, ips, "openstacklocal."),
        "ip_allocation": "immediate",
        "propagate_uplink_status": False,
        "_network_project_id": net_project,
        "_network_shared": net_shared,
    }


def _fixed_ips_filter(values: list[str]) -> ColumnElement[bool]:
    """`fixed_ips=ip_address=A`, `subnet_id=S`, `ip_address_substr=x` (each its own value;
    a port must match all of them, as Neutron)."""
    clauses = []
    for v in values:
        key, _, want = v.partition("=")
        q = select(IPAllocation.port_id)
        if key == "ip_address":
            q = q.where(IPAllocation.ip_address == want)
        elif key == "subnet_id":
            q = q.where(IPAllocation.subnet_id == want)
        elif key == "ip_address_substr":
            q = q.where(IPAllocation.ip_address.contains(want, autoescape=True))
        else:
            raise errors.BadRequest(f"Invalid fixed_ips filter {v}")
        clauses.append(Port.id.in_(q))
    return and_(*clauses)


def _groups_filter(values: list[str]) -> ColumnElement[bool]:
    return Port.id.in_(select(PortSecurityGroup.port_id).where(
        PortSecurityGroup.security_group_id.in_(values)))


def _scope(project_id: str | None) -> Any:
    own_nets = select(Network.id).where(Network.project_id == (project_id or ""))
    return or_(Port.project_id == (project_id or ""), Port.network_id.in_(own_nets))


def _target(attrs: Attrs) -> Attrs:
    return {"network:project_id": attrs.get("_network_project_id"),
            "network:tenant_id": attrs.get("_network_project_id"),
            "shared": attrs.get("_network_shared")}


PORT = Kind(
    name="port", collection="ports", label="Port", model=Port,
    columns={"id": Port.id, "name": Port.name, "network_id": Port.network_id,
             "mac_address": Port.mac_address, "admin_state_up": Port.admin_state_up,
             "status": Port.status, "device_id": Port.device_id,
             "device_owner": Port.device_owner,
             "port_security_enabled": Port.port_security_enabled,
             "binding:host_id": Port.binding_host_id,
             "binding:vnic_type": Port.binding_vnic_type,
             "binding:vif_type": Port.binding_vif_type, "dns_name": Port.dns_name,
             "project_id": Port.project_id, "tenant_id": Port.project_id,
             "description": Port.description, "created_at": Port.created_at,
             "updated_at": Port.updated_at, "revision_number": Port.revision_number},
    view=_view, extras=_extras, scope=_scope, target_extras=_target,
    filters={"fixed_ips": _fixed_ips_filter, "security_groups": _groups_filter})

DEFAULTS = {"binding:vnic_type": "normal", "device_owner": "", "binding:host_id": "",
            "binding:profile": {}}


def random_mac(base: str) -> str:
    """A MAC with `base`'s first three octets (Neutron keeps base_mac's non-zero prefix) and
    random others."""
    octets = base.split(":")
    fixed = [o for o in octets[:3]]
    rest = [f"{random.randint(0, 255):02x}" for _ in range(6 - len(fixed))]
    return ":".join([*fixed, *rest]).lower()


class Ports(Collection):
    kind = PORT

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)
        self.config = config

    # -- addresses --
    async def _allocate(self, s: AsyncSession, port: Port, net: Network,
                        requested: list[Any] | None, attempt: int,
                        keep: Sequence[IPAllocation] = ()) -> None:
        """Give the port its fixed IPs: those asked for, or one address of the network's
        first IPv4 subnet with room, one stateful IPv6 address, and every SLAAC address."""
        # The network's subnets, locked (in id order) until this transaction ends: allocations
        # on one network take turns on MariaDB and PostgreSQL instead of racing for the same
        # free address (SQLite's writers take turns anyway).
        locked = (await s.execute(select(Subnet).where(Subnet.network_id == net.id)
                                  .order_by(Subnet.id).with_for_update())).scalars()
        subnets = sorted(locked, key=lambda sub: (sub.created_at, sub.id))
        by_id = {sub.id: sub for sub in subnets}
        wanted: list[tuple[Subnet, str | None]] = []
        if requested is None:
            v4_done = v6_done = False
            for sub in subnets:
                slaac = sub.ipv6_address_mode in ("slaac", "dhcpv6-stateless")
                if slaac:
                    if port.device_owner != ROUTER_INTERFACE:
                        wanted.append((sub, None))
                elif sub.ip_version == 4 and not v4_done:
                    if await self._has_room(s, sub):
                        wanted.append((sub, None))
                        v4_done = True
                elif sub.ip_version == 6 and not v6_done:
                    if await self._has_room(s, sub):
                        wanted.append((sub, None))
                        v6_done = True
            if not v4_done and any(sub.ip_version == 4 for sub in subnets):
                raise errors.IpAddressGenerationFailure(net.id)
        else:
            if len(requested) > self.config.max_fixed_ips_per_port:
                raise errors.fault(400, "InvalidInput",
                                   "Exceeded maximum amount of fixed ips per port.")
            for item in requested:
                if not isinstance(item, dict) or not set(item) <= {"subnet_id", "ip_address"}:
                    raise errors.InvalidInput(f"Invalid data format for fixed IP: '{item}'")
                sid, ip = item.get("subnet_id"), item.get("ip_address")
                if sid is not None:
                    found = by_id.get(sid)
                    if found is None:
                        exists = await s.get(Subnet, sid)
                        if exists is None:
                            raise errors.not_found("Subnet", sid)
                        raise errors.InvalidInput(
                            f"Failed to create port on network {net.id}, because fixed_ips "
                            f"included invalid subnet {sid}")
                    if ip is not None:
                        addr = ipam.parse_ip(ip)
                        if addr not in ipaddress.ip_network(found.cidr):
                            raise errors.fault(400, "InvalidIpForSubnet",
                                               f"IP address {ip} is not a valid IP for the "
                                               "specified subnet.")
                        ip = str(addr)
                    wanted.append((found, ip))
                elif ip is not None:
                    addr = ipam.parse_ip(ip)
                    match = [c for c in subnets if addr in ipaddress.ip_network(c.cidr)]
                    if not match:
                        raise errors.fault(400, "InvalidIpForNetwork",
                                           f"IP address {ip} is not a valid IP for any of "
                                           "the subnets on the specified network.")
                    wanted.append((match[0], str(addr)))
                else:
                    raise errors.InvalidInput("Invalid data format for fixed IP")
        kept = {(a.subnet_id, a.ip_address) for a in keep}
        position = 0
        for sub, ip in wanted:
            if ip is not None and (sub.id, ip) in kept:
                position += 1
                continue
            slaac = sub.ipv6_address_mode in ("slaac", "dhcpv6-stateless")
            if ip is None and slaac:
                ip = ipam.eui64(ipaddress.ip_network(sub.cidr), port.mac_address)
            elif ip is None:
                ip = await self._next_free(s, sub, attempt)
                if ip is None:
                    raise errors.IpAddressGenerationFailure(net.id)
            else:
                taken = await s.get(IPAllocation, (sub.id, ip))
                if taken is not None:
                    raise errors.fault(409, "IpAddressAlreadyAllocated",
                                       f"IP address {ip} already allocated in subnet {sub.id}")
                cidr = ipaddress.ip_network(sub.cidr)
                addr = ipaddress.ip_address(ip)
                if cidr.version == 4 and cidr.prefixlen < 31 and addr in (
                        cidr.network_address, cidr.broadcast_address):
                    raise errors.fault(400, "InvalidIpForSubnet",
                                       f"IP address {ip} is not a valid IP for the "
                                       "specified subnet.")
            s.add(IPAllocation(subnet_id=sub.id, ip_address=ip, network_id=net.id,
                               port_id=port.id, position=position))
            position += 1
        await s.flush()

    async def _has_room(self, s: AsyncSession, sub: Subnet) -> bool:
        return await self._next_free(s, sub, 0) is not None

    async def _next_free(self, s: AsyncSession, sub: Subnet, attempt: int) -> str | None:
        """The lowest free address of the pools; after a lost race, one of the first few free
        ones at random, so that racing writers stop choosing the same one.

        The pools are probed a chunk of addresses at a time (one indexed `IN` query each),
        starting at the lowest address this process last found free in the subnet, then
        wrapping round to the start of the pools; so a pick costs a query or two however full
        the subnet is. The first pick of a subnet in this process, or one that finds nothing
        in `_PROBE_CHUNKS` chunks (a nearly full subnet), reads all the subnet's allocations
        once, as before, and so is exact about a full subnet."""
        gateway = int(ipaddress.ip_address(sub.gateway_ip)) if sub.gateway_ip else None
        ranges = [(int(ipaddress.ip_address(p["start"])), int(ipaddress.ip_address(p["end"])))
                  for p in sub.allocation_pools or []]
        make = ipaddress.IPv4Address if sub.ip_version == 4 else ipaddress.IPv6Address
        want = 1 if attempt == 0 else 4 * attempt
        hint = _HINTS.get(sub.id)
        found: list[int] = []
        chunks = 0
        chunk: list[int] = []

        async def probe() -> None:
            text = [str(make(i)) for i in chunk]
            used = set((await s.execute(select(IPAllocation.ip_address).where(
                IPAllocation.subnet_id == sub.id,
                IPAllocation.ip_address.in_(text)))).scalars())
            found.extend(i for i, t in zip(chunk, text, strict=True) if t not in used)
            chunk.clear()

        # No starting point yet (first pick in this process): read the subnet once instead.
        for i in _scan_order(ranges, hint) if hint is not None else ():
            if i == gateway:
                continue
            chunk.append(i)
            if len(chunk) >= _PROBE_CHUNK:
                await probe()
                chunks += 1
                if len(found) >= want or chunks >= _PROBE_CHUNKS:
                    break
        else:
            if chunk:
                await probe()
        if found:
            _remember(sub.id, found[0])
        elif hint is None or chunks >= _PROBE_CHUNKS:
            used = set((await s.execute(select(IPAllocation.ip_address).where(
                IPAllocation.subnet_id == sub.id))).scalars())
            if sub.gateway_ip:
                used.add(sub.gateway_ip)
            for ip in ipam.candidates(sub.allocation_pools or [], used, sub.ip_version):
                found.append(int(ipaddress.ip_address(ip)))
                if len(found) >= want:
                    break
            if found:
                _remember(sub.id, found[0])
        if not found:
            return None
        return str(make(found[0] if attempt == 0 else random.choice(found[:want])))

    # -- security groups --
    async def _set_groups(self, s: AsyncSession, ctx: RequestContext | None, port: Port,
                          groups: list[str] | None) -> None:
        await s.execute(delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id))
        if groups is None:
            if not port.port_security_enabled or port.device_owner.startswith("network:"):
                return
            default = await ensure_default(s, port.project_id)
            groups = [default] if default else []
        for gid in dict.fromkeys(groups):
            group = await s.get(SecurityGroup, gid)
            visible = group is not None and (
                ctx is None or group.project_id in (ctx.project_id, port.project_id)
                or group.shared or ctx.can("context_is_admin"))
            if not visible:
                raise errors.not_found("SecurityGroup", gid)
            s.add(PortSecurityGroup(port_id=port.id, security_group_id=gid))

    # -- validation --
    def _pairs(self, pairs: object, mac: str) -> list[Attrs]:
        if pairs is None:
            return []
        if not isinstance(pairs, list):
            raise errors.InvalidInput("Allowed address pairs must be a list.")
        out: list[Attrs] = []
        for pair in pairs:
            if not isinstance(pair, dict) or "ip_address" not in pair or not set(pair) <= {
                    "ip_address", "mac_address"}:
                raise errors.fault(400, "AllowedAddressPairsMissingIP",
                                   "Allowed address pair must have an ip_address")
            ip = str(pair["ip_address"])
            try:
                ipaddress.ip_network(ip, strict=False) if "/" in ip else ipaddress.ip_address(ip)
            except ValueError:
                raise errors.InvalidInput(f"'{ip}' is not a valid IP address") from None
            pmac = pair.get("mac_address") or mac
            if not _MAC.match(str(pmac)):
                raise errors.InvalidInput(f"'{pmac}' is not a valid MAC address")
            item = {"ip_address": ip, "mac_address": str(pmac).lower()}
            if item in out:
                raise errors.fault(400, "DuplicateAddressPairInRequest",
                                   "Request contains duplicate address pair: "
                                   f"mac_address {item['mac_address']} ip_address {ip}.")
            out.append(item)
        return out

    @staticmethod
    def _dhcp_opts(opts: object) -> list[Attrs]:
        if opts is None:
            return []
        if not isinstance(opts, list):
            raise errors.InvalidInput("extra_dhcp_opts must be a list")
        out = []
        for o in opts:
            if not isinstance(o, dict) or "opt_name" not in o:
                raise errors.InvalidInput(f"Invalid data format for extra-dhcp-opt: {o}")
            out.append({"opt_name": str(o["opt_name"]),
                        "opt_value": None if o.get("opt_value") is None else str(o["opt_value"]),
                        "ip_version": int(o.get("ip_version") or 4)})
        return out

    def _binding(self, port: Port, attrs: Attrs) -> None:
        if "binding:vnic_type" in attrs and attrs["binding:vnic_type"] is not None:
            if attrs["binding:vnic_type"] not in VNIC_TYPES:
                raise errors.InvalidInput(f"'{attrs['binding:vnic_type']}' is not in "
                                          f"{list(VNIC_TYPES)}")
            port.binding_vnic_type = attrs["binding:vnic_type"]
        if "binding:profile" in attrs:
            profile = attrs["binding:profile"]
            if profile is not None and not isinstance(profile, dict):
                raise errors.InvalidInput(f"'{profile}' is not a dictionary")
            port.binding_profile = profile or {}
        if "binding:host_id" in attrs:
            host = attrs["binding:host_id"] or ""
            if host != port.binding_host_id:
                # wired again (or not at all) on the new host: its agent reports ACTIVE
                port.status = "DOWN"
            port.binding_host_id = host
        # The Linux-bridge data plane binds every port of a host: a bridge per network.
        if port.binding_host_id:
            port.binding_vif_type = "bridge"
            port.binding_vif_details = {"port_filter": True, "connectivity": "l2",
                                        "bridge_name": f"brq{port.network_id[:11]}"}
        else:
            port.binding_vif_type = "unbound"
            port.binding_vif_details = {}

    # -- writes --
    async def make(self, s: AsyncSession, ctx: RequestContext | None, net: Network,
                   attrs: Attrs, project: str, attempt: int = 0) -> Port:
        """A port on `net` (no policy here: the caller checked it, or it is the network's own
        port, e.g. a router gateway)."""
        mac = attrs.get("mac_address")
        if mac is not None:
            if not isinstance(mac, str) or not _MAC.match(mac):
                raise errors.InvalidInput(f"'{mac}' is not a valid MAC address")
            mac = mac.lower().replace("-", ":")
            clash = (await s.execute(select(Port.id).where(
                Port.network_id == net.id, Port.mac_address == mac))).first()
            if clash is not None:
                raise errors.fault(409, "MacAddressInUse",
                                   f"Unable to complete operation for network {net.id}. The "
                                   f"mac address {mac} is in use.")
        else:
            mac = random_mac(self.config.base_mac)
        security = attrs.get("port_security_enabled")
        if security is None:
            security = net.port_security_enabled
        now = utcnow()
        port = Port(id=new_id(), project_id=project, name=attrs.get("name") or "",
                    description=attrs.get("description") or "", network_id=net.id,
                    mac_address=mac,
                    admin_state_up=True if attrs.get("admin_state_up") is None
                    else attrs["admin_state_up"],
                    status="DOWN", device_id=attrs.get("device_id") or "",
                    device_owner=attrs.get("device_owner") or "",
                    port_security_enabled=security, dns_name=attrs.get("dns_name") or "",
                    extra_dhcp_opts=self._dhcp_opts(attrs.get("extra_dhcp_opts")),
                    created_at=now, updated_at=now, revision_number=0)
        port.allowed_address_pairs = self._pairs(attrs.get("allowed_address_pairs"), mac)
        if not security and port.allowed_address_pairs:
            raise errors.fault(409, "AddressPairAndPortSecurityRequired",
                               "Port Security must be enabled in order to have allowed "
                               "address pairs on a port.")
        if not security and attrs.get("security_groups"):
            raise errors.fault(400, "PortSecurityAndIPRequiredForSecurityGroups",
                               "Port security must be enabled and port must have an IP "
                               "address in order to use security groups.")
        self._binding(port, attrs)
        s.add(port)
        await s.flush()
        requested = attrs.get("fixed_ips")
        await self._allocate(s, port, net, requested if "fixed_ips" in attrs else None, attempt)
        await self._set_groups(s, ctx, port, attrs.get("security_groups"))
        return port

    async def network_for(self, s: AsyncSession, ctx: RequestContext, network_id: object
                          ) -> Network:
        if not network_id:
            raise errors.BadRequest("Failed to parse request. Required attribute 'network_id' "
                                    "not specified")
        q = select(Network).where(Network.id == str(network_id))
        if not ctx.can("context_is_admin"):
            q = q.where(network_scope(ctx.project_id))
        net = (await s.execute(q)).scalars().first()
        if net is None:
            raise errors.not_found("Network", str(network_id))
        return net

    async def create(self, ctx: RequestContext, items: list[Attrs]) -> list[Attrs]:
        attempt = 0

        async def run() -> list[Attrs]:
            nonlocal attempt
            attempt += 1
            async with self.db.transaction() as s:
                made = []
                for attrs in items:
                    net = await self.network_for(s, ctx, attrs.get("network_id"))
                    project = attrs.get("project_id") or attrs.get("tenant_id") \
                        or ctx.project_id or ""
                    await ensure_network_shared(s, ctx, net, project)
                    target = {**attrs, "project_id": project, "tenant_id": project,
                              "network:project_id": net.project_id,
                              "network:tenant_id": net.project_id, "shared": net.shared}
                    ctx.enforce("create_port", target)
                    attribute_check(ctx, "create", "port", attrs, target, DEFAULTS)
                    await check_quota(s, self.config, project, "port")
                    made.append(await self.make(s, ctx, net, attrs, project, attempt - 1))
                await s.flush()
                return await self.views(s, made)

        out: list[Attrs] = await retrying(run, tries=40)
        await self.changed(*(str(a["network_id"]) for a in out))
        return [self.shown(ctx, a) for a in out]

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        attempt = 0

        async def run() -> Attrs:
            nonlocal attempt
            attempt += 1
            async with self.db.transaction() as s:
                port = await self.load(s, ctx, ident)
                target = self.target(await self.view_of(s, port))
                ctx.enforce("update_port", {**target, **{k: v for k, v in attrs.items()
                                                         if k == "device_owner"}})
                attribute_check(ctx, "update", "port", attrs, target)
                await self.bump(port, if_match)
                await self._apply(s, ctx, port, attrs, attempt - 1)
                await s.flush()
                return await self.view_of(s, port)

        view: Attrs = await retrying(run, tries=40)
        await self.changed(str(view["network_id"]))
        return self.shown(ctx, view)

    async def _apply(self, s: AsyncSession, ctx: RequestContext, port: Port, attrs: Attrs,
                     attempt: int) -> None:
        for key in ("name", "description", "admin_state_up", "device_id", "device_owner",
                    "dns_name"):
            if key in attrs and attrs[key] is not None:
                setattr(port, key, attrs[key])
        if "mac_address" in attrs and attrs["mac_address"] not in (None, port.mac_address):
            if port.binding_host_id:
                raise errors.fault(409, "PortBound",
                                   f"Port {port.id} is bound; its MAC address cannot change.")
            mac = str(attrs["mac_address"])
            if not _MAC.match(mac):
                raise errors.InvalidInput(f"'{mac}' is not a valid MAC address")
            port.mac_address = mac.lower()
        if "port_security_enabled" in attrs and attrs["port_security_enabled"] is not None:
            port.port_security_enabled = attrs["port_security_enabled"]
        if "allowed_address_pairs" in attrs:
            port.allowed_address_pairs = self._pairs(attrs["allowed_address_pairs"],
                                                     port.mac_address)
        if "extra_dhcp_opts" in attrs:
            port.extra_dhcp_opts = self._merge_opts(port.extra_dhcp_opts,
                                                    attrs["extra_dhcp_opts"])
        self._binding(port, attrs)
        if "security_groups" in attrs:
            await self._set_groups(s, ctx, port, list(attrs["security_groups"] or []))
        groups = (await s.execute(select(PortSecurityGroup).where(
            PortSecurityGroup.port_id == port.id))).first()
        if not port.port_security_enabled:
            if "security_groups" not in attrs and groups is not None \
                    and "port_security_enabled" in attrs:
                await s.execute(delete(PortSecurityGroup).where(
                    PortSecurityGroup.port_id == port.id))
                groups = None
            if groups is not None:
                raise errors.fault(409, "PortSecurityPortHasSecurityGroup",
                                   "Port has security group associated. Cannot disable port "
                                   "security or ip address until security group is removed")
            if port.allowed_address_pairs:
                raise errors.fault(409, "AddressPairAndPortSecurityRequired",
                                   "Port Security must be enabled in order to have allowed "
                                   "address pairs on a port.")
        if "fixed_ips" in attrs:
            net = await s.get(Network, port.network_id)
            assert net is not None
            current = list((await s.execute(select(IPAllocation).where(
                IPAllocation.port_id == port.id))).scalars())
            asked = list(attrs["fixed_ips"] or [])
            keep = []
            for a in current:
                if any(item.get("ip_address") == a.ip_address and
                       item.get("subnet_id") in (None, a.subnet_id) for item in asked):
                    keep.append(a)
                else:
                    await s.delete(a)
                    forget_below(a.subnet_id, a.ip_address)
            await s.flush()
            await self._allocate(s, port, net, asked, attempt, keep)

    @staticmethod
    def _merge_opts(current: list[Attrs], changes: object) -> list[Attrs]:
        """Neutron merges extra_dhcp_opts by name; a null value removes one."""
        if changes is None:
            return list(current or [])
        merged = {(o["opt_name"], o.get("ip_version", 4)): o for o in current or []}
        for o in Ports._dhcp_opts([c for c in changes if isinstance(c, dict)]) \
                if isinstance(changes, list) else []:
            key = (o["opt_name"], o["ip_version"])
            if o["opt_value"] is None:
                merged.pop(key, None)
            else:
                merged[key] = o
        return list(merged.values())

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            port = await self.load(s, ctx, ident)
            ctx.enforce("delete_port", self.target(await self.view_of(s, port)))
            if port.device_owner in (ROUTER_INTERFACE, ROUTER_GATEWAY, FLOATING_IP):
                raise errors.fault(409, "ServicePortInUse",
                                   f"Port {port.id} cannot be deleted directly via the port "
                                   f"API: has device owner {port.device_owner}.")
            network_id = port.network_id
            await self.remove(s, port)
        await self.changed(network_id)

    async def remove(self, s: AsyncSession, port: Port) -> None:
        """Delete a port and free what it held (floating IPs on it are disassociated)."""
        for fip in (await s.execute(select(FloatingIP).where(
                FloatingIP.port_id == port.id))).scalars():
            fip.port_id = None
            fip.fixed_ip_address = None
            fip.router_id = None
            fip.status = "DOWN"
            fip.revision_number += 1
        for sid, ip in (await s.execute(select(IPAllocation.subnet_id, IPAllocation.ip_address)
                                        .where(IPAllocation.port_id == port.id))).all():
            forget_below(sid, ip)
        await s.execute(delete(IPAllocation).where(IPAllocation.port_id == port.id))
        await s.execute(delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id))
        await self.delete_row(s, port)

