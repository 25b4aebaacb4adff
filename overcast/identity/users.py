"""Users, groups and group membership; password changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.identity.models import (
    ApplicationCredential,
    Assignment,
    Group,
    Membership,
    User,
)
from overcast.identity.resources import Domains
from overcast.identity.state import IdentityState

__all__ = ["Groups", "Users"]

_USER_FIELDS = ("name", "domain_id", "enabled", "default_project_id", "options")


class Users:
    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def get(s: AsyncSession, user_id: str) -> User:
        user = await s.get(User, user_id)
        if user is None:
            raise faults.NotFound(f"Could not find user: {user_id}.")
        return user

    async def show(self, user_id: str) -> User:
        async with self.state.db.read() as s:
            return await self.get(s, user_id)

    async def find(self, s: AsyncSession, name: str, domain_id: str) -> User | None:
        return await s.scalar(select(User).where(User.name == name, User.domain_id == domain_id))

    async def list(self, *, name: str | None = None, domain_id: str | None = None,
                   enabled: bool | None = None, group_id: str | None = None) -> list[User]:
        q = select(User).order_by(User.name)
        if name is not None:
            q = q.where(User.name == name)
        if domain_id is not None:
            q = q.where(User.domain_id == domain_id)
        if enabled is not None:
            q = q.where(User.enabled.is_(enabled))
        if group_id is not None:
            q = q.where(User.id.in_(select(Membership.user_id).where(
                Membership.group_id == group_id)))
        async with self.state.db.read() as s:
            return list(await s.scalars(q))

    async def create(self, body: dict[str, Any], user_id: str | None = None) -> User:
        password = body.pop("password", None)
        own = {k: v for k, v in body.items() if k in _USER_FIELDS}
        extra = {k: v for k, v in body.items() if k not in _USER_FIELDS and k not in ("id", "links")}
        own.setdefault("domain_id", "default")
        hashed = await self.state.hasher.hash(password) if password else None
        async with self.state.write() as s:
            await Domains.get(s, own["domain_id"])
            if await self.find(s, own["name"], own["domain_id"]):
                raise faults.Conflict(
                    f"Conflict occurred attempting to store user - Duplicate entry found with "
                    f"name {own['name']} at domain ID {own['domain_id']}.")
            user = User(**own, extra=extra, password_hash=hashed,
                        password_created_at=utcnow() if hashed else None)
            if user_id:
                user.id = user_id
            s.add(user)
        return user

    async def update(self, user_id: str, body: dict[str, Any]) -> User:
        password = body.pop("password", None)
        own = {k: v for k, v in body.items() if k in _USER_FIELDS}
        extra = {k: v for k, v in body.items() if k not in _USER_FIELDS and k not in ("id", "links")}
        hashed = await self.state.hasher.hash(password) if password else None
        async with self.state.write() as s:
            user = await self.get(s, user_id)
            if "domain_id" in own and own["domain_id"] != user.domain_id:
                raise faults.BadRequest("Cannot change the domain of a user.")
            if "name" in own and own["name"] != user.name and await self.find(
                    s, own["name"], user.domain_id):
                raise faults.Conflict(f"Duplicate entry found with name {own['name']}.")
            for k, v in own.items():
                setattr(user, k, v)
            if extra:
                user.extra = {**user.extra, **extra}
            if hashed:
                user.password_hash = hashed
                user.password_created_at = utcnow()
            if hashed or own.get("enabled") is False:
                await self.state.revoke(s, user_id=user_id)
                self.state.hasher.forget(user_id)
        return user

    async def change_password(self, user_id: str, original: str, new: str) -> None:
        async with self.state.db.read() as s:
            user = await self.get(s, user_id)
        if not await self.state.hasher.verify(user_id, original, user.password_hash):
            raise faults.Unauthorized("The request you have made requires authentication.")
        if not new:
            raise faults.BadRequest("The new password must not be empty.")
        hashed = await self.state.hasher.hash(new)
        async with self.state.write() as s:
            user = await self.get(s, user_id)
            user.password_hash = hashed
            user.password_created_at = utcnow()
            await self.state.revoke(s, user_id=user_id)
        self.state.hasher.forget(user_id)

    async def delete(self, user_id: str) -> None:
        async with self.state.write() as s:
            await self.get(s, user_id)
            await s.execute(delete(Membership).where(Membership.user_id == user_id))
            await s.execute(delete(Assignment).where(Assignment.actor_id == user_id))
            await s.execute(delete(ApplicationCredential).where(
                ApplicationCredential.user_id == user_id))
            await self.state.revoke(s, user_id=user_id)
            await s.execute(delete(User).where(User.id == user_id))
        self.state.hasher.forget(user_id)

    async def groups_of(self, user_id: str) -> list[Group]:
        async with self.state.db.read() as s:
            await self.get(s, user_id)
            return list(await s.scalars(select(Group).where(Group.id.in_(
                select(Membership.group_id).where(Membership.user_id == user_id))).order_by(Group.name)))


class Groups:
    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def get(s: AsyncSession, group_id: str) -> Group:
        group = await s.get(Group, group_id)
        if group is None:
            raise faults.NotFound(f"Could not find group: {group_id}.")
        return group

    async def show(self, group_id: str) -> Group:
        async with self.state.db.read() as s:
            return await self.get(s, group_id)

    async def list(self, *, name: str | None = None, domain_id: str | None = None) -> list[Group]:
        q = select(Group).order_by(Group.name)
        if name is not None:
            q = q.where(Group.name == name)
        if domain_id is not None:
            q = q.where(Group.domain_id == domain_id)
        async with self.state.db.read() as s:
            return list(await s.scalars(q))

    async def create(self, body: dict[str, Any]) -> Group:
        known = ("name", "domain_id", "description")
        own = {k: v for k, v in body.items() if k in known and v is not None}
        extra = {k: v for k, v in body.items() if k not in known and k not in ("id", "links")}
        own.setdefault("domain_id", "default")
        async with self.state.write() as s:
            await Domains.get(s, own["domain_id"])
            if await s.scalar(select(Group.id).where(Group.name == own["name"],
                                                     Group.domain_id == own["domain_id"])):
                raise faults.Conflict(
                    f"Conflict occurred attempting to store group - Duplicate entry found with "
                    f"name {own['name']} at domain ID {own['domain_id']}.")
            group = Group(**own, extra=extra)
            s.add(group)
        return group

    async def update(self, group_id: str, body: dict[str, Any]) -> Group:
        async with self.state.write() as s:
            group = await self.get(s, group_id)
            if "domain_id" in body and body["domain_id"] != group.domain_id:
                raise faults.BadRequest("Cannot change the domain of a group.")
            if "name" in body and body["name"] != group.name and await s.scalar(
                    select(Group.id).where(Group.name == body["name"],
                                           Group.domain_id == group.domain_id)):
                raise faults.Conflict(
                    f"Conflict occurred attempting to store group - Duplicate entry found with "
                    f"name {body['name']} at domain ID {group.domain_id}.")
            for k, v in body.items():
                if k in ("name", "description"):
                    setattr(group, k, "" if v is None else v)
                elif k not in ("id", "links", "domain_id"):
                    group.extra = {**group.extra, k: v}
        return group

    async def delete(self, group_id: str) -> None:
        async with self.state.write() as s:
            await self.get(s, group_id)
            members = list(await s.scalars(select(Membership.user_id).where(
                Membership.group_id == group_id)))
            if await s.scalar(select(Assignment.role_id).where(Assignment.actor_id == group_id)):
                for uid in members:
                    await self.state.revoke(s, user_id=uid)
            await s.execute(delete(Membership).where(Membership.group_id == group_id))
            await s.execute(delete(Assignment).where(Assignment.actor_id == group_id))
            await s.execute(delete(Group).where(Group.id == group_id))

    async def add_user(self, group_id: str, user_id: str) -> None:
        async with self.state.write() as s:
            await self.get(s, group_id)
            await Users.get(s, user_id)
            if await s.get(Membership, (user_id, group_id)) is None:
                s.add(Membership(user_id=user_id, group_id=group_id))

    async def check_user(self, group_id: str, user_id: str) -> None:
        async with self.state.db.read() as s:
            await self.get(s, group_id)
            await Users.get(s, user_id)
            if await s.get(Membership, (user_id, group_id)) is None:
                raise faults.NotFound(f"User '{user_id}' not found in group '{group_id}'.")

    async def remove_user(self, group_id: str, user_id: str) -> None:
        async with self.state.write() as s:
            await self.get(s, group_id)
            await Users.get(s, user_id)
            row = await s.get(Membership, (user_id, group_id))
            if row is None:
                raise faults.NotFound(f"User '{user_id}' not found in group '{group_id}'.")
            await s.delete(row)
            # The user may lose roles that came through the group.
            await self.state.revoke(s, user_id=user_id)
