"""Quotas: limits per project (and per user within it), their defaults, and usage counted from
what exists, as Nova's DB quota driver counts (no reservations: `reserved` is always 0).

A limit comes from, most specific first: the user's row, the project's row, the `default` quota
class, `[compute] quota_*`. -1 means no limit. Usage of what this package owns (keypairs, server
groups) is counted here; the servers side registers a `UsageSource` for instances, cores and
ram (`Quotas.add_usage_source`), and asks `Quotas.check` before it creates or resizes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.compute.models import KeyPair, ProjectUserQuota, Quota, QuotaClass, ServerGroup
from overcast.config import ComputeSection

__all__ = ["LEGACY_NETWORK", "RESOURCES", "Quotas", "UsageSource", "resources_at"]

#: Every quota resource, in Nova's order; the legacy network ones are shown up to 2.35.
RESOURCES: Final = ("instances", "cores", "ram", "floating_ips", "fixed_ips", "metadata_items",
                    "injected_files", "injected_file_content_bytes", "injected_file_path_bytes",
                    "key_pairs", "security_groups", "security_group_rules", "server_groups",
                    "server_group_members")
LEGACY_NETWORK: Final = ("floating_ips", "fixed_ips", "security_groups", "security_group_rules")
INJECTED: Final = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
#: Nova's defaults of the network quotas it no longer enforces (Neutron does).
_NETWORK_DEFAULTS: Final = {"floating_ips": 10, "fixed_ips": -1, "security_groups": 10,
                            "security_group_rules": 20}
#: Resources counted per user rather than per project.
_PER_USER: Final = ("key_pairs",)

#: (project_id, user_id or None) -> {resource: in use}: the servers side's counts.
UsageSource = Callable[[str, str | None], Awaitable[dict[str, int]]]


def resources_at(mv: tuple[int, int], *, quota_class: bool = False) -> list[str]:
    """The quota resources a body shows at microversion `mv` (quota classes: Nova hides the
    server group ones before 2.50 and the network ones from 2.50)."""
    out = list(RESOURCES)
    if mv >= (2, 36) or (quota_class and mv >= (2, 50)):
        out = [r for r in out if r not in LEGACY_NETWORK]
    if mv >= (2, 57):
        out = [r for r in out if r not in INJECTED]
    if quota_class and mv < (2, 50):
        out = [r for r in out if r not in ("server_groups", "server_group_members")]
    return out


class Quotas:
    def __init__(self, db: Database, config: ComputeSection):
        self.db = db
        self.config = config
        self._sources: list[UsageSource] = []

    def add_usage_source(self, source: UsageSource) -> None:
        """Count more usage (the servers side: instances, cores, ram)."""
        self._sources.append(source)

    # -- limits --
    def config_defaults(self) -> dict[str, int]:
        c = self.config
        return {"instances": c.quota_instances, "cores": c.quota_cores, "ram": c.quota_ram,
                "metadata_items": c.quota_metadata_items,
                "injected_files": c.quota_injected_files,
                "injected_file_content_bytes": c.quota_injected_file_content_bytes,
                "injected_file_path_bytes": c.quota_injected_file_path_length,
                "key_pairs": c.quota_key_pairs, "server_groups": c.quota_server_groups,
                "server_group_members": c.quota_server_group_members, **_NETWORK_DEFAULTS}

    async def _class_limits(self, s: AsyncSession, name: str = "default") -> dict[str, int]:
        limits = self.config_defaults()
        rows = await s.execute(select(QuotaClass.resource, QuotaClass.hard_limit).where(
            QuotaClass.class_name == name))
        limits.update({r: v for r, v in rows if r in limits})
        return limits

    async def _limits(self, s: AsyncSession, project_id: str, user_id: str | None
                      ) -> dict[str, int]:
        limits = await self._class_limits(s)
        rows = await s.execute(select(Quota.resource, Quota.hard_limit).where(
            Quota.project_id == project_id))
        limits.update({r: v for r, v in rows if r in limits})
        if user_id:
            rows = await s.execute(select(ProjectUserQuota.resource, ProjectUserQuota.hard_limit)
                                   .where(ProjectUserQuota.project_id == project_id,
                                          ProjectUserQuota.user_id == user_id))
            limits.update({r: v for r, v in rows if r in limits})
        return limits

    async def limits(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """The limits that apply to a project (or to one of its users), no policy."""
        async with self.db.read() as s:
            return await self._limits(s, project_id, user_id)

    # -- usage --
    async def usage(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """What exists now, per resource (0 where nothing is counted)."""
        used = dict.fromkeys(RESOURCES, 0)
        async with self.db.read() as s:
            if user_id:
                used["key_pairs"] = int((await s.execute(select(func.count()).select_from(
                    KeyPair).where(KeyPair.user_id == user_id))).scalar_one())
            groups = select(func.count()).select_from(ServerGroup).where(
                ServerGroup.project_id == project_id)
            if user_id:
                groups = groups.where(ServerGroup.user_id == user_id)
            used["server_groups"] = int((await s.execute(groups)).scalar_one())
        for source in self._sources:
            for resource, n in (await source(project_id, user_id)).items():
                used[resource] = used.get(resource, 0) + n
        return used

    async def check(self, project_id: str, user_id: str | None, deltas: Mapping[str, int]
                    ) -> None:
        """Refuse (403, Nova's words) when adding `deltas` to what exists goes over a limit."""
        limits = await self.limits(project_id, user_id)
        used = await self.usage(project_id, user_id)
        for resource, delta in deltas.items():
            limit = limits.get(resource, -1)
            if delta > 0 and limit >= 0 and used.get(resource, 0) + delta > limit:
                raise faults.Forbidden(
                    f"Quota exceeded for {resource}: Requested {delta}, but already used "
                    f"{used.get(resource, 0)} of {limit} {resource}")

    async def check_keypair(self, user_id: str, project_id: str | None) -> None:
        limits = await self.limits(project_id or "", user_id)
        limit = limits["key_pairs"]
        used = (await self.usage(project_id or "", user_id))["key_pairs"]
        if limit >= 0 and used + 1 > limit:
            raise faults.Forbidden("Quota exceeded, too many key pairs.")

    # -- API operations --
    async def show(self, ctx: RequestContext, project_id: str, user_id: str | None, *,
                   detail: bool) -> tuple[dict[str, int], dict[str, int] | None]:
        rule = "os_compute_api:os-quota-sets:detail" if detail else "os_compute_api:os-quota-sets:show"
        ctx.enforce(rule, {"project_id": project_id})
        limits = await self.limits(project_id, user_id)
        used = await self.usage(project_id, user_id or ctx.user_id) if detail else None
        return limits, used

    async def defaults(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        ctx.enforce("os_compute_api:os-quota-sets:defaults", {"project_id": project_id})
        async with self.db.read() as s:
            return await self._class_limits(s)

    async def update(self, ctx: RequestContext, project_id: str, user_id: str | None,
                     values: Mapping[str, int], *, force: bool) -> dict[str, int]:
        """Set limits; without `force` a limit below what is in use is a 400, and a user's
        limit may not exceed the project's."""
        ctx.enforce("os_compute_api:os-quota-sets:update", {"project_id": project_id})
        used = await self.usage(project_id, user_id) if values and not force else {}
        async with self.db.transaction() as s:
            project_limits = await self._limits(s, project_id, None)
            for resource, value in values.items():
                if value < -1:
                    raise faults.BadRequest(
                        f"Quota limit {value} for {resource} must be -1 or greater.")
                if not force and value != -1 and used.get(resource, 0) > value:
                    raise faults.BadRequest(
                        f"Quota limit {value} for {resource} must be greater than or equal "
                        f"to already used and reserved {used.get(resource, 0)}.")
                if user_id and project_limits[resource] != -1 and (
                        value == -1 or value > project_limits[resource]):
                    raise faults.BadRequest(
                        f"Quota limit {value} for {resource} must be less than or equal to "
                        f"{project_limits[resource]}.")
            for resource, value in values.items():
                await self._put(s, project_id, user_id, resource, value)
            return await self._limits(s, project_id, user_id)

    @staticmethod
    async def _put(s: AsyncSession, project_id: str, user_id: str | None, resource: str,
                   value: int) -> None:
        if user_id:
            row = (await s.execute(select(ProjectUserQuota).where(
                ProjectUserQuota.project_id == project_id, ProjectUserQuota.user_id == user_id,
                ProjectUserQuota.resource == resource))).scalar_one_or_none()
            if row is None:
                s.add(ProjectUserQuota(project_id=project_id, user_id=user_id,
                                       resource=resource, hard_limit=value))
            else:
                row.hard_limit = value
            return
        prow = (await s.execute(select(Quota).where(
            Quota.project_id == project_id, Quota.resource == resource))).scalar_one_or_none()
        if prow is None:
            s.add(Quota(project_id=project_id, resource=resource, hard_limit=value))
        else:
            prow.hard_limit = value

    async def delete(self, ctx: RequestContext, project_id: str, user_id: str | None) -> None:
        ctx.enforce("os_compute_api:os-quota-sets:delete", {"project_id": project_id})
        async with self.db.transaction() as s:
            await s.execute(delete(ProjectUserQuota).where(
                ProjectUserQuota.project_id == project_id,
                *([ProjectUserQuota.user_id == user_id] if user_id else [])))
            if not user_id:
                await s.execute(delete(Quota).where(Quota.project_id == project_id))

    async def show_class(self, ctx: RequestContext, name: str) -> dict[str, int]:
        ctx.enforce("os_compute_api:os-quota-class-sets:show", {"quota_class": name})
        async with self.db.read() as s:
            return await self._class_limits(s, name)

    async def update_class(self, ctx: RequestContext, name: str, values: Mapping[str, int]
                           ) -> dict[str, int]:
        ctx.enforce("os_compute_api:os-quota-class-sets:update", {"quota_class": name})
        async with self.db.transaction() as s:
            for resource, value in values.items():
                row = (await s.execute(select(QuotaClass).where(
                    QuotaClass.class_name == name, QuotaClass.resource == resource))
                       ).scalar_one_or_none()
                if row is None:
                    s.add(QuotaClass(class_name=name, resource=resource, hard_limit=value))
                else:
                    row.hard_limit = value
            await s.flush()
            return await self._class_limits(s, name)
