"""Flavors: the catalogue of server sizes, their extra specs and who may use a private one.

Nova's visibility: an administrator (policy `context_is_admin`) sees every flavor; anyone else
the public ones and the private ones shared with their project; a flavor outside that is 404.
`Flavors.find` is the servers side's way in (no policy: a boot checks its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.compute.extra_specs import validate_extra_specs
from overcast.compute.models import Flavor, FlavorExtraSpec, FlavorProject

__all__ = ["DEFAULT_FLAVORS", "SORT_KEYS", "FlavorSpec", "Flavors"]

#: The install guides' flavors: (id, name, vcpus, ram MiB, disk GiB).
DEFAULT_FLAVORS: tuple[tuple[str, str, int, int, int], ...] = (
    ("0", "m1.nano", 1, 64, 1),
    ("84", "m1.micro", 1, 192, 1),
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
    ("5", "m1.xlarge", 8, 16384, 160),
)

#: Nova's flavor sort keys (API name -> attribute).
SORT_KEYS = {name: name for name in (
    "created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id", "is_public",
    "memory_mb", "name", "root_gb", "rxtx_factor", "swap", "updated_at", "vcpu_weight", "vcpus")}


@dataclass(frozen=True)
class FlavorSpec:
    """What a new flavor is made of (validated by the API layer)."""

    name: str
    flavorid: str | None
    ram: int
    vcpus: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None


def _not_found(flavorid: str) -> faults.NotFound:
    return faults.NotFound(f"Flavor {flavorid} could not be found.")


class Flavors:
    """Flavor catalogue operations; each mutating method is one transaction."""

    def __init__(self, db: Database):
        self.db = db

    # -- visibility --
    @staticmethod
    def _visible(ctx: RequestContext, admin: bool) -> Select[Flavor]:
        query = select(Flavor)
        if not admin:
            query = query.where(or_(Flavor.is_public.is_(True), Flavor.projects.any(
                FlavorProject.project_id == ctx.project_id)))
        return query

    @staticmethod
    async def _load(s: AsyncSession, query: Select[Flavor], flavorid: str) -> Flavor:
        flavor = (await s.execute(query.where(Flavor.flavorid == flavorid))).scalar_one_or_none()
        if flavor is None:
            raise _not_found(flavorid)
        return flavor

    # -- reads --
    async def index(self, ctx: RequestContext, *, admin: bool, is_public: bool | None,
                   min_ram: int | None, min_disk: int | None, sort_key: str, sort_dir: str,
                   limit: int, marker: str | None) -> list[Flavor]:
        """Nova's list: a non-admin always gets the enabled public flavors plus the private
        ones shared with their project; an admin filters by `is_public` (None: all)."""
        ctx.enforce("os_compute_api:flavors", {"project_id": ctx.project_id})
        query = select(Flavor)
        if admin:
            if is_public is not None:
                shown: list[ColumnElement[bool]] = [Flavor.is_public.is_(is_public)]
                if is_public and ctx.project_id:
                    shown.append(Flavor.projects.any(FlavorProject.project_id == ctx.project_id))
                query = query.where(or_(*shown))
        else:
            query = query.where(Flavor.disabled.is_(False), or_(
                Flavor.is_public.is_(True),
                Flavor.projects.any(FlavorProject.project_id == ctx.project_id)))
        if min_ram is not None:
            query = query.where(Flavor.memory_mb >= min_ram)
        if min_disk is not None:
            query = query.where(Flavor.root_gb >= min_disk)
        async with self.db.read() as s:
            flavors = list((await s.execute(query)).scalars())
        # Flavors are few: sorted here, NULLs first as MySQL orders them, whatever the backend.
        attr = SORT_KEYS[sort_key]

        def key(f: Flavor) -> tuple[bool, object, int]:
            value = getattr(f, attr)
            return (value is not None, value if value is not None else 0, f.id)

        flavors.sort(key=key, reverse=sort_dir == "desc")
        if marker is not None:
            at = next((i for i, f in enumerate(flavors) if f.flavorid == marker), None)
            if at is None:
                raise faults.BadRequest(f"marker [{marker}] not found")
            flavors = flavors[at + 1:]
        return flavors[:limit]

    async def get(self, ctx: RequestContext, flavorid: str, *, admin: bool) -> Flavor:
        ctx.enforce("os_compute_api:flavors", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            return await self._load(s, self._visible(ctx, admin), flavorid)

    async def find(self, flavorid: str, project_id: str | None = None) -> Flavor:
        """A flavor by id for the servers side, no policy: with `project_id`, only a flavor
        that project may use (public, or private and shared with it); NotFound otherwise."""
        query = select(Flavor)
        if project_id is not None:
            query = query.where(or_(Flavor.is_public.is_(True), Flavor.projects.any(
                FlavorProject.project_id == project_id)))
        async with self.db.read() as s:
            return await self._load(s, query, flavorid)

    # -- changes --
    async def create(self, ctx: RequestContext, spec: FlavorSpec) -> Flavor:
        ctx.enforce("os_compute_api:os-flavor-manage:create", {"project_id": ctx.project_id})
        flavorid = spec.flavorid if spec.flavorid is not None else str(uuid.uuid4())
        try:
            async with self.db.transaction() as s:
                taken = (await s.execute(select(Flavor.flavorid, Flavor.name).where(or_(
                    Flavor.flavorid == flavorid, Flavor.name == spec.name)))).all()
                for fid, name in taken:
                    if fid == flavorid:
                        raise faults.Conflict(f"Flavor with ID {flavorid} already exists.")
                    if name == spec.name:
                        raise faults.Conflict(f"Flavor with name {name} already exists.")
                flavor = Flavor(
                    flavorid=flavorid, name=spec.name, memory_mb=spec.ram, vcpus=spec.vcpus,
                    root_gb=spec.disk, ephemeral_gb=spec.ephemeral, swap=spec.swap,
                    rxtx_factor=spec.rxtx_factor, is_public=spec.is_public,
                    description=spec.description, disabled=False, extra_specs=[], projects=[])
                s.add(flavor)
                await s.flush()
        except IntegrityError:  # a concurrent create won the race for the id or the name
            raise faults.Conflict(f"Flavor with ID {flavorid} already exists.") from None
        return flavor

    async def update_description(self, ctx: RequestContext, flavorid: str,
                                 description: str | None) -> Flavor:
        async with self.db.transaction() as s:
            flavor = await self._load(s, select(Flavor), flavorid)
            ctx.enforce("os_compute_api:os-flavor-manage:update", {"project_id": ctx.project_id})
            flavor.description = description
            flavor.updated_at = utcnow()
            await s.flush()
            return flavor

    async def delete(self, ctx: RequestContext, flavorid: str) -> None:
        async with self.db.transaction() as s:
            flavor = await self._load(s, select(Flavor), flavorid)
            ctx.enforce("os_compute_api:os-flavor-manage:delete", {"project_id": ctx.project_id})
            await s.delete(flavor)

    # -- extra specs --
    async def extra_specs(self, ctx: RequestContext, flavorid: str, *, admin: bool
                          ) -> dict[str, str]:
        async with self.db.read() as s:
            flavor = await self._load(s, self._visible(ctx, admin), flavorid)
            ctx.enforce("os_compute_api:os-flavor-extra-specs:index",
                        {"project_id": ctx.project_id})
            return {e.key: e.value for e in flavor.extra_specs}

    async def extra_spec(self, ctx: RequestContext, flavorid: str, key: str, *, admin: bool
                         ) -> str:
        async with self.db.read() as s:
            flavor = await self._load(s, self._visible(ctx, admin), flavorid)
            ctx.enforce("os_compute_api:os-flavor-extra-specs:show",
                        {"project_id": ctx.project_id})
            for e in flavor.extra_specs:
                if e.key == key:
                    return e.value
        raise faults.NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")

    async def set_extra_specs(self, ctx: RequestContext, flavorid: str,
                              specs: Mapping[str, str], *, rule: str,
                              validate: bool) -> dict[str, str]:
        """Create or update keys (`rule`: the create or the update rule); `validate`: Nova's
        2.86 check of known namespaces."""
        async with self.db.transaction() as s:
            flavor = await self._load(s, select(Flavor), flavorid)
            ctx.enforce(rule, {"project_id": ctx.project_id})
            if validate:
                validate_extra_specs(specs)
            current = {e.key: e for e in flavor.extra_specs}
            for key, value in specs.items():
                if key in current:
                    current[key].value = value
                else:
                    flavor.extra_specs.append(FlavorExtraSpec(key=key, value=value))
            flavor.updated_at = utcnow()
            await s.flush()
            return dict(specs)

    async def delete_extra_spec(self, ctx: RequestContext, flavorid: str, key: str) -> None:
        async with self.db.transaction() as s:
            flavor = await self._load(s, select(Flavor), flavorid)
            ctx.enforce("os_compute_api:os-flavor-extra-specs:delete",
                        {"project_id": ctx.project_id})
            gone = await s.execute(delete(FlavorExtraSpec).where(
                FlavorExtraSpec.flavor_id == flavor.id, FlavorExtraSpec.key == key))
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise faults.NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")

    # -- access to private flavors --
    async def access(self, ctx: RequestContext, flavorid: str) -> list[str]:
        async with self.db.read() as s:
            flavor = await self._load(s, select(Flavor), flavorid)
            ctx.enforce("os_compute_api:os-flavor-access", {"project_id": ctx.project_id})
            if flavor.is_public:
                raise faults.NotFound("Access list not available for public flavors.")
            return [p.project_id for p in flavor.projects]

    async def add_access(self, ctx: RequestContext, flavorid: str, project_id: str
                         ) -> list[str]:
        async with self.db.transaction() as s:
            flavor = await self._load(s, select(Flavor), flavorid)
            ctx.enforce("os_compute_api:os-flavor-access:add_tenant_access",
                        {"project_id": ctx.project_id})
            if flavor.is_public:
                raise faults.Conflict("Can not add access to a public flavor.")
            if any(p.project_id == project_id for p in flavor.projects):
                raise faults.Conflict(f"Flavor access already exists for flavor {flavorid} and "
                                      f"project {project_id} combination.")
            flavor.projects.append(FlavorProject(project_id=project_id))
            await s.flush()
            return [p.project_id for p in flavor.projects]

    async def remove_access(self, ctx: RequestContext, flavorid: str, project_id: str
                            ) -> list[str]:
        async with self.db.transaction() as s:
            flavor = await self._load(s, select(Flavor), flavorid)
            ctx.enforce("os_compute_api:os-flavor-access:remove_tenant_access",
                        {"project_id": ctx.project_id})
            kept = [p for p in flavor.projects if p.project_id != project_id]
            if len(kept) == len(flavor.projects):
                raise faults.NotFound(f"Flavor access not found for {flavorid} / {project_id} "
                                      "combination.")
            flavor.projects = kept
            await s.flush()
            return [p.project_id for p in kept]

    # -- bootstrap --
    async def ensure_defaults(self, flavors: Sequence[tuple[str, str, int, int, int]]
                              = DEFAULT_FLAVORS) -> list[str]:
        """Create the guides' flavors that are missing (by id or name); the names created."""
        made: list[str] = []
        async with self.db.transaction() as s:
            rows = (await s.execute(select(Flavor.flavorid, Flavor.name))).all()
            ids = {r[0] for r in rows}
            names = {r[1] for r in rows}
            for flavorid, name, vcpus, ram, disk in flavors:
                if flavorid in ids or name in names:
                    continue
                s.add(Flavor(flavorid=flavorid, name=name, vcpus=vcpus, memory_mb=ram,
                             root_gb=disk, ephemeral_gb=0, swap=0, rxtx_factor=1.0,
                             is_public=True, disabled=False))
                made.append(name)
        return made
