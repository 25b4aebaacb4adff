"""Snapshots: create (from an available volume; an in-use one only with force), list, show,
update, delete, metadata, reset-status and force-delete. The snapshot lives on its volume's
host; the agent makes and removes it (status creating -> available, deleting -> gone)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.bus import Bus
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.volume.models import Snapshot, SnapshotMetadata, Volume
from overcast.volume.quotas import Quotas
from overcast.volume.volumes import poke_agent

__all__ = ["SNAPSHOT_STATUSES", "SnapshotInfo", "Snapshots"]

SNAPSHOT_STATUSES = ("creating", "available", "backing-up", "deleting", "error",
                     "deleted", "unmanaging", "restoring", "error_deleting")


@dataclass
class SnapshotInfo:
    snapshot: Snapshot
    metadata: dict[str, str]


class Snapshots:
    def __init__(self, db: Database, quotas: Quotas, bus: Bus):
        self.db = db
        self.quotas = quotas
        self.bus = bus

    async def _load(self, s: AsyncSession, ctx: RequestContext, snapshot_id: str) -> Snapshot:
        snap = await s.get(Snapshot, snapshot_id)
        if snap is None or (snap.project_id != ctx.project_id and not ctx.can(
                "volume:get_all_admin", {"project_id": ctx.project_id})):
            raise faults.NotFound(f"Snapshot {snapshot_id} could not be found.")
        return snap

    @staticmethod
    async def _info(s: AsyncSession, snaps: Sequence[Snapshot]) -> list[SnapshotInfo]:
        ids = [x.id for x in snaps]
        meta: dict[str, dict[str, str]] = {i: {} for i in ids}
        if ids:
            for m in (await s.scalars(select(SnapshotMetadata).where(
                    SnapshotMetadata.snapshot_id.in_(ids)))).all():
                meta[m.snapshot_id][m.key] = m.value
        return [SnapshotInfo(x, meta[x.id]) for x in snaps]

    async def create(self, ctx: RequestContext, volume_id: str, *, name: str | None,
                     description: str | None, force: bool, allow_in_use: bool,
                     metadata: Mapping[str, str]) -> SnapshotInfo:
        project = ctx.project_id or ""
        async with self.db.transaction() as s:
            v = await s.get(Volume, volume_id)
            if v is None or (v.project_id != project and not ctx.can(
                    "volume:get_all_admin", {"project_id": project})):
                raise faults.NotFound(f"Volume {volume_id} could not be found.")
            ctx.enforce("volume:create_snapshot", {"project_id": v.project_id})
            ok = ("available", "in-use") if (force or allow_in_use) else ("available",)
            if v.status not in ok:
                raise faults.BadRequest(f"Invalid volume: Volume {v.id} status must be "
                                        f"{' or '.join(ok)}, but current status is: "
                                        f"{v.status}.")
            await self.quotas.check(s, v.project_id, snapshots=1, gigabytes=v.size)
            now = utcnow()
            snap = Snapshot(id=str(uuid.uuid4()), project_id=v.project_id, user_id=ctx.user_id,
                            volume_id=v.id, name=name, description=description, size=v.size,
                            status="creating", host=v.host, progress="0%", created_at=now,
                            updated_at=now)
            s.add(snap)
            await s.flush()
            for k, val in metadata.items():
                s.add(SnapshotMetadata(snapshot_id=snap.id, key=k, value=val))
            info = SnapshotInfo(snap, dict(metadata))
        await poke_agent(self.bus, snap.host, f"snapshot:{snap.id}")
        return info

    async def get(self, ctx: RequestContext, snapshot_id: str,
                  rule: str = "volume:get_snapshot") -> SnapshotInfo:
        async with self.db.read() as s:
            snap = await self._load(s, ctx, snapshot_id)
            ctx.enforce(rule, {"project_id": snap.project_id})
            return (await self._info(s, [snap]))[0]

    async def list(self, ctx: RequestContext, *, all_tenants: bool, filters: dict[str, str],
                   limit: int, marker: str | None, offset: int) -> list[SnapshotInfo]:
        ctx.enforce("volume:get_all_snapshots", {"project_id": ctx.project_id})
        stmt = select(Snapshot)
        if not (all_tenants and ctx.can("volume:get_all_admin",
                                        {"project_id": ctx.project_id})):
            stmt = stmt.where(Snapshot.project_id == (ctx.project_id or ""))
        elif filters.get("project_id"):
            stmt = stmt.where(Snapshot.project_id == filters["project_id"])
        for key in ("name", "status", "volume_id"):
            if key in filters:
                stmt = stmt.where(getattr(Snapshot, key) == filters[key])
        stmt = stmt.order_by(Snapshot.created_at.desc(), Snapshot.id.desc())
        async with self.db.read() as s:
            rows = list((await s.scalars(stmt)).all())
            if marker:
                ids = [r.id for r in rows]
                if marker not in ids:
                    raise faults.NotFound(f"Marker {marker} could not be found.")
                rows = rows[ids.index(marker) + 1:]
            rows = rows[offset:offset + limit]
            return await self._info(s, rows)

    async def update(self, ctx: RequestContext, snapshot_id: str, name: str | None,
                     description: str | None, fields: set[str]) -> SnapshotInfo:
        async with self.db.transaction() as s:
            snap = await self._load(s, ctx, snapshot_id)
            ctx.enforce("volume:update_snapshot", {"project_id": snap.project_id})
            if "name" in fields:
                snap.name = name
            if "description" in fields:
                snap.description = description
            snap.updated_at = utcnow()
            return (await self._info(s, [snap]))[0]

    async def delete(self, ctx: RequestContext, snapshot_id: str, *, force: bool) -> None:
        async with self.db.transaction() as s:
            snap = await self._load(s, ctx, snapshot_id)
            ctx.enforce("volume_extension:snapshot_admin_actions:force_delete" if force
                        else "volume:delete_snapshot", {"project_id": snap.project_id})
            if not force and snap.status not in ("available", "error"):
                raise faults.BadRequest("Invalid snapshot: Volume Snapshot status must be "
                                        "available or error and must not be part of a "
                                        "group.")
            snap.status = "deleting"
            snap.updated_at = utcnow()
            host = snap.host
            if host is None:
                await s.delete(snap)
        await poke_agent(self.bus, host, f"snapshot:{snapshot_id}")

    async def reset_status(self, ctx: RequestContext, snapshot_id: str, status: str) -> None:
        async with self.db.transaction() as s:
            snap = await self._load(s, ctx, snapshot_id)
            ctx.enforce("volume_extension:snapshot_admin_actions:reset_status",
                        {"project_id": snap.project_id})
            if status not in SNAPSHOT_STATUSES:
                raise faults.BadRequest(f"Invalid input received: Must specify a valid "
                                        f"status. ({status})")
            snap.status = status
            snap.updated_at = utcnow()

    async def set_metadata(self, ctx: RequestContext, snapshot_id: str,
                           metadata: Mapping[str, str], *, replace: bool) -> dict[str, str]:
        async with self.db.transaction() as s:
            snap = await self._load(s, ctx, snapshot_id)
            ctx.enforce("volume:update_snapshot_metadata", {"project_id": snap.project_id})
            rows = {m.key: m for m in (await s.scalars(select(SnapshotMetadata).where(
                SnapshotMetadata.snapshot_id == snap.id))).all()}
            if replace:
                for k, row in rows.items():
                    if k not in metadata:
                        await s.delete(row)
            for k, val in metadata.items():
                if k in rows:
                    rows[k].value = val
                else:
                    s.add(SnapshotMetadata(snapshot_id=snap.id, key=k, value=val))
            await s.flush()
            return (await self._info(s, [snap]))[0].metadata

    async def delete_metadata(self, ctx: RequestContext, snapshot_id: str, key: str) -> None:
        async with self.db.transaction() as s:
            snap = await self._load(s, ctx, snapshot_id)
            ctx.enforce("volume:delete_snapshot_metadata", {"project_id": snap.project_id})
            row = await s.get(SnapshotMetadata, (snap.id, key))
            if row is None:
                raise faults.NotFound(f"Metadata item was not found for key {key}.")
            await s.delete(row)
