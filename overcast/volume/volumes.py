"""Volumes: create (empty, from a snapshot, from another volume, from an image), list with
Cinder's filters, sort and marker paging, show, update, delete, metadata, bootable and
readonly flags, extend, reset-status and force-delete.

The API writes the wanted state (status `creating`, `extending`, `deleting`) and the place
the scheduler chose (`host@backend#pool`), then pokes that host's agent over the bus after the
commit; the agent does the work and reports back through the conductor (conductor.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.bus import Bus, BusError
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.pagination import SortKey, after_marker, order_by
from overcast.config import VolumeSection
from overcast.volume import scheduler
from overcast.volume.hosts import Hosts
from overcast.volume.models import Snapshot, Volume, VolumeMetadata, VolumeType
from overcast.volume.quotas import Quotas
from overcast.volume.volume_types import VolumeTypes

__all__ = ["AGENT_TOPIC", "STATUSES", "ImageInfo", "ListQuery", "VolumeInfo", "Volumes",
           "poke_agent"]

log = logging.getLogger("overcast.volume")

#: Cinder's volume statuses, every one (os-reset_status takes only these).
STATUSES = ("creating", "available", "reserved", "attaching", "in-use", "detaching",
            "maintenance", "deleting", "error", "error_deleting", "error_extending",
            "downloading", "uploading", "retyping", "backing-up", "restoring-backup",
            "awaiting-transfer", "extending", "error_managing", "managing")
AGENT_TOPIC = "cinder-volume"
SORT_KEYS = ("id", "name", "status", "size", "created_at", "updated_at", "availability_zone",
             "bootable", "display_name")


@dataclass
class VolumeInfo:
    volume: Volume
    metadata: dict[str, str]
    volume_type: VolumeType | None


@dataclass
class ImageInfo:
    """What the API learnt of a source image (the agent downloads it)."""

    id: str
    min_disk: int
    size: int
    properties: dict[str, str]


@dataclass
class ListQuery:
    filters: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    all_tenants: bool = False
    project_id: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = 1000
    marker: str | None = None
    offset: int = 0


async def poke_agent(bus: Bus, host: str | None, key: str, token: str | None = None) -> None:
    """Tell the agent of `host` (`host@backend#pool`) to look at `key` now; a lost poke costs a
    resync interval, never correctness."""
    if not host:
        return
    try:
        await bus.cast(AGENT_TOPIC, "sync", server=host.split("#")[0], key=key, token=token)
    except BusError as exc:
        log.warning("volume agent %s not reached (%s); its resync will find %s", host, exc, key)


class Volumes:
    def __init__(self, db: Database, config: VolumeSection, types: VolumeTypes, quotas: Quotas,
                 hosts: Hosts, bus: Bus):
        self.db = db
        self.config = config
        self.types = types
        self.quotas = quotas
        self.hosts = hosts
        self.bus = bus

    # -- reading --
    @staticmethod
    def _target(v: Volume) -> dict[str, str]:
        return {"project_id": v.project_id, "user_id": v.user_id}

    async def _load(self, s: AsyncSession, ctx: RequestContext, volume_id: str) -> Volume:
        """A volume the caller may see (its project's, or any for an admin); else 404."""
        v = await s.get(Volume, volume_id)
        if v is None or (v.project_id != ctx.project_id and not ctx.can(
                "volume:get_all_admin", {"project_id": ctx.project_id})):
            raise faults.NotFound(f"Volume {volume_id} could not be found.")
        return v

    async def _info(self, s: AsyncSession, vols: Sequence[Volume]) -> list[VolumeInfo]:
        ids = [v.id for v in vols]
        meta: dict[str, dict[str, str]] = {i: {} for i in ids}
        if ids:
            for m in (await s.scalars(select(VolumeMetadata).where(
                    VolumeMetadata.volume_id.in_(ids)))).all():
                meta[m.volume_id][m.key] = m.value
        type_ids = {v.volume_type_id for v in vols}
        types = {t.id: t for t in (await s.scalars(select(VolumeType).where(
            VolumeType.id.in_(type_ids)))).all()} if type_ids else {}
        return [VolumeInfo(v, meta[v.id], types.get(v.volume_type_id)) for v in vols]

    async def get(self, ctx: RequestContext, volume_id: str) -> VolumeInfo:
        async with self.db.read() as s:
            v = await self._load(s, ctx, volume_id)
            ctx.enforce("volume:get", self._target(v))
            return (await self._info(s, [v]))[0]

    def _query(self, ctx: RequestContext, q: ListQuery) -> Select[Any]:
        stmt = select(Volume)
        admin = q.all_tenants and ctx.can("volume:get_all_admin", {"project_id": ctx.project_id})
        if admin:
            if q.project_id:
                stmt = stmt.where(Volume.project_id == q.project_id)
        else:
            stmt = stmt.where(Volume.project_id == (ctx.project_id or ""))
        for key, value in q.filters.items():
            if key == "bootable":
                stmt = stmt.where(Volume.bootable.is_(value.lower() in ("true", "1", "yes")))
            elif key == "size":
                try:
                    stmt = stmt.where(Volume.size == int(value))
                except ValueError:
                    raise faults.BadRequest(f"Invalid size filter [{value}]") from None
            elif key.endswith("~") and key[:-1] in ("name", "status", "availability_zone"):
                stmt = stmt.where(getattr(Volume, key[:-1]).contains(value, autoescape=True))
            elif key in ("name", "status", "availability_zone"):
                stmt = stmt.where(getattr(Volume, key) == value)
        for key, value in q.metadata.items():
            stmt = stmt.where(Volume.id.in_(select(VolumeMetadata.volume_id).where(
                VolumeMetadata.key == key, VolumeMetadata.value == value)))
        return stmt

    async def list(self, ctx: RequestContext, q: ListQuery) -> tuple[list[VolumeInfo], int]:
        """A page of volumes, and the count of all that match (for with_count)."""
        ctx.enforce("volume:get_all", {"project_id": ctx.project_id})
        stmt = self._query(ctx, q)
        keys: list[SortKey] = []
        for key, direction in q.sort or [("created_at", "desc")]:
            if key == "display_name":
                key = "name"
            if key not in SORT_KEYS or direction not in ("asc", "desc"):
                raise faults.BadRequest(f"Invalid sort key or direction: {key}:{direction}")
            col = getattr(Volume, key)
            if key in ("name", "updated_at"):
                col = func.coalesce(col, "" if key == "name" else Volume.created_at)
            keys.append(SortKey(col, direction))  # type: ignore[arg-type]
        if "id" not in {k for k, _ in q.sort}:
            keys.append(SortKey(Volume.id, keys[-1].direction))  # type: ignore[arg-type]
        async with self.db.read() as s:
            total = int(await s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
            if q.marker:
                m = await s.get(Volume, q.marker)
                if m is None:
                    raise faults.NotFound(f"Marker {q.marker} could not be found.")
                values = []
                for k in keys:
                    values.append(await s.scalar(select(k.column).where(Volume.id == m.id)))
                stmt = stmt.where(after_marker(keys, values))
            stmt = order_by(stmt, keys).offset(q.offset).limit(q.limit)
            rows = (await s.scalars(stmt)).all()
            return await self._info(s, rows), total

    async def summary(self, ctx: RequestContext, all_tenants: bool) -> tuple[int, int]:
        ctx.enforce("volume:get_volume_summary", {"project_id": ctx.project_id})
        stmt = self._query(ctx, ListQuery(all_tenants=all_tenants)).subquery()
        async with self.db.read() as s:
            count, size = (await s.execute(select(func.count(), func.coalesce(
                func.sum(stmt.c.size), 0)))).one()
        return int(count), int(size)

    # -- creating --
    async def create(self, ctx: RequestContext, *, size: int | None, name: str | None,
                     description: str | None, volume_type: str | None, zone: str | None,
                     snapshot_id: str | None, source_volid: str | None,
                     image: ImageInfo | None, metadata: Mapping[str, str], multiattach: bool,
                     token: str | None) -> VolumeInfo:
        project = ctx.project_id or ""
        ctx.enforce("volume:create", {"project_id": project})
        if image is not None:
            ctx.enforce("volume:create_from_image", {"project_id": project})
        pools = await self.hosts.pools()
        now = utcnow()
        async with self.db.transaction() as s:
            only_host = None
            vtype = None
            if snapshot_id is not None:
                snap = await s.get(Snapshot, snapshot_id)
                if snap is None or snap.project_id != project:
                    raise faults.NotFound(f"Snapshot {snapshot_id} could not be found.")
                if snap.status != "available":
                    raise faults.BadRequest("Invalid snapshot: Originating snapshot status "
                                            "must be one of 'available' values")
                size = size or snap.size
                if size < snap.size:
                    raise faults.BadRequest(f"Invalid input received: Volume size '{size}'GB "
                                            f"cannot be smaller than the snapshot size "
                                            f"{snap.size}GB. They must be >= original "
                                            f"snapshot size.")
                only_host = snap.host
                src = await s.get(Volume, snap.volume_id)
                if src is not None and volume_type is None:
                    vtype = await s.get(VolumeType, src.volume_type_id)
            if source_volid is not None:
                src = await s.get(Volume, source_volid)
                if src is None or src.project_id != project:
                    raise faults.NotFound(f"Volume {source_volid} could not be found.")
                if src.status not in ("available", "in-use"):
                    raise faults.BadRequest(f"Invalid volume: Source volume status must be "
                                            f"available or in-use, but is {src.status}.")
                size = size or src.size
                if size < src.size:
                    raise faults.BadRequest("Invalid input received: Clones currently must "
                                            "be >= original volume size.")
                only_host = src.host
                if volume_type is None:
                    vtype = await s.get(VolumeType, src.volume_type_id)
            if image is not None:
                need = max(image.min_disk, -(-image.size // (1 << 30)) if image.size else 0)
                size = size or need or None
                if size is not None and size < need:
                    raise faults.BadRequest(f"Invalid input received: Size of specified image "
                                            f"{need}GB is larger than volume size {size}GB.")
            if size is None:
                raise faults.BadRequest("Invalid input received: Size must be specified.")
            if volume_type is not None:
                vtype = await self.types.find(s, ctx, volume_type, admin=ctx.can(
                    "volume:get_all_admin", {"project_id": project}))
            if vtype is None:
                vtype = await self.types.default(s)
            await self.quotas.check(s, project, volumes=1, gigabytes=size, size=size)
            default_zone = (self.config.default_availability_zone
                            or self.config.storage_availability_zone)
            # A zone asked for must be one an agent reports; the default zone is always
            # accepted (no agent up yet: the volume ends in error, as "No valid backend").
            if zone is not None and zone != default_zone and zone not in {
                    z for z, _ in await self.hosts.zones()}:
                raise faults.BadRequest(f"Invalid input received: Availability zone '{zone}' "
                                        f"is invalid.")
            zone = zone or default_zone
            v = Volume(id=str(uuid.uuid4()), project_id=project, user_id=ctx.user_id,
                       name=name, description=description, size=size, status="creating",
                       availability_zone=zone, volume_type_id=vtype.id,
                       snapshot_id=snapshot_id, source_volid=source_volid,
                       image_id=image.id if image else None, bootable=image is not None,
                       multiattach=multiattach, attach_status="detached",
                       image_metadata=dict(image.properties) if image else {},
                       created_at=now, updated_at=now)
            try:
                v.host = scheduler.pick(pools, size, zone, only_host).name
            except scheduler.NoValidBackend as exc:
                v.status, v.fault = "error", str(exc)
            s.add(v)
            await s.flush()
            for k, val in metadata.items():
                s.add(VolumeMetadata(volume_id=v.id, key=k, value=val))
            info = VolumeInfo(v, dict(metadata), vtype)
        await poke_agent(self.bus, v.host, f"volume:{v.id}", token)
        return info

    # -- changing --
    async def update(self, ctx: RequestContext, volume_id: str, *, name: str | None,
                     description: str | None, metadata: Mapping[str, str] | None,
                     fields: set[str]) -> VolumeInfo:
        async with self.db.transaction() as s:
            v = await self._load(s, ctx, volume_id)
            ctx.enforce("volume:update", self._target(v))
            if "name" in fields:
                v.name = name
            if "description" in fields:
                v.description = description
            if metadata is not None:
                await self._replace_metadata(s, v.id, metadata)
            v.updated_at = utcnow()
            return (await self._info(s, [v]))[0]

    async def delete(self, ctx: RequestContext, volume_id: str, *, cascade: bool,
                     force: bool) -> None:
        async with self.db.transaction() as s:
            v = await self._load(s, ctx, volume_id)
            ctx.enforce("volume_extension:volume_admin_actions:force_delete" if force
                        else "volume:delete", self._target(v))
            if not force:
                if v.attach_status != "detached" or v.status in ("in-use", "attaching",
                                                                  "detaching", "reserved"):
                    raise faults.BadRequest("Invalid volume: Volume status must be available "
                                            "or error or error_restoring or error_extending "
                                            "or error_managing and must not be migrating, "
                                            "attached, belong to a group, have snapshots, "
                                            "awaiting a transfer, or be disassociated from "
                                            "snapshots after volume transfer.")
                if v.status not in ("available", "error", "error_restoring",
                                    "error_extending", "error_managing"):
                    raise faults.BadRequest(f"Invalid volume: Volume status must be available "
                                            f"or error or error_restoring or error_extending "
                                            f"or error_managing and must not be migrating, "
                                            f"attached, belong to a group, have snapshots or "
                                            f"be disassociated from snapshots after volume "
                                            f"transfer. (status {v.status})")
            snaps = (await s.scalars(select(Snapshot).where(
                Snapshot.volume_id == v.id))).all()
            if snaps and not cascade:
                raise faults.BadRequest("Invalid volume: Volume still has 1 dependent "
                                        "snapshots." if len(snaps) == 1 else
                                        f"Invalid volume: Volume still has {len(snaps)} "
                                        f"dependent snapshots.")
            for snap in snaps:
                if snap.status not in ("available", "error") and not force:
                    raise faults.BadRequest(f"Invalid snapshot: Snapshot {snap.id} is in "
                                            f"status {snap.status}.")
                snap.status = "deleting"
                snap.updated_at = utcnow()
            v.status = "deleting"
            v.updated_at = utcnow()
            host = v.host
            if host is None:  # never placed (no valid backend): nothing to remove
                await s.delete(v)
        await poke_agent(self.bus, host, f"volume:{volume_id}")

    async def extend(self, ctx: RequestContext, volume_id: str, new_size: int) -> None:
        async with self.db.transaction() as s:
            v = await self._load(s, ctx, volume_id)
            ctx.enforce("volume:extend", self._target(v))
            if v.status != "available":
                raise faults.BadRequest(f"Invalid volume: Volume {v.id} status must be "
                                        f"'available' to extend, currently {v.status}.")
            if new_size <= v.size:
                raise faults.BadRequest(f"Invalid input received: New size for extend must "
                                        f"be greater than current size. (current: {v.size}, "
                                        f"extended: {new_size}).")
            await self.quotas.check(s, v.project_id, gigabytes=new_size - v.size, size=new_size)
            v.status = "extending"
            v.target_size = new_size
            v.updated_at = utcnow()
            host = v.host
        await poke_agent(self.bus, host, f"volume:{volume_id}")

    async def reset_status(self, ctx: RequestContext, volume_id: str, status: str | None,
                           attach_status: str | None) -> None:
        async with self.db.transaction() as s:
            v = await self._load(s, ctx, volume_id)
            ctx.enforce("volume_extension:volume_admin_actions:reset_status", self._target(v))
            if status is not None:
                if status not in STATUSES:
                    raise faults.BadRequest(f"Invalid input received: Must specify a valid "
                                            f"status. ({status})")
                v.status = status
            if attach_status is not None:
                if attach_status not in ("attached", "detached"):
                    raise faults.BadRequest(f"Invalid input received: Must specify a valid "
                                            f"attach status. ({attach_status})")
                v.attach_status = attach_status
            v.updated_at = utcnow()

    async def set_flag(self, ctx: RequestContext, volume_id: str, rule: str, bootable: bool
                       ) -> None:
        async with self.db.transaction() as s:
            v = await self._load(s, ctx, volume_id)
            ctx.enforce(rule, self._target(v))
            if rule == "volume:update_readonly_flag":
                if v.status != "available":
                    raise faults.BadRequest(f"Invalid volume: Volume {v.id} status must be "
                                            f"available to update readonly flag, but current "
                                            f"status is: {v.status}.")
                await self._set_metadata_item(s, v.id, "readonly", str(bootable))
            else:
                v.bootable = bootable
            v.updated_at = utcnow()

    # -- metadata --
    @staticmethod
    async def _replace_metadata(s: AsyncSession, volume_id: str,
                                metadata: Mapping[str, str]) -> None:
        for row in (await s.scalars(select(VolumeMetadata).where(
                VolumeMetadata.volume_id == volume_id))).all():
            if row.key not in metadata:
                await s.delete(row)
        await s.flush()
        for k, val in metadata.items():
            await Volumes._set_metadata_item(s, volume_id, k, val)

    @staticmethod
    async def _set_metadata_item(s: AsyncSession, volume_id: str, key: str, value: str) -> None:
        row = await s.get(VolumeMetadata, (volume_id, key))
        if row is None:
            s.add(VolumeMetadata(volume_id=volume_id, key=key, value=value))
        else:
            row.value = value

    async def metadata(self, ctx: RequestContext, volume_id: str) -> dict[str, str]:
        return (await self.get_with(ctx, volume_id, "volume:get_volume_metadata")).metadata

    async def get_with(self, ctx: RequestContext, volume_id: str, rule: str) -> VolumeInfo:
        async with self.db.read() as s:
            v = await self._load(s, ctx, volume_id)
            ctx.enforce(rule, self._target(v))
            return (await self._info(s, [v]))[0]

    async def set_metadata(self, ctx: RequestContext, volume_id: str,
                           metadata: Mapping[str, str], *, replace: bool, rule: str
                           ) -> dict[str, str]:
        async with self.db.transaction() as s:
            v = await self._load(s, ctx, volume_id)
            ctx.enforce(rule, self._target(v))
            if v.status in ("maintenance", "uploading"):
                raise faults.BadRequest(f"Invalid volume: Volume status must be available or "
                                        f"in-use, not {v.status}.")
            if replace:
                await self._replace_metadata(s, v.id, metadata)
            else:
                for k, val in metadata.items():
                    await self._set_metadata_item(s, v.id, k, val)
            v.updated_at = utcnow()
            await s.flush()
            return (await self._info(s, [v]))[0].metadata

    async def delete_metadata(self, ctx: RequestContext, volume_id: str, key: str) -> None:
        async with self.db.transaction() as s:
            v = await self._load(s, ctx, volume_id)
            ctx.enforce("volume:delete_volume_metadata", self._target(v))
            row = await s.get(VolumeMetadata, (v.id, key))
            if row is None:
                raise faults.NotFound(f"Volume {v.id} has no metadata with key {key}.")
            await s.delete(row)
