"""Networks: shared and external networks, MTU by segment type, provider attributes with
segmentation ids allocated from the configured ranges, availability zones.

A caller sees its project's networks, shared ones, external ones, and those an RBAC policy
shares with its project (access_as_shared) or lets it use as external (access_as_external).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors
from overcast.network.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    RBACPolicy,
    Router,
    SegmentAllocation,
    Subnet,
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

__all__ = ["NETWORK", "Networks", "ensure_network_shared", "network_scope", "shared_scope"]

#: VXLAN's header takes 50 bytes of the physical network's MTU (IPv4 underlay).
VXLAN_OVERHEAD = 50
NETWORK_TYPES = ("flat", "vlan", "vxlan", "local")
#: Ports the network itself owns; a network with only these left can be deleted.
NETWORK_OWNED = ("network:dhcp",)


def network_scope(project_id: str | None,
                  actions: tuple[str, ...] = ("access_as_shared", "access_as_external")
                  ) -> ColumnElement[bool]:
    """The networks a project sees: its own, and those an RBAC policy of `actions` grants to
    it or to everyone (`router:external` alone grants nothing: a network can be external for
    one project only)."""
    granted = select(RBACPolicy.object_id).where(
        RBACPolicy.object_type == "network", RBACPolicy.action.in_(actions),
        RBACPolicy.target_tenant.in_(("*", project_id or "")))
    return or_(Network.project_id == (project_id or ""), Network.id.in_(granted))


def shared_scope(project_id: str | None) -> ColumnElement[bool]:
    """The networks on which a project may create ports and subnets (and see subnets): its
    own and those shared with it or with everyone; an external network is not shared."""
    return network_scope(project_id, ("access_as_shared",))


async def ensure_network_shared(s: AsyncSession, ctx: RequestContext, net: Network,
                                project: str) -> None:
    """A port or subnet of `project` goes only on its own network or one shared with it:
    an external (or otherwise visible) network is not enough. Neutron answers 404 to hide
    the network (`_validate_network_tenant_ownership`)."""
    if ctx.can("context_is_admin") or net.project_id == project:
        return
    if (await s.execute(select(Network.id).where(
            Network.id == net.id, shared_scope(project)))).first() is None:
        raise errors.fault(404, "HTTPNotFound", "The resource could not be found.")


async def _extras(s: AsyncSession, rows: Sequence[Any]) -> dict[str, Attrs]:
    ids = [r.id for r in rows]
    subnets: dict[str, list[str]] = {i: [] for i in ids}
    for sid, nid in (await s.execute(select(Subnet.id, Subnet.network_id)
                                     .where(Subnet.network_id.in_(ids))
                                     .order_by(Subnet.created_at, Subnet.id))).all():
        subnets[nid].append(sid)
    return {i: {"subnets": subnets[i]} for i in ids}


def _view(n: Network, extra: Attrs) -> Attrs:
    return {
        "id": n.id,
        "name": n.name,
        "status": n.status,
        "admin_state_up": n.admin_state_up,
        "shared": n.shared,
        "router:external": n.router_external,
        "is_default": n.is_default,
        "mtu": n.mtu,
        "port_security_enabled": n.port_security_enabled,
        "dns_domain": n.dns_domain,
        "availability_zone_hints": list(n.availability_zone_hints or []),
        "availability_zones": ["nova"],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "l2_adjacency": True,
        "subnets": extra.get("subnets", []),
        "provider:network_type": n.network_type or None,
        "provider:physical_network": n.physical_network,
        "provider:segmentation_id": n.segmentation_id,
    }


def _subnet_filter(values: list[str]) -> ColumnElement[bool]:
    return Network.id.in_(select(Subnet.network_id).where(Subnet.id.in_(values)))


NETWORK = Kind(
    name="network", collection="networks", label="Network", model=Network,
    columns={"id": Network.id, "name": Network.name, "status": Network.status,
             "admin_state_up": Network.admin_state_up, "shared": Network.shared,
             "router:external": Network.router_external, "is_default": Network.is_default,
             "mtu": Network.mtu, "port_security_enabled": Network.port_security_enabled,
             "dns_domain": Network.dns_domain, "project_id": Network.project_id,
             "tenant_id": Network.project_id, "description": Network.description,
             "created_at": Network.created_at, "updated_at": Network.updated_at,
             "revision_number": Network.revision_number,
             "provider:network_type": Network.network_type,
             "provider:physical_network": Network.physical_network,
             "provider:segmentation_id": Network.segmentation_id},
    view=_view, extras=_extras, filters={"subnets": _subnet_filter}, scope=network_scope)

DEFAULTS = {"shared": False, "router:external": False, "is_default": False,
            "port_security_enabled": True}


def _ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for part in spec.split(","):
        if part.strip():
            lo, _, hi = part.strip().partition(":")
            out.append((int(lo), int(hi or lo)))
    return out


class Networks(Collection):
    kind = NETWORK

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)
        self.config = config

    async def for_caller(self, s: AsyncSession, ctx: RequestContext,
                         views: list[Attrs]) -> None:
        """A network an RBAC policy shares with the caller's project is `shared` for it."""
        if not ctx.project_id or not views:
            return
        granted = set((await s.execute(select(RBACPolicy.object_id).where(
            RBACPolicy.object_type == "network", RBACPolicy.action == "access_as_shared",
            RBACPolicy.target_tenant == ctx.project_id,
            RBACPolicy.object_id.in_([v["id"] for v in views])))).scalars())
        for v in views:
            if v["id"] in granted:
                v["shared"] = True

    # -- segments --
    def _vlan_ranges(self) -> dict[str, list[tuple[int, int]]]:
        out: dict[str, list[tuple[int, int]]] = {}
        for item in self.config.network_vlan_ranges.split(","):
            if not item.strip():
                continue
            physnet, *rng = item.strip().split(":")
            out.setdefault(physnet, [])
            if len(rng) == 2:
                out[physnet].append((int(rng[0]), int(rng[1])))
        return out

    async def _free_id(self, s: AsyncSession, network_type: str, physnet: str,
                       ranges: list[tuple[int, int]]) -> int | None:
        used = set((await s.execute(select(SegmentAllocation.segmentation_id).where(
            SegmentAllocation.network_type == network_type,
            SegmentAllocation.physical_network == physnet))).scalars())
        for lo, hi in ranges:
            for i in range(lo, hi + 1):
                if i not in used:
                    return i
        return None

    async def _segment(self, s: AsyncSession, net: Network, attrs: Attrs) -> None:
        """Give the network its segment: the provider attributes asked for (validated), else
        the first project network type with a free id."""
        ntype = attrs.get("provider:network_type")
        physnet = attrs.get("provider:physical_network")
        seg = attrs.get("provider:segmentation_id")
        if ntype is None and (physnet is not None or seg is not None):
            raise errors.InvalidInput("provider:network_type required")
        if ntype is None:
            for candidate in [t.strip() for t in self.config.tenant_network_types.split(",")]:
                if candidate == "vxlan":
                    vni = await self._free_id(s, "vxlan", "", _ranges(self.config.vni_ranges))
                    if vni is not None:
                        ntype, seg = "vxlan", vni
                        break
                elif candidate == "vlan":
                    for pn, rngs in self._vlan_ranges().items():
                        vid = await self._free_id(s, "vlan", pn, rngs)
                        if vid is not None:
                            ntype, physnet, seg = "vlan", pn, vid
                            break
                    if ntype:
                        break
                elif candidate == "local":
                    ntype = "local"
                    break
            if ntype is None:
                raise errors.fault(409, "NoNetworkAvailable",
                                   "Unable to create the network. No tenant network is "
                                   "available for allocation.")
        elif ntype not in NETWORK_TYPES:
            raise errors.InvalidInput(f"network_type value '{ntype}' not supported")
        elif ntype == "flat":
            if not physnet:
                raise errors.InvalidInput("physical_network required for flat provider network")
            if seg is not None:
                raise errors.InvalidInput(f"segmentation_id specified for {ntype} network")
            allowed = [p.strip() for p in self.config.flat_networks.split(",")]
            if "*" not in allowed and physnet not in allowed:
                raise errors.InvalidInput(f"physical_network '{physnet}' unknown for flat "
                                          "provider network")
            seg_key = 0
        elif ntype == "vlan":
            if not physnet:
                raise errors.InvalidInput("physical_network required for VLAN provider network")
            if seg is None:
                seg = await self._free_id(s, "vlan", physnet,
                                          self._vlan_ranges().get(physnet, []))
                if seg is None:
                    raise errors.fault(409, "NoNetworkAvailable",
                                       "Unable to create the network. No tenant network is "
                                       "available for allocation.")
            elif not 1 <= int(seg) <= 4094:
                raise errors.InvalidInput("segmentation_id out of range (1 through 4094)")
        elif ntype == "vxlan":
            if physnet:
                raise errors.InvalidInput("provider:physical_network specified for VXLAN "
                                          "network")
            if seg is None:
                seg = await self._free_id(s, "vxlan", "", _ranges(self.config.vni_ranges))
                if seg is None:
                    raise errors.fault(409, "NoNetworkAvailable",
                                       "Unable to create the network. No tenant network is "
                                       "available for allocation.")
            elif not 1 <= int(seg) < 2 ** 24:
                raise errors.InvalidInput("segmentation_id out of range (1 through 16777215)")
        elif ntype == "local" and (physnet or seg is not None):
            raise errors.InvalidInput("provider attributes specified for local network")
        net.network_type = ntype
        net.physical_network = physnet or None
        net.segmentation_id = None if ntype in ("flat", "local") else seg
        net.mtu = self.config.global_physnet_mtu - (VXLAN_OVERHEAD if ntype == "vxlan" else 0)
        if ntype in ("flat", "vlan", "vxlan"):
            seg_key = 0 if ntype == "flat" else int(seg or 0)
            taken = await s.get(SegmentAllocation, (ntype, physnet or "", seg_key))
            if taken is not None:
                kind = {"vlan": "VlanIdInUse", "flat": "FlatNetworkInUse"}.get(
                    ntype, "TunnelIdInUse")
                raise errors.fault(409, kind, (
                    f"Unable to create the flat network. Physical network {physnet} is in use."
                    if ntype == "flat" else
                    f"Unable to create the {ntype} network. The segmentation id {seg_key} on "
                    f"physical network {physnet or ''} is in use."))
            s.add(SegmentAllocation(network_type=ntype, physical_network=physnet or "",
                                    segmentation_id=seg_key, network_id=net.id))

    # -- writes --
    async def create(self, ctx: RequestContext, items: list[Attrs]) -> list[Attrs]:
        async def attempt() -> list[Attrs]:
            async with self.db.transaction() as s:
                rows = [await self._create(s, ctx, attrs) for attrs in items]
                await s.flush()
                return await self.views(s, rows)
        out: list[Attrs] = await retrying(attempt)
        return [self.shown(ctx, a) for a in out]

    async def _create(self, s: AsyncSession, ctx: RequestContext, attrs: Attrs) -> Network:
        project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
        target = {**attrs, "project_id": project, "tenant_id": project}
        ctx.enforce("create_network", target)
        attribute_check(ctx, "create", "network", attrs, target, DEFAULTS)
        await check_quota(s, self.config, project, "network")
        hints = attrs.get("availability_zone_hints") or []
        zones = [z.strip() for z in self.config.default_availability_zones.split(",")]
        for zone in hints:
            if zone not in zones:
                raise errors.fault(404, "AvailabilityZoneNotFound",
                                   f"AvailabilityZone {zone} could not be found.")
        now = utcnow()
        net = Network(
            id=new_id(), project_id=project, name=attrs.get("name") or "",
            description=attrs.get("description") or "",
            admin_state_up=attrs.get("admin_state_up", True),
            shared=bool(attrs.get("shared", False)),
            router_external=bool(attrs.get("router:external", False)),
            is_default=bool(attrs.get("is_default", False)),
            port_security_enabled=attrs.get("port_security_enabled", True),
            dns_domain=attrs.get("dns_domain") or "",
            availability_zone_hints=hints, created_at=now, updated_at=now, revision_number=0)
        s.add(net)
        await s.flush()
        await self._segment(s, net, attrs)
        mtu = attrs.get("mtu")
        if mtu is not None:
            if mtu > net.mtu:
                raise errors.InvalidInput(f"Requested MTU is too big, maximum is {net.mtu}")
            net.mtu = mtu
        if net.shared:
            s.add(RBACPolicy(id=new_id(), project_id=project, object_type="network",
                             object_id=net.id, action="access_as_shared", target_tenant="*",
                             created_at=now, updated_at=now))
        if net.router_external:
            s.add(RBACPolicy(id=new_id(), project_id=project, object_type="network",
                             object_id=net.id, action="access_as_external", target_tenant="*",
                             created_at=now, updated_at=now))
        return net

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.transaction() as s:
            net = await self.load(s, ctx, ident)
            target = self.target(await self.view_of(s, net))
            ctx.enforce("update_network", target)
            attribute_check(ctx, "update", "network", attrs, target)
            for key in ("provider:network_type", "provider:physical_network",
                        "provider:segmentation_id"):
                if key in attrs and attrs[key] != target.get(key):
                    raise errors.fault(400, "InvalidInput",
                                       "Plugin does not support updating provider "
                                       "attributes")
            await self.bump(net, if_match)
            for key in ("name", "description", "admin_state_up", "port_security_enabled",
                        "dns_domain", "is_default"):
                if key in attrs and attrs[key] is not None:
                    setattr(net, key, attrs[key])
            if "mtu" in attrs and attrs["mtu"] is not None:
                top = self.config.global_physnet_mtu - (
                    VXLAN_OVERHEAD if net.network_type == "vxlan" else 0)
                if attrs["mtu"] > top:
                    raise errors.InvalidInput(f"Requested MTU is too big, maximum is {top}")
                net.mtu = attrs["mtu"]
            for key, column, action in (("shared", "shared", "access_as_shared"),
                                        ("router:external", "router_external",
                                         "access_as_external")):
                if key in attrs and attrs[key] is not None and attrs[key] != getattr(net, column):
                    await self._wildcard(s, net, action, bool(attrs[key]))
                    setattr(net, column, bool(attrs[key]))
            await s.flush()
            view = await self.view_of(s, net)
        await self.changed(net.id)
        return self.shown(ctx, view)

    async def _wildcard(self, s: AsyncSession, net: Network, action: str, on: bool) -> None:
        """Keep the '*' RBAC policy of `action` in step with the shared / external flag."""
        found = (await s.execute(select(RBACPolicy).where(
            RBACPolicy.object_id == net.id, RBACPolicy.action == action,
            RBACPolicy.target_tenant == "*"))).scalars().first()
        if on and found is None:
            now = utcnow()
            s.add(RBACPolicy(id=new_id(), project_id=net.project_id, object_type="network",
                             object_id=net.id, action=action, target_tenant="*",
                             created_at=now, updated_at=now))
        elif not on and action == "access_as_shared":
            if found is not None:
                await self._refuse_unshare(s, net)
                await s.delete(found)
        elif not on:
            # no longer external: every access_as_external policy goes (Neutron), unless a
            # router's gateway is on it
            if (await s.execute(select(Router.id).where(Router.gw_network_id == net.id))
                    ).first():
                raise errors.fault(409, "ExternalNetworkInUse",
                                   f"External network {net.id} cannot be updated to be made "
                                   "non-external, since it has existing gateway ports.")
            await s.execute(delete(RBACPolicy).where(
                RBACPolicy.object_id == net.id, RBACPolicy.action == action))

    async def _refuse_unshare(self, s: AsyncSession, net: Network) -> None:
        # projects an RBAC policy of their own shares the network with keep their access
        granted = select(RBACPolicy.target_tenant).where(
            RBACPolicy.object_id == net.id, RBACPolicy.action == "access_as_shared",
            RBACPolicy.target_tenant != "*")
        others = await s.scalar(select(func.count()).select_from(Port).where(
            Port.network_id == net.id, Port.project_id != net.project_id,
            Port.project_id != "", Port.project_id.not_in(granted)))
        if others:
            raise errors.fault(409, "InvalidSharedSetting",
                               f"Unable to reconfigure sharing settings for network "
                               f"{net.id}. Multiple tenants are using it.")

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            net = await self.load(s, ctx, ident)
            ctx.enforce("delete_network", self.target(await self.view_of(s, net)))
            # Unassociated floating IPs go with their external network (Neutron's L3 plugin
            # deletes them first); associated ones keep it in use.
            for fip in (await s.execute(select(FloatingIP).where(
                    FloatingIP.floating_network_id == ident))).scalars():
                if fip.port_id is not None:
                    raise errors.fault(409, "NetworkInUse",
                                       f"Unable to complete operation on network {ident}. "
                                       "There are one or more ports still in use on the "
                                       "network.")
                await s.execute(delete(Port).where(Port.id == fip.floating_port_id))
                await self.delete_row(s, fip)
            await s.flush()
            ports = (await s.execute(select(Port).where(Port.network_id == ident))).scalars()
            busy = [p for p in ports if p.device_owner not in NETWORK_OWNED]
            if busy:
                raise errors.fault(409, "NetworkInUse",
                                   f"Unable to complete operation on network {ident}. There are "
                                   "one or more ports still in use on the network.")
            await s.execute(delete(IPAllocation).where(
                IPAllocation.network_id == ident))
            for p in (await s.execute(select(Port).where(Port.network_id == ident))).scalars():
                await self.delete_row(s, p)
            for sub in (await s.execute(select(Subnet).where(
                    Subnet.network_id == ident))).scalars():
                await self.delete_row(s, sub)
            await s.execute(delete(RBACPolicy).where(
                RBACPolicy.object_type == "network", RBACPolicy.object_id == ident))
            await self.delete_row(s, net)
        await self.changed(ident)
