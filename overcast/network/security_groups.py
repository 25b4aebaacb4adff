"""Security groups and their rules. Each project has a `default` group, made on its first use
(listing groups, creating a group or a port) with Neutron's default rules: all egress, and
ingress from members of the same group, for IPv4 and IPv6."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.faults import Fault
from overcast.config import NetworkSection
from overcast.network import errors
from overcast.network.models import (
    DefaultSecurityGroup,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from overcast.network.quotas import check_quota
from overcast.network.resources import (
    Attrs,
    Collection,
    Kind,
    Listed,
    ListQuery,
    attribute_check,
    iso,
    new_id,
)

__all__ = ["RULE", "SECURITY_GROUP", "SecurityGroupRules", "SecurityGroups", "ensure_default"]

#: IANA protocol names Neutron accepts, and their numbers.
PROTOCOLS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2,
    "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58,
    "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46,
    "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
PORT_PROTOCOLS = {"tcp", "udp", "sctp", "dccp", "udplite", "6", "17", "132", "33", "136"}
ICMP_PROTOCOLS = {"icmp", "ipv6-icmp", "icmpv6", "1", "58"}


def rule_view(r: SecurityGroupRule) -> Attrs:
    prefix = r.remote_ip_prefix
    return {
        "id": r.id,
        "security_group_id": r.security_group_id,
        "direction": r.direction,
        "ethertype": r.ethertype,
        "protocol": r.protocol,
        "port_range_min": r.port_range_min,
        "port_range_max": r.port_range_max,
        "remote_ip_prefix": prefix,
        "normalized_cidr": str(ipaddress.ip_network(prefix, strict=False)) if prefix else None,
        "remote_group_id": r.remote_group_id,
        "remote_address_group_id": r.remote_address_group_id,
        "belongs_to_default_sg": None,
        "project_id": r.project_id,
        "tenant_id": r.project_id,
        "description": r.description,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "revision_number": r.revision_number,
    }


async def _group_extras(s: AsyncSession, rows: Sequence[Any]) -> dict[str, Attrs]:
    ids = [r.id for r in rows]
    rules: dict[str, list[Attrs]] = {i: [] for i in ids}
    for r in (await s.execute(select(SecurityGroupRule).where(
            SecurityGroupRule.security_group_id.in_(ids))
            .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id))).scalars():
        rules[r.security_group_id].append(rule_view(r))
    defaults = set((await s.execute(select(DefaultSecurityGroup.security_group_id).where(
        DefaultSecurityGroup.security_group_id.in_(ids)))).scalars())
    return {i: {"rules": rules[i], "default": i in defaults} for i in ids}


def _group_view(g: SecurityGroup, extra: Attrs) -> Attrs:
    rules = extra.get("rules", [])
    for r in rules:
        r["belongs_to_default_sg"] = extra.get("default", False)
    return {"id": g.id, "name": g.name, "stateful": g.stateful, "shared": g.shared,
            "security_group_rules": rules}


def _group_scope(project_id: str | None) -> Any:
    return or_(SecurityGroup.project_id == (project_id or ""), SecurityGroup.shared.is_(True))


SECURITY_GROUP = Kind(
    name="security_group", collection="security_groups", label="SecurityGroup",
    model=SecurityGroup,
    columns={"id": SecurityGroup.id, "name": SecurityGroup.name,
             "stateful": SecurityGroup.stateful, "shared": SecurityGroup.shared,
             "project_id": SecurityGroup.project_id, "tenant_id": SecurityGroup.project_id,
             "description": SecurityGroup.description, "created_at": SecurityGroup.created_at,
             "updated_at": SecurityGroup.updated_at,
             "revision_number": SecurityGroup.revision_number},
    view=_group_view, extras=_group_extras, scope=_group_scope)


async def _rule_extras(s: AsyncSession, rows: Sequence[Any]) -> dict[str, Attrs]:
    groups = {r.security_group_id for r in rows}
    owners = dict((await s.execute(select(SecurityGroup.id, SecurityGroup.project_id).where(
        SecurityGroup.id.in_(groups)))).all())
    defaults = set((await s.execute(select(DefaultSecurityGroup.security_group_id).where(
        DefaultSecurityGroup.security_group_id.in_(groups)))).scalars())
    return {r.id: {"sg_project_id": owners.get(r.security_group_id, ""),
                   "default": r.security_group_id in defaults} for r in rows}


def _rule_view(r: SecurityGroupRule, extra: Attrs) -> Attrs:
    v = rule_view(r)
    v["belongs_to_default_sg"] = extra.get("default", False)
    v["_sg_project_id"] = extra.get("sg_project_id", "")
    return v


def _rule_scope(project_id: str | None) -> Any:
    own_groups = select(SecurityGroup.id).where(_group_scope(project_id))
    return or_(SecurityGroupRule.project_id == (project_id or ""),
               SecurityGroupRule.security_group_id.in_(own_groups))


RULE = Kind(
    name="security_group_rule", collection="security_group_rules", label="SecurityGroupRule",
    model=SecurityGroupRule,
    columns={"id": SecurityGroupRule.id,
             "security_group_id": SecurityGroupRule.security_group_id,
             "direction": SecurityGroupRule.direction, "ethertype": SecurityGroupRule.ethertype,
             "protocol": SecurityGroupRule.protocol,
             "port_range_min": SecurityGroupRule.port_range_min,
             "port_range_max": SecurityGroupRule.port_range_max,
             "remote_ip_prefix": SecurityGroupRule.remote_ip_prefix,
             "remote_group_id": SecurityGroupRule.remote_group_id,
             "remote_address_group_id": SecurityGroupRule.remote_address_group_id,
             "project_id": SecurityGroupRule.project_id,
             "tenant_id": SecurityGroupRule.project_id,
             "description": SecurityGroupRule.description,
             "created_at": SecurityGroupRule.created_at,
             "updated_at": SecurityGroupRule.updated_at,
             "revision_number": SecurityGroupRule.revision_number},
    view=_rule_view, extras=_rule_extras, scope=_rule_scope,
    target_extras=lambda a: {"security_group:project_id": a.get("_sg_project_id"),
                             "security_group:tenant_id": a.get("_sg_project_id")})


def _new_rule(group: SecurityGroup, direction: str, ethertype: str,
              remote_group: str | None = None) -> SecurityGroupRule:
    now = utcnow()
    return SecurityGroupRule(id=new_id(), project_id=group.project_id, description="",
                             security_group_id=group.id, direction=direction,
                             ethertype=ethertype, remote_group_id=remote_group,
                             created_at=now, updated_at=now, revision_number=0)


async def ensure_default(s: AsyncSession, project_id: str) -> str | None:
    """The project's default group's id, made with Neutron's default rules if it has none."""
    if not project_id:
        return None
    found = await s.get(DefaultSecurityGroup, project_id)
    if found is not None:
        return found.security_group_id
    now = utcnow()
    group = SecurityGroup(id=new_id(), project_id=project_id, name="default",
                          description="Default security group", stateful=True,
                          created_at=now, updated_at=now, revision_number=0)
    try:
        async with s.begin_nested():
            s.add(group)
            await s.flush()
            s.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
            await s.flush()
            for ethertype in ("IPv4", "IPv6"):
                s.add(_new_rule(group, "egress", ethertype))
                s.add(_new_rule(group, "ingress", ethertype, group.id))
            await s.flush()
    except IntegrityError:  # another request made it first
        found = await s.get(DefaultSecurityGroup, project_id)
        return found.security_group_id if found else None
    return group.id


