"""Groups and their members; a member leaving a group loses the roles it gave."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.directory import READ_ONLY, Directory
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
    def __init__(self, state: IdentityState, directory: Directory):
        self.state = state
        self.directory = directory

    @staticmethod
    async def get(s: AsyncSession, group_id: str) -> Group:
        group = await s.get(Group, group_id)
        if group is None:
            raise faults.NotFound(f"Could not find group: {group_id}.")
        return group

    async def list(self, ctx: RequestContext, *, name: str | None = None,
                   domain_id: str | None = None) -> builtins.list[Group]:
        ctx.enforce("identity:list_groups", {"domain_id": domain_id})
        ldap = await self.directory.of(domain_id)
        if ldap is not None and domain_id is not None:
            return self.state.cap(await self.directory.list_groups(ldap, domain_id, name=name))
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
        await self.directory.refuse_writes(own["domain_id"])
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
            await self.directory.refuse_writes(group.domain_id)
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
            await self.directory.refuse_writes(group.domain_id)
            members = list(await s.scalars(select(Membership.user_id).where(
                Membership.group_id == group_id)))
            if await s.scalar(select(Assignment.role_id).where(Assignment.actor_id == group_id)):
                for uid in members:
                    await self.state.revoke(s, user_id=uid)
            await s.execute(delete(Membership).where(Membership.group_id == group_id))
            await s.execute(delete(Assignment).where(Assignment.actor_id == group_id))
            await s.delete(group)

    async def _same_backend(self, group: Group, user: User) -> None:
        """Membership is the SQL backend's to change: LDAP groups are read-only, and a user
        and a group of different backends never meet (Keystone's CrossBackendNotAllowed)."""
        group_ldap = await self.directory.of(group.domain_id) is not None
        user_ldap = await self.directory.of(user.domain_id) is not None
        if group_ldap and user.domain_id == group.domain_id:
            raise faults.Forbidden(READ_ONLY)
        if group_ldap or user_ldap:
            raise faults.Forbidden("Group membership across backend boundaries is not allowed. "
                                   f"Group in question is {group.id}, user is {user.id}.")

    # -- members --
    async def members(self, ctx: RequestContext, group_id: str) -> builtins.list[User]:
        async with self.state.db.read() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:list_users_in_group", _target(group))
            ldap = await self.directory.of(group.domain_id)
            if ldap is None:
                return list(await s.scalars(self.state.capped(
                    select(User).where(User.id.in_(select(Membership.user_id).where(
                        Membership.group_id == group_id))).order_by(User.name, User.id))))
        return self.state.cap(await self.directory.members(ldap, group))

    async def add_user(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        async with self.state.write() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:add_user_to_group", _target(group))
            user = await Users.get(s, user_id)
            await self._same_backend(group, user)
            if await s.get(Membership, (user_id, group_id)) is None:
                s.add(Membership(user_id=user_id, group_id=group_id))

    async def check_user(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        async with self.state.db.read() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:check_user_in_group", _target(group))
            user = await Users.get(s, user_id)
            ldap = await self.directory.of(group.domain_id)
            if ldap is not None:
                members = await self.directory.members(ldap, group)
                if user.id not in {m.id for m in members}:
                    raise faults.NotFound(f"User '{user_id}' not found in group '{group_id}'.")
                return
            if await s.get(Membership, (user_id, group_id)) is None:
                raise faults.NotFound(f"User '{user_id}' not found in group '{group_id}'.")

    async def remove_user(self, ctx: RequestContext, group_id: str, user_id: str) -> None:
        async with self.state.write() as s:
            group = await self.get(s, group_id)
            ctx.enforce("identity:remove_user_from_group", _target(group))
            user = await Users.get(s, user_id)
            await self._same_backend(group, user)
            row = await s.get(Membership, (user_id, group_id))
            if row is None:
                raise faults.NotFound(f"User '{user_id}' not found in group '{group_id}'.")
            await s.delete(row)
            # The user may lose roles that came through the group.
            await self.state.revoke(s, user_id=user_id)
