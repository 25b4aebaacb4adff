"""Groups and their members; a member leaving a group loses the roles it gave."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.domains import Domains
from overcast.identity.models import Assignment, Group, Membership, User
from overcast.identity.state import IdentityState
from overcast.identity.users import Users

__all__ = ["Groups"]

_OWN = ("name", "domain_id", "description")


def _target(g: Group) -> dict[str, Any]:
    return {"group": {"id": g.id, "domain_id": g.domain_id}}


def _duplicate(name: str, domain_id: str) -> faults.Conflict:
    return faults.Conflict(f"Conflict occurred attempting to store group - Duplicate entry "
                           f"found with name {name} at domain ID {domain_id}.")


class Groups:
    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def get(s: AsyncSession, group_id: str) -> Group:
        group = await s.get(Group, group_id)
        if group is None:
            raise faults.NotFound(f"Could not find group: {group_id}.")
        return group

    async def list(self, ctx: RequestContext, *, name: str | None = None,
                   domain_id: str | None = None) -> builtins.list[Group]:
        ctx.enforce("identity:list_groups", {"domain_id": domain_id})
        q = select(Group).order_by(Group.name, Group.id)
        if name is not None:
            q = q.where(Group.name == name)
        if domain_id is not None:
            q = q.where(Group.domain_id == domain_id)
        async with self.state.db.read() as s:
            return list(await s.scalars(self.state.capped(q)))

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> Group:
        body = dict(body)
        if not body.get("domain_id"):
            body["domain_id"] = ctx.creds.domain_id or ctx.creds.project_domain_id or "default"
        ctx.enforce("identity:create_group", {"group": body})
        own = {k: v for k, v in body.items() if k in _OWN and v is not None}
        extra = {k: v for k, v in body.items() if k not in _OWN and k not in ("id", "links")}
        async with self.state.write() as s:
            await Domains.get(s, own["domain_id"])
            if await s.scalar(select(Group.id).where(Group.name == own["name"],
                                                     Group.domain_id == own["domain_id"])):
                raise _duplicate(own["name"], own["domain_id"])
            group = Group(**own, extra=extra)
            s.add(group)
        return group

    async def show(self, ctx: RequestContext, group_id: str) -> Group:
        async with self.state.db.read() as s:
            group = await self.get(s, group_id)
        ctx.enforce("identity:get_group", _target(group))
        return group

    async def update(self, ctx: RequestContext, group_id: str, body: dict[str, Any]) -> Group:
        async with self.state.write() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:update_group", _target(group))
            if "domain_id" in body and body["domain_id"] != group.domain_id:
                raise faults.BadRequest("Cannot change the domain of a group.")
            if "name" in body and body["name"] != group.name and await s.scalar(
                    select(Group.id).where(Group.name == body["name"],
                                           Group.domain_id == group.domain_id)):
                raise _duplicate(body["name"], group.domain_id)
            for k, v in body.items():
                if k in ("name", "description"):
                    setattr(group, k, "" if v is None else v)
                elif k not in ("id", "links", "domain_id"):
                    group.extra = {**group.extra, k: v}
        return group

    async def delete(self, ctx: RequestContext, group_id: str) -> None:
        async with self.state.write() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:delete_group", _target(group))
            members = list(await s.scalars(select(Membership.user_id).where(
                Membership.group_id == group_id)))
            if await s.scalar(select(Assignment.role_id).where(Assignment.actor_id == group_id)):
                for uid in members:
                    await self.state.revoke(s, user_id=uid)
            await s.execute(delete(Membership).where(Membership.group_id == group_id))
            await s.execute(delete(Assignment).where(Assignment.actor_id == group_id))
            await s.delete(group)

    # -- members --
    async def members(self, ctx: RequestContext, group_id: str) -> builtins.list[User]:
        async with self.state.db.read() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:list_users_in_group", _target(group))
            return list(await s.scalars(self.state.capped(
                select(User).where(User.id.in_(select(Membership.user_id).where(
                    Membership.group_id == group_id))).order_by(User.name, User.id))))

    async def add_user(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        async with self.state.write() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:add_user_to_group", _target(group))
            await Users.get(s, user_id)
            if await s.get(Membership, (user_id, group_id)) is None:
                s.add(Membership(user_id=user_id, group_id=group_id))

    async def check_user(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        async with self.state.db.read() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:check_user_in_group", _target(group))
            await Users.get(s, user_id)
            if await s.get(Membership, (user_id, group_id)) is None:
                raise faults.NotFound(f"User '{user_id}' not found in group '{group_id}'.")

    async def remove_user(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        async with self.state.write() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:remove_user_from_group", _target(group))
            await Users.get(s, user_id)
            row = await s.get(Membership, (user_id, group_id))
            if row is None:
                raise faults.NotFound(f"User '{user_id}' not found in group '{group_id}'.")
            await s.delete(row)
            # The user may lose roles that came through the group.
            await self.state.revoke(s, user_id=user_id)
