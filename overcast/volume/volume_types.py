"""Volume types: name, description, public or private with project access, extra specs, and
the default type (`__DEFAULT__`, made on first use as Cinder's migration makes it)."""

from __future__ import annotations

import builtins
import uuid

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import VolumeSection
from overcast.volume.models import Volume, VolumeType, VolumeTypeAccess, VolumeTypeExtraSpec

__all__ = ["DEFAULT_TYPE", "TypeView", "VolumeTypes"]

DEFAULT_TYPE = "__DEFAULT__"

TypeView = tuple[VolumeType, dict[str, str]]


class VolumeTypes:
    def __init__(self, db: Database, config: VolumeSection):
        self.db = db
        self.config = config

    async def ensure_default(self) -> None:
        async with self.db.transaction() as s:
            if await s.scalar(select(VolumeType).where(VolumeType.name == DEFAULT_TYPE)) is None:
                s.add(VolumeType(id=str(uuid.uuid4()), name=DEFAULT_TYPE,
                                 description="Default Volume Type", is_public=True))

    @staticmethod
    def _visible(ctx: RequestContext, admin: bool) -> Select[VolumeType]:
        q = select(VolumeType)
        if not admin:
            q = q.where(or_(VolumeType.is_public.is_(True), VolumeType.id.in_(
                select(VolumeTypeAccess.volume_type_id).where(
                    VolumeTypeAccess.project_id == (ctx.project_id or "")))))
        return q

    async def _specs(self, s: AsyncSession, type_ids: list[str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {t: {} for t in type_ids}
        if type_ids:
            for spec in (await s.scalars(select(VolumeTypeExtraSpec).where(
                    VolumeTypeExtraSpec.volume_type_id.in_(type_ids)))).all():
                out[spec.volume_type_id][spec.key] = spec.value
        return out

    async def find(self, s: AsyncSession, ctx: RequestContext, ref: str, *, admin: bool
                   ) -> VolumeType:
        """A type the caller may see, by id or name; NotFound otherwise."""
        q = self._visible(ctx, admin)
        row = (await s.scalars(q.where(VolumeType.id == ref))).first()
        if row is None:
            row = (await s.scalars(q.where(VolumeType.name == ref))).first()
        if row is None:
            raise faults.NotFound(f"Volume type {ref} could not be found.")
        return row

    async def default(self, s: AsyncSession) -> VolumeType:
        name = self.config.default_volume_type
        row = await s.scalar(select(VolumeType).where(VolumeType.name == name))
        if row is None:
            raise faults.NotFound(f"Volume type {name} could not be found.")
        return row

    async def list(self, ctx: RequestContext, is_public: bool | None) -> list[TypeView]:
        ctx.enforce("volume_extension:type_get_all", {"project_id": ctx.project_id})
        admin = ctx.can("volume_extension:types_manage", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            q = self._visible(ctx, admin)
            if is_public is not None and admin:
                q = q.where(VolumeType.is_public.is_(is_public))
            rows = list((await s.scalars(q.order_by(VolumeType.name))).all())
            specs = await self._specs(s, [r.id for r in rows])
        return [(r, specs[r.id]) for r in rows]

    async def get(self, ctx: RequestContext, ref: str) -> TypeView:
        ctx.enforce("volume_extension:type_get", {"project_id": ctx.project_id})
        admin = ctx.can("volume_extension:types_manage", {"project_id": ctx.project_id})
        async with self.db.read() as s:
            if ref == "default":
                row = await self.default(s)
            else:
                row = await self.find(s, ctx, ref, admin=admin)
            return row, (await self._specs(s, [row.id]))[row.id]

    async def create(self, ctx: RequestContext, name: str, description: str | None,
                     is_public: bool, extra_specs: dict[str, str]) -> TypeView:
        ctx.enforce("volume_extension:types_manage", {"project_id": ctx.project_id})
        async with self.db.transaction() as s:
            if await s.scalar(select(VolumeType.id).where(VolumeType.name == name)):
                raise faults.Conflict(f"Volume Type {name} already exists.")
            row = VolumeType(id=str(uuid.uuid4()), name=name, description=description,
                             is_public=is_public, created_at=utcnow())
            s.add(row)
            await s.flush()
            for k, v in extra_specs.items():
                s.add(VolumeTypeExtraSpec(volume_type_id=row.id, key=k, value=v))
        return row, dict(extra_specs)

    async def update(self, ctx: RequestContext, type_id: str, name: str | None,
                     description: str | None, is_public: bool | None) -> TypeView:
        ctx.enforce("volume_extension:types_manage", {"project_id": ctx.project_id})
        async with self.db.transaction() as s:
            row = await self.find(s, ctx, type_id, admin=True)
            if name is not None and name != row.name:
                if row.name == DEFAULT_TYPE:
                    raise faults.BadRequest("The default volume type cannot be renamed.")
                if await s.scalar(select(VolumeType.id).where(VolumeType.name == name)):
                    raise faults.Conflict(f"Volume Type {name} already exists.")
                row.name = name
            if description is not None:
                row.description = description
            if is_public is not None:
                row.is_public = is_public
            row.updated_at = utcnow()
            return row, (await self._specs(s, [row.id]))[row.id]

    async def delete(self, ctx: RequestContext, type_id: str) -> None:
        ctx.enforce("volume_extension:types_manage", {"project_id": ctx.project_id})
        async with self.db.transaction() as s:
            row = await self.find(s, ctx, type_id, admin=True)
            if row.name == self.config.default_volume_type:
                raise faults.BadRequest("Default volume type can not be deleted.")
            if await s.scalar(select(Volume.id).where(Volume.volume_type_id == row.id)
                              .limit(1)):
                raise faults.BadRequest(f"Target volume type is still in use. Volume Type "
                                        f"{row.id} deletion is not allowed with volumes "
                                        f"present with the type.")
            await s.delete(row)

    # -- extra specs --
    async def specs(self, ctx: RequestContext, type_id: str, rule: str) -> dict[str, str]:
        ctx.enforce(rule, {"project_id": ctx.project_id})
        async with self.db.read() as s:
            row = await self.find(s, ctx, type_id, admin=True)
            return (await self._specs(s, [row.id]))[row.id]

    async def set_specs(self, ctx: RequestContext, type_id: str, specs: dict[str, str],
                        rule: str) -> dict[str, str]:
        ctx.enforce(rule, {"project_id": ctx.project_id})
        async with self.db.transaction() as s:
            row = await self.find(s, ctx, type_id, admin=True)
            for k, v in specs.items():
                spec = await s.get(VolumeTypeExtraSpec, (row.id, k))
                if spec is None:
                    s.add(VolumeTypeExtraSpec(volume_type_id=row.id, key=k, value=v))
                else:
                    spec.value = v
        return specs

    async def delete_spec(self, ctx: RequestContext, type_id: str, key: str) -> None:
        ctx.enforce("volume_extension:types_extra_specs:delete", {"project_id": ctx.project_id})
        async with self.db.transaction() as s:
            row = await self.find(s, ctx, type_id, admin=True)
            spec = await s.get(VolumeTypeExtraSpec, (row.id, key))
            if spec is None:
                raise faults.NotFound(f"Volume Type {row.id} has no extra specs with key {key}.")
            await s.delete(spec)

    # -- access --
    async def access(self, ctx: RequestContext, type_id: str) -> builtins.list[str]:
        ctx.enforce("volume_extension:volume_type_access:get_all_for_type",
                    {"project_id": ctx.project_id})
        async with self.db.read() as s:
            row = await self.find(s, ctx, type_id, admin=True)
            if row.is_public:
                raise faults.NotFound("Access list not available for public volume types.")
            return list((await s.scalars(select(VolumeTypeAccess.project_id).where(
                VolumeTypeAccess.volume_type_id == row.id))).all())

    async def set_access(self, ctx: RequestContext, type_id: str, project: str, add: bool) -> None:
        rule = ("volume_extension:volume_type_access:addProjectAccess" if add
                else "volume_extension:volume_type_access:removeProjectAccess")
        ctx.enforce(rule, {"project_id": ctx.project_id})
        async with self.db.transaction() as s:
            row = await self.find(s, ctx, type_id, admin=True)
            if row.is_public:
                raise faults.BadRequest("Invalid volume type: Type access modification is not "
                                        "applicable to public volume type.")
            found = await s.get(VolumeTypeAccess, (row.id, project))
            if add:
                if found is not None:
                    raise faults.Conflict(f"Volume type access for {row.id} / {project} "
                                          f"combination already exists.")
                s.add(VolumeTypeAccess(volume_type_id=row.id, project_id=project))
            else:
                if found is None:
                    raise faults.NotFound(f"Volume type access not found for {row.id} / "
                                          f"{project} combination.")
                await s.execute(delete(VolumeTypeAccess).where(
                    VolumeTypeAccess.volume_type_id == row.id,
                    VolumeTypeAccess.project_id == project))
