"""Quotas of volumes, snapshots and gigabytes (and the backup and group limits Cinder shows),
per project: the configured defaults, a project's own limits, and usage counted from the rows
in the same transaction as the change that would exceed them (no reservations to leak)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import VolumeSection
from overcast.volume.models import QuotaLimit, Snapshot, Volume

__all__ = ["RESOURCES", "Quotas"]

RESOURCES = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "groups",
             "per_volume_gigabytes")


class Quotas:
    def __init__(self, db: Database, config: VolumeSection):
        self.db = db
        self.config = config

    def defaults(self) -> dict[str, int]:
        return {r: int(getattr(self.config, f"quota_{r}")) for r in RESOURCES}

    async def limits(self, s: AsyncSession, project: str) -> dict[str, int]:
        out = self.defaults()
        for row in (await s.scalars(select(QuotaLimit).where(
                QuotaLimit.project_id == project))).all():
            out[row.resource] = row.hard_limit
        return out

    async def usage(self, s: AsyncSession, project: str) -> dict[str, int]:
        vols, vgb = (await s.execute(select(func.count(), func.coalesce(func.sum(Volume.size), 0))
                                     .where(Volume.project_id == project))).one()
        snaps, sgb = (await s.execute(select(func.count(),
                                             func.coalesce(func.sum(Snapshot.size), 0))
                                      .where(Snapshot.project_id == project))).one()
        return {"volumes": int(vols), "snapshots": int(snaps), "gigabytes": int(vgb) + int(sgb),
                "backups": 0, "backup_gigabytes": 0, "groups": 0, "per_volume_gigabytes": 0}

    async def check(self, s: AsyncSession, project: str, *, volumes: int = 0,
                    snapshots: int = 0, gigabytes: int = 0, size: int | None = None) -> None:
        """OverQuota (413, Cinder's words) when adding these would pass a limit."""
        limits = await self.limits(s, project)
        per = limits["per_volume_gigabytes"]
        if size is not None and per >= 0 and size > per:
            raise faults.OverQuota(f"Requested volume size {size}G is larger than maximum "
                                   f"allowed limit {per}G.")
        used = await self.usage(s, project)
        for name, delta in (("volumes", volumes), ("snapshots", snapshots),
                            ("gigabytes", gigabytes)):
            limit = limits[name]
            if delta > 0 and limit >= 0 and used[name] + delta > limit:
                if name == "gigabytes":
                    raise faults.OverQuota(
                        f"Requested volume or snapshot exceeds allowed gigabytes quota. "
                        f"Requested {delta}G, quota is {limit}G and {used[name]}G has been "
                        f"consumed.")
                raise faults.OverQuota(f"Maximum number of {name} allowed ({limit}) exceeded "
                                       f"for quota '{name}'.")

    async def show(self, ctx: RequestContext, project: str, usage: bool
                   ) -> dict[str, int | dict[str, int]]:
        ctx.enforce("volume_extension:quotas:show", {"project_id": project})
        async with self.db.read() as s:
            limits = await self.limits(s, project)
            if not usage:
                return dict(limits)
            used = await self.usage(s, project)
        return {r: {"limit": limits[r], "in_use": used[r], "reserved": 0, "allocated": 0}
                for r in RESOURCES}

    async def update(self, ctx: RequestContext, project: str, values: dict[str, int]
                     ) -> dict[str, int]:
        ctx.enforce("volume_extension:quotas:update", {"project_id": project})
        async with self.db.transaction() as s:
            for name, value in values.items():
                row = await s.get(QuotaLimit, (project, name))
                if row is None:
                    s.add(QuotaLimit(project_id=project, resource=name, hard_limit=value))
                else:
                    row.hard_limit = value
            await s.flush()
            return await self.limits(s, project)

    async def reset(self, ctx: RequestContext, project: str) -> None:
        ctx.enforce("volume_extension:quotas:delete", {"project_id": project})
        async with self.db.transaction() as s:
            await s.execute(delete(QuotaLimit).where(QuotaLimit.project_id == project))

    async def absolute(self, ctx: RequestContext) -> dict[str, int]:
        project = ctx.project_id or ""
        ctx.enforce("limits_extension:used_limits", {"project_id": project})
        async with self.db.read() as s:
            limits = await self.limits(s, project)
            used = await self.usage(s, project)
        return {"totalSnapshotsUsed": used["snapshots"], "maxTotalBackups": limits["backups"],
                "maxTotalVolumeGigabytes": limits["gigabytes"],
                "maxTotalSnapshots": limits["snapshots"],
                "maxTotalBackupGigabytes": limits["backup_gigabytes"],
                "totalBackupGigabytesUsed": 0, "maxTotalVolumes": limits["volumes"],
                "totalVolumesUsed": used["volumes"], "totalBackupsUsed": 0,
                "totalGigabytesUsed": used["gigabytes"]}
