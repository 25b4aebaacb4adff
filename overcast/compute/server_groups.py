"""Server groups: a policy (affinity, anti-affinity, soft-affinity, soft-anti-affinity) the
scheduler applies to the group's servers, and from 2.64 rules (`max_server_per_host` with
anti-affinity). Groups belong to a project; policy decides who else may see or delete one (Nova:
admins; anyone else gets 403). The servers side adds and removes members (`add_member`, `remove_member`)
and reads a group for scheduling (`find`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.compute.models import ServerGroup, ServerGroupMember
from overcast.compute.quotas import Quotas

__all__ = ["POLICIES", "ServerGroups"]

POLICIES = ("anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity")


def _not_found(group_id: str) -> faults.NotFound:
    return faults.NotFound(f"Instance group {group_id} could not be found.")


class ServerGroups:
    def __init__(self, db: Database, quotas: Quotas):
        self.db = db
        self.quotas = quotas

    @staticmethod
    async def _load(s: AsyncSession, group_id: str) -> ServerGroup:
        group = (await s.execute(select(ServerGroup).where(ServerGroup.uuid == group_id))
                 ).scalar_one_or_none()
        if group is None:
            raise _not_found(group_id)
        return group

    async def list(self, ctx: RequestContext, *, all_projects: bool, limit: int, offset: int
                   ) -> list[ServerGroup]:
        """The caller's project's groups; every project's with `all_projects` when policy
        allows it (else the flag is ignored, as Nova does)."""
        ctx.enforce("os_compute_api:os-server-groups:index", {"project_id": ctx.project_id})
        query = select(ServerGroup).order_by(ServerGroup.id)
        if not (all_projects and ctx.can("os_compute_api:os-server-groups:index:all_projects",
                                         {"project_id": ctx.project_id})):
            query = query.where(ServerGroup.project_id == ctx.project_id)
        async with self.db.read() as s:
            return list((await s.execute(query.offset(offset).limit(limit))).scalars())

    async def get(self, ctx: RequestContext, group_id: str) -> ServerGroup:
        async with self.db.read() as s:
            group = await self._load(s, group_id)
        # Nova answers another project's group with 403, not 404.
        ctx.enforce("os_compute_api:os-server-groups:show", {"project_id": group.project_id})
        return group

    async def create(self, ctx: RequestContext, name: str, policy: str,
                     rules: dict[str, Any]) -> ServerGroup:
        project_id = ctx.project_id or ""
        ctx.enforce("os_compute_api:os-server-groups:create",
                    {"project_id": project_id, "user_id": ctx.user_id})
        limits = await self.quotas.limits(project_id, ctx.user_id)
        async with self.db.transaction() as s:
            used = (await s.execute(select(func.count()).select_from(ServerGroup).where(
                ServerGroup.project_id == project_id))).scalar_one()
            if limits["server_groups"] >= 0 and used + 1 > limits["server_groups"]:
                raise faults.Forbidden("Quota exceeded, too many server groups.")
            group = ServerGroup(uuid=str(uuid.uuid4()), name=name, project_id=project_id,
                                user_id=ctx.user_id, policy=policy, rules=rules,
                                created_at=utcnow(), members=[])
            s.add(group)
            await s.flush()
            return group

    async def delete(self, ctx: RequestContext, group_id: str) -> None:
        async with self.db.transaction() as s:
            group = await self._load(s, group_id)
            ctx.enforce("os_compute_api:os-server-groups:delete",
                        {"project_id": group.project_id})
            await s.delete(group)

    # -- the servers side --
    async def find(self, group_id: str) -> ServerGroup:
        """A group by uuid, no policy (scheduling reads policy, rules and members)."""
        async with self.db.read() as s:
            return await self._load(s, group_id)

    async def add_member(self, group_id: str, instance_uuid: str, project_id: str) -> None:
        """A booting server joins its group (scheduler hint `group`): the group must be the
        project's, and the group's member quota holds."""
        limits = await self.quotas.limits(project_id)
        async with self.db.transaction() as s:
            group = await self._load(s, group_id)
            if group.project_id != project_id:
                raise _not_found(group_id)
            if any(m.instance_uuid == instance_uuid for m in group.members):
                return
            limit = limits["server_group_members"]
            if limit >= 0 and len(group.members) + 1 > limit:
                raise faults.Forbidden("Quota exceeded, too many servers in group")
            group.members.append(ServerGroupMember(instance_uuid=instance_uuid,
                                                   created_at=utcnow()))

    async def remove_member(self, instance_uuid: str) -> None:
        """A deleted server leaves whatever group it was in."""
        async with self.db.transaction() as s:
            await s.execute(delete(ServerGroupMember).where(
                ServerGroupMember.instance_uuid == instance_uuid))

    async def group_of(self, instance_uuid: str) -> ServerGroup | None:
        """The group a server is in, if any (server show's `server_groups` from 2.71)."""
        async with self.db.read() as s:
            return (await s.execute(select(ServerGroup).join(ServerGroupMember).where(
                ServerGroupMember.instance_uuid == instance_uuid))).scalar_one_or_none()

    async def groups_of(self, instance_uuids: Sequence[str]) -> dict[str, str]:
        """server uuid -> group uuid, for the servers that are in a group."""
        if not instance_uuids:
            return {}
        async with self.db.read() as s:
            rows = await s.execute(select(ServerGroupMember.instance_uuid, ServerGroup.uuid)
                                   .join(ServerGroup).where(
                ServerGroupMember.instance_uuid.in_(list(instance_uuids))))
            return dict(rows.all())