class SecurityGroups(Collection):
    kind = SECURITY_GROUP

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)
        self.config = config

    async def list(self, ctx: RequestContext, q: ListQuery, extra: Any = None) -> Listed:
        if ctx.project_id:
            async with self.db.transaction() as s:
                await ensure_default(s, ctx.project_id)
        return await super().list(ctx, q, extra)

    async def create(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
        target = {**attrs, "project_id": project, "tenant_id": project}
        async with self.db.transaction() as s:
            ctx.enforce("create_security_group", target)
            attribute_check(ctx, "create", "security_group", attrs, target, {"shared": False})
            await ensure_default(s, project)
            if attrs.get("name") == "default":
                raise _default_exists()
            await check_quota(s, self.config, project, "security_group")
            now = utcnow()
            group = SecurityGroup(id=new_id(), project_id=project, name=attrs.get("name") or "",
                                  description=attrs.get("description") or "",
                                  stateful=attrs.get("stateful", True)
                                  if attrs.get("stateful") is not None else True,
                                  shared=bool(attrs.get("shared", False)),
                                  created_at=now, updated_at=now, revision_number=0)
            s.add(group)
            await s.flush()
            for ethertype in ("IPv4", "IPv6"):
                s.add(_new_rule(group, "egress", ethertype))
            await s.flush()
            view = await self.view_of(s, group)
        return self.shown(ctx, view)

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.transaction() as s:
            group = await self.load(s, ctx, ident)
            ctx.enforce("update_security_group", self.target(await self.view_of(s, group)))
            is_default = await s.get(DefaultSecurityGroup, group.project_id)
            if "name" in attrs and attrs["name"] != group.name:
                if is_default is not None and is_default.security_group_id == group.id:
                    raise errors.fault(409, "SecurityGroupCannotUpdateDefault",
                                       "Updating default security group not allowed.")
                if attrs["name"] == "default":
                    raise _default_exists()
            if "stateful" in attrs and attrs["stateful"] != group.stateful:
                used = await s.scalar(select(func.count()).select_from(PortSecurityGroup).where(
                    PortSecurityGroup.security_group_id == group.id))
                if used:
                    raise errors.fault(409, "SecurityGroupInUse",
                                       f"Security Group {group.id} in use.")
            await self.bump(group, if_match)
            for key in ("name", "description", "stateful"):
                if key in attrs and attrs[key] is not None:
                    setattr(group, key, attrs[key])
            await s.flush()
            view = await self.view_of(s, group)
        return self.shown(ctx, view)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            group = await self.load(s, ctx, ident)
            ctx.enforce("delete_security_group", self.target(await self.view_of(s, group)))
            default = await s.get(DefaultSecurityGroup, group.project_id)
            if default is not None and default.security_group_id == group.id \
                    and not ctx.can("context_is_admin"):
                raise errors.fault(409, "SecurityGroupCannotRemoveDefault",
                                   "Insufficient rights for removing default security group.")
            used = await s.scalar(select(func.count()).select_from(PortSecurityGroup).where(
                PortSecurityGroup.security_group_id == group.id))
            if used:
                raise errors.fault(409, "SecurityGroupInUse", f"Security Group {group.id} in use.")
            if default is not None and default.security_group_id == group.id:
                await s.delete(default)
            for r in (await s.execute(select(SecurityGroupRule).where(
                    SecurityGroupRule.security_group_id == group.id))).scalars():
                await self.delete_row(s, r)
            await self.delete_row(s, group)


def _default_exists() -> Fault:
    return errors.fault(409, "SecurityGroupDefaultAlreadyExists",
                        "Default security group already exists.")


def _bad(message: str, wire_type: str) -> Fault:
    return errors.fault(400, wire_type, message)


def _port(value: object) -> int | None:
    if value is None:
        return None
    try:
        port = int(str(value))
    except ValueError:
        raise errors.InvalidInput(f"Invalid value for port {value}") from None
    if not 0 <= port <= 65535:
        raise errors.InvalidInput(f"Invalid value for port {value}")
    return port


def checked_rule(attrs: Attrs) -> Attrs:
    """A rule's attributes as Neutron validates them (words tempest checks)."""
    direction = attrs.get("direction")
    if direction not in ("ingress", "egress"):
        raise errors.InvalidInput(f"'{direction}' is not in ['ingress', 'egress']")
    ethertype = attrs.get("ethertype") or "IPv4"
    if ethertype not in ("IPv4", "IPv6"):
        raise errors.InvalidInput(f"'{ethertype}' is not in ['IPv4', 'IPv6']")
    protocol = attrs.get("protocol")
    if protocol is not None:
        protocol = str(protocol).lower()
        if protocol == "any":
            protocol = None
        elif protocol not in PROTOCOLS:
            if not protocol.isdigit() or not 0 <= int(protocol) <= 255:
                raise _bad(f"Security group rule protocol {attrs.get('protocol')} not "
                           f"supported. Only protocol values {list(PROTOCOLS)} and integer "
                           "representations [0 to 255] are supported.",
                           "SecurityGroupRuleInvalidProtocol")
    lo, hi = _port(attrs.get("port_range_min")), _port(attrs.get("port_range_max"))
    if protocol is None and (lo is not None or hi is not None):
        raise _bad("Must also specify protocol if port range is given.",
                   "SecurityGroupProtocolRequiredWithPorts")
    if protocol in PORT_PROTOCOLS:
        if lo == 0 or hi == 0:
            raise _bad("Invalid value for port 0", "SecurityGroupInvalidPortValue")
        if lo is not None and hi is None:
            hi = lo
        if (lo is None and hi is not None) or (lo is not None and hi is not None and lo > hi):
            raise _bad("For TCP/UDP protocols, port_range_min must be <= port_range_max",
                       "SecurityGroupInvalidPortRange")
    elif protocol in ICMP_PROTOCOLS:
        for value, field, name in ((lo, "type", "port-range-min"),
                                   (hi, "code", "port-range-max")):
            if value is not None and not 0 <= value <= 255:
                raise _bad(f"Invalid value for ICMP {field} ({name}): {value}",
                           "SecurityGroupInvalidIcmpValue")
        if lo is None and hi is not None:
            raise _bad(f"ICMP code (port-range-max) {hi} is provided but ICMP type "
                       "(port-range-min) is missing.", "SecurityGroupMissingIcmpType")
    elif lo is not None or hi is not None:
        raise _bad(f"Invalid protocol {protocol} for port range, only supported for TCP, UDP, "
                   "UDPLITE, SCTP, DCCP and ICMP protocols", "SecurityGroupInvalidProtocolForPort")
    prefix = attrs.get("remote_ip_prefix")
    if prefix is not None:
        try:
            net = ipaddress.ip_network(str(prefix), strict=False)
        except ValueError:
            raise errors.InvalidInput(f"'{prefix}' is not a valid IP subnet") from None
        if f"IPv{net.version}" != ethertype:
            raise _bad(f"Conflicting value ethertype {ethertype} for CIDR {prefix}",
                       "SecurityGroupRuleParameterConflict")
        if "/" not in str(prefix):
            prefix = str(net)
    if prefix is not None and attrs.get("remote_group_id"):
        raise _bad("Only remote_ip_prefix or remote_group_id may be provided.",
                   "SecurityGroupRemoteGroupAndRemoteIpPrefix")
    if attrs.get("remote_address_group_id") and (prefix or attrs.get("remote_group_id")):
        raise _bad("Only one of remote_ip_prefix, remote_group_id or remote_address_group_id "
                   "may be provided.", "SecurityGroupRemoteGroupAndRemoteIpPrefix")
    return {"direction": direction, "ethertype": ethertype, "protocol": protocol,
            "port_range_min": lo, "port_range_max": hi, "remote_ip_prefix": prefix,
            "remote_group_id": attrs.get("remote_group_id"),
            "remote_address_group_id": attrs.get("remote_address_group_id")}


def _same(r: SecurityGroupRule, c: Attrs) -> bool:
    def proto(p: str | None) -> str | None:
        return str(PROTOCOLS[p]) if p in PROTOCOLS else p

    def net(p: str | None) -> str | None:
        return str(ipaddress.ip_network(p, strict=False)) if p else None

    return (r.direction == c["direction"] and r.ethertype == c["ethertype"]
            and proto(r.protocol) == proto(c["protocol"])
            and r.port_range_min == c["port_range_min"]
            and r.port_range_max == c["port_range_max"]
            and net(r.remote_ip_prefix) == net(c["remote_ip_prefix"])
            and r.remote_group_id == c["remote_group_id"]
            and r.remote_address_group_id == c["remote_address_group_id"])


class SecurityGroupRules(Collection):
    kind = RULE

    def __init__(self, db: Database, config: NetworkSection, groups: SecurityGroups):
        super().__init__(db, config.pagination_max_limit)
        self.config = config
        self.groups = groups

    async def create(self, ctx: RequestContext, items: list[Attrs]) -> list[Attrs]:
        async with self.db.transaction() as s:
            made = []
            for attrs in items:
                made.append(await self._create(s, ctx, attrs))
            await s.flush()
            views = await self.views(s, made)
        return [self.shown(ctx, v) for v in views]

    async def _create(self, s: AsyncSession, ctx: RequestContext,
                      attrs: Attrs) -> SecurityGroupRule:
        group_id = attrs.get("security_group_id")
        if ctx.project_id:
            await ensure_default(s, ctx.project_id)
        group = await self.groups.load(s, ctx, str(group_id or ""))
        project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
        ctx.enforce("create_security_group_rule",
                    {**attrs, "project_id": project, "tenant_id": project,
                     "security_group:project_id": group.project_id})
        checked = checked_rule(attrs)
        if checked["remote_group_id"]:
            await self.groups.load(s, ctx, checked["remote_group_id"])
        for r in (await s.execute(select(SecurityGroupRule).where(
                SecurityGroupRule.security_group_id == group.id))).scalars():
            if _same(r, checked):
                raise errors.fault(409, "SecurityGroupRuleExists",
                                   f"Security group rule already exists. Rule id is {r.id}.")
        await check_quota(s, self.config, project, "security_group_rule")
        now = utcnow()
        rule = SecurityGroupRule(id=new_id(), project_id=project,
                                 description=attrs.get("description") or "",
                                 security_group_id=group.id, created_at=now, updated_at=now,
                                 revision_number=0, **checked)
        s.add(rule)
        group.revision_number += 1
        group.updated_at = now
        return rule

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.transaction() as s:
            rule = await self.load(s, ctx, ident)
            ctx.enforce("update_security_group_rule", self.target(await self.view_of(s, rule)))
            await self.bump(rule, if_match)
            if attrs.get("description") is not None:
                rule.description = attrs["description"]
            await s.flush()
            view = await self.view_of(s, rule)
        return self.shown(ctx, view)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            rule = await self.load(s, ctx, ident)
            ctx.enforce("delete_security_group_rule", self.target(await self.view_of(s, rule)))
            group = await s.get(SecurityGroup, rule.security_group_id)
            if group is not None:
                group.revision_number += 1
            await self.delete_row(s, rule)
