"""Subnet pools (prefixes subnets are carved from, with per-project quotas) and address scopes
(which pools' addresses may be routed to each other without NAT)."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors, ipam
from overcast.network.models import AddressScope, Subnet, SubnetPool
from overcast.network.quotas import check_quota
from overcast.network.resources import Attrs, Collection, Kind, attribute_check, new_id

__all__ = ["ADDRESS_SCOPE", "SUBNETPOOL", "AddressScopes", "SubnetPools"]


def _pool_view(p: SubnetPool, extra: Attrs) -> Attrs:
    return {"id": p.id, "name": p.name, "ip_version": p.ip_version,
            "prefixes": list(p.prefixes or []), "default_prefixlen": p.default_prefixlen,
            "min_prefixlen": p.min_prefixlen, "max_prefixlen": p.max_prefixlen,
            "default_quota": p.default_quota, "shared": p.shared, "is_default": p.is_default,
            "address_scope_id": p.address_scope_id}


def _pool_scope(project_id: str | None) -> Any:
    return or_(SubnetPool.project_id == (project_id or ""), SubnetPool.shared.is_(True))


SUBNETPOOL = Kind(
    name="subnetpool", collection="subnetpools", label="SubnetPool", model=SubnetPool,
    columns={"id": SubnetPool.id, "name": SubnetPool.name, "ip_version": SubnetPool.ip_version,
             "default_prefixlen": SubnetPool.default_prefixlen,
             "min_prefixlen": SubnetPool.min_prefixlen,
             "max_prefixlen": SubnetPool.max_prefixlen, "shared": SubnetPool.shared,
             "is_default": SubnetPool.is_default, "default_quota": SubnetPool.default_quota,
             "address_scope_id": SubnetPool.address_scope_id,
             "project_id": SubnetPool.project_id, "tenant_id": SubnetPool.project_id,
             "description": SubnetPool.description, "created_at": SubnetPool.created_at,
             "updated_at": SubnetPool.updated_at,
             "revision_number": SubnetPool.revision_number},
    view=_pool_view, scope=_pool_scope)


def _scope_view(a: AddressScope, extra: Attrs) -> Attrs:
    return {"id": a.id, "name": a.name, "ip_version": a.ip_version, "shared": a.shared}


def _as_scope(project_id: str | None) -> Any:
    return or_(AddressScope.project_id == (project_id or ""), AddressScope.shared.is_(True))


ADDRESS_SCOPE = Kind(
    name="address_scope", collection="address_scopes", label="AddressScope",
    model=AddressScope,
    columns={"id": AddressScope.id, "name": AddressScope.name,
             "ip_version": AddressScope.ip_version, "shared": AddressScope.shared,
             "project_id": AddressScope.project_id, "tenant_id": AddressScope.project_id,
             "description": AddressScope.description, "created_at": AddressScope.created_at,
             "updated_at": AddressScope.updated_at,
             "revision_number": AddressScope.revision_number},
    view=_scope_view, scope=_as_scope)


def _prefixes(raw: object) -> tuple[list[str], int]:
    if not isinstance(raw, list) or not raw:
        raise errors.InvalidInput("prefixes must be a non-empty list")
    nets = [ipam.parse_cidr(p, strict=False) for p in raw]
    versions = {n.version for n in nets}
    if len(versions) != 1:
        raise errors.fault(400, "PrefixVersionMismatch",
                           "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
    # Neutron keeps the pool's prefixes compacted (overlaps and neighbours merged).
    merged = list(ipaddress.collapse_addresses(nets))  # type: ignore[type-var]
    return [str(n) for n in merged], versions.pop()


class SubnetPools(Collection):
    kind = SUBNETPOOL

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)
        self.config = config

    async def _scope_ok(self, s: AsyncSession, ctx: RequestContext, scope_id: object,
                        version: int) -> str | None:
        if not scope_id:
            return None
        scope = await s.get(AddressScope, str(scope_id))
        if scope is None or (scope.project_id != ctx.project_id and not scope.shared
                             and not ctx.can("context_is_admin")):
            raise errors.not_found("AddressScope", str(scope_id))
        if scope.ip_version != version:
            raise errors.BadRequest(f"Illegal subnetpool association: subnetpool cannot be "
                                    f"associated with address scope {scope.id} because "
                                    "subnetpool ip_version is not "
                                    f"{scope.ip_version}.")
        return scope.id

    def _lengths(self, attrs: Attrs, version: int, current: SubnetPool | None,
                 prefixes: list[str]) -> tuple[int, int, int]:
        top = 32 if version == 4 else 128
        smallest = min(ipaddress.ip_network(p).prefixlen for p in prefixes)
        lo = attrs.get("min_prefixlen")
        lo = int(lo) if lo is not None else (current.min_prefixlen if current else
                                             (8 if version == 4 else 64))
        hi = attrs.get("max_prefixlen")
        hi = int(hi) if hi is not None else (current.max_prefixlen if current else top)
        default = attrs.get("default_prefixlen")
        default = int(default) if default is not None else (
            current.default_prefixlen if current else lo)
        lo = max(lo, 0)
        if not 0 <= lo <= hi <= top or not lo <= default <= hi:
            raise errors.InvalidInput(f"Illegal prefix bounds: min_prefixlen={lo}, "
                                      f"default_prefixlen={default}, max_prefixlen={hi}")
        _ = smallest
        return lo, default, hi

    async def create(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
        target = {**attrs, "project_id": project, "tenant_id": project}
        async with self.db.transaction() as s:
            ctx.enforce("create_subnetpool", target)
            attribute_check(ctx, "create", "subnetpool", attrs, target,
                            {"shared": False, "is_default": False})
            await check_quota(s, self.config, project, "subnetpool")
            prefixes, version = _prefixes(attrs.get("prefixes"))
            lo, default, hi = self._lengths(attrs, version, None, prefixes)
            scope = await self._scope_ok(s, ctx, attrs.get("address_scope_id"), version)
            if attrs.get("is_default"):
                await self._one_default(s, version, None)
            now = utcnow()
            pool = SubnetPool(id=new_id(), project_id=project, name=attrs.get("name") or "",
                              description=attrs.get("description") or "", ip_version=version,
                              prefixes=prefixes, min_prefixlen=lo, default_prefixlen=default,
                              max_prefixlen=hi, default_quota=attrs.get("default_quota"),
                              shared=bool(attrs.get("shared", False)),
                              is_default=bool(attrs.get("is_default", False)),
                              address_scope_id=scope, created_at=now, updated_at=now,
                              revision_number=0)
            s.add(pool)
            await s.flush()
            view = await self.view_of(s, pool)
        return self.shown(ctx, view)

    async def _one_default(self, s: AsyncSession, version: int, own: str | None) -> None:
        other = (await s.execute(select(SubnetPool.id).where(
            SubnetPool.is_default.is_(True), SubnetPool.ip_version == version,
            SubnetPool.id != (own or "")))).scalars().first()
        if other is not None:
            raise errors.fault(409, "InvalidInput",
                               "A default subnetpool for this IP family has already been "
                               "set. Only one default may exist per IP family")

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.transaction() as s:
            pool = await self.load(s, ctx, ident)
            target = self.target(await self.view_of(s, pool))
            ctx.enforce("update_subnetpool", target)
            attribute_check(ctx, "update", "subnetpool", attrs, target)
            await self.bump(pool, if_match)
            if "prefixes" in attrs:
                prefixes, version = _prefixes(attrs["prefixes"])
                if version != pool.ip_version:
                    raise errors.fault(400, "PrefixVersionMismatch",
                                       "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
                old = [ipaddress.ip_network(p) for p in pool.prefixes]
                for p in old:
                    if not any(p.subnet_of(ipaddress.ip_network(n))  # type: ignore[arg-type]
                               for n in prefixes):
                        raise errors.fault(400, "IllegalSubnetPoolPrefixUpdate",
                                           "Existing prefixes must be a subset of the new "
                                           "prefixes")
                pool.prefixes = prefixes
            lo, default, hi = self._lengths(attrs, pool.ip_version, pool, pool.prefixes)
            pool.min_prefixlen, pool.default_prefixlen, pool.max_prefixlen = lo, default, hi
            for key in ("name", "description", "default_quota"):
                if key in attrs:
                    setattr(pool, key, attrs[key] if attrs[key] is not None or
                            key == "default_quota" else getattr(pool, key))
            if "address_scope_id" in attrs:
                pool.address_scope_id = await self._scope_ok(
                    s, ctx, attrs["address_scope_id"], pool.ip_version)
            if "is_default" in attrs and attrs["is_default"] is not None:
                if attrs["is_default"]:
                    await self._one_default(s, pool.ip_version, pool.id)
                pool.is_default = bool(attrs["is_default"])
            await s.flush()
            view = await self.view_of(s, pool)
        return self.shown(ctx, view)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            pool = await self.load(s, ctx, ident)
            ctx.enforce("delete_subnetpool", self.target(await self.view_of(s, pool)))
            used = (await s.execute(select(Subnet.id).where(
                Subnet.subnetpool_id == pool.id))).first()
            if used is not None:
                raise errors.fault(409, "SubnetPoolInUse",
                                   f"Unable to complete operation on subnetpool {pool.id}. "
                                   "Subnets are allocated from it.")
            await self.delete_row(s, pool)


class AddressScopes(Collection):
    kind = ADDRESS_SCOPE

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)
        self.config = config

    async def create(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
        target = {**attrs, "project_id": project, "tenant_id": project}
        async with self.db.transaction() as s:
            ctx.enforce("create_address_scope", target)
            attribute_check(ctx, "create", "address_scope", attrs, target, {"shared": False})
            version = attrs.get("ip_version")
            if version not in (4, 6):
                raise errors.InvalidInput(f"{version} is not in [4, 6]")
            now = utcnow()
            scope = AddressScope(id=new_id(), project_id=project, name=attrs.get("name") or "",
                                 description=attrs.get("description") or "",
                                 ip_version=version, shared=bool(attrs.get("shared", False)),
                                 created_at=now, updated_at=now, revision_number=0)
            s.add(scope)
            await s.flush()
            view = await self.view_of(s, scope)
        return self.shown(ctx, view)

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.transaction() as s:
            scope = await self.load(s, ctx, ident)
            target = self.target(await self.view_of(s, scope))
            ctx.enforce("update_address_scope", target)
            attribute_check(ctx, "update", "address_scope", attrs, target)
            await self.bump(scope, if_match)
            if "shared" in attrs and scope.shared and not attrs["shared"]:
                raise errors.BadRequest("Unsharing an address scope is not allowed.")
            for key in ("name", "description", "shared"):
                if key in attrs and attrs[key] is not None:
                    setattr(scope, key, attrs[key])
            await s.flush()
            view = await self.view_of(s, scope)
        return self.shown(ctx, view)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            scope = await self.load(s, ctx, ident)
            ctx.enforce("delete_address_scope", self.target(await self.view_of(s, scope)))
            used = (await s.execute(select(SubnetPool.id).where(
                SubnetPool.address_scope_id == scope.id))).first()
            if used is not None:
                raise errors.fault(409, "AddressScopeInUse",
                                   f"Unable to complete operation on address scope "
                                   f"{scope.id}. There are one or more subnet pools in use on "
                                   "the address scope.")
            await self.delete_row(s, scope)
