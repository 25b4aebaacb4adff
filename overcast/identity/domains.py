"""Domains: the namespaces of users, groups and projects; disabling one revokes its tokens."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.models import Assignment, Domain, Group, IdMapping, Limit, Project, User
from overcast.identity.state import IdentityState

__all__ = ["Domains", "duplicate_domain", "split_extra"]

_OWN = ("name", "description", "enabled", "tags")


def split_extra(body: dict[str, Any], known: tuple[str, ...]) -> tuple[dict[str, Any],
                                                                        dict[str, Any]]:
    """A body's column attributes and the rest, which Keystone keeps as `extra`."""
    own = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known and k not in ("id", "links")}
    if "description" in own and own["description"] is None:
        own["description"] = ""  # Keystone accepts null; the column holds "" for "none"
    return own, extra


def duplicate_domain(name: str) -> faults.Conflict:
    """Keystone's conflict for a domain (a project acting as a domain there, whichever API
    made it): keystone/resource/core.py _generate_project_name_conflict_msg."""
    return faults.Conflict("Conflict occurred attempting to store project - it is not "
                           "permitted to have two projects acting as domains with the same "
                           f"name: {name}.")


def _target(d: Domain) -> dict[str, Any]:
    return {"domain": {"id": d.id, "name": d.name, "enabled": d.enabled}}


class Domains:
    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def get(s: AsyncSession, domain_id: str) -> Domain:
        domain = await s.get(Domain, domain_id)
        if domain is None:
            raise faults.NotFound(f"Could not find domain: {domain_id}.")
        return domain

    async def list(self, ctx: RequestContext, *, name: str | None = None,
                   enabled: bool | None = None) -> builtins.list[Domain]:
        ctx.enforce("identity:list_domains")
        return await self.rows(name=name, enabled=enabled)

    async def rows(self, *, name: str | None = None, enabled: bool | None = None) -> builtins.list[Domain]:
        """Domains by name and enablement, capped at list_limit + 1 (no policy: callers
        enforced theirs)."""
        q = select(Domain).order_by(Domain.name, Domain.id)
        if name is not None:
            q = q.where(Domain.name == name)
        if enabled is not None:
            q = q.where(Domain.enabled.is_(enabled))
        async with self.state.db.read() as s:
            return list(await s.scalars(self.state.capped(q)))

    async def show(self, ctx: RequestContext, domain_id: str) -> Domain:
        async with self.state.db.read() as s:
            domain = await self.get(s, domain_id)
        ctx.enforce("identity:get_domain", _target(domain))
        return domain

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> Domain:
        ctx.enforce("identity:create_domain", {"domain": body})
        async with self.state.write() as s:
            return await self.insert(s, body)

    async def update(self, ctx: RequestContext, domain_id: str, body: dict[str, Any]) -> Domain:
        async with self.state.write() as s:
            domain = await self.get(s, domain_id)
            ctx.enforce("identity:update_domain", _target(domain))
            await self.change(s, domain, body)
        return domain

    async def delete(self, ctx: RequestContext, domain_id: str) -> None:
        async with self.state.write() as s:
            domain = await self.get(s, domain_id)
            ctx.enforce("identity:delete_domain", _target(domain))
            await self.remove(s, domain)

    # -- the changes themselves, inside a caller's transaction (projects acting as domains) --
    async def insert(self, s: AsyncSession, body: dict[str, Any]) -> Domain:
        own, extra = split_extra(body, _OWN)
        domain_id = extra.pop("explicit_domain_id", None)
        extra.pop("options", None)  # Keystone's domain options: none are supported here
        if await s.scalar(select(Domain.id).where(Domain.name == own["name"])):
            raise duplicate_domain(own["name"])
        domain = Domain(**own, extra=extra)
        if domain_id:
            if await s.get(Domain, domain_id) is not None:
                raise duplicate_domain(own["name"])
            domain.id = domain_id
        s.add(domain)
        await s.flush()
        return domain

    async def change(self, s: AsyncSession, domain: Domain, body: dict[str, Any]) -> None:
        own, extra = split_extra(body, _OWN)
        extra.pop("options", None)
        if "name" in own and own["name"] != domain.name and await s.scalar(
                select(Domain.id).where(Domain.name == own["name"])):
            raise duplicate_domain(own["name"])
        for k, v in own.items():
            setattr(domain, k, v)
        if extra:
            domain.extra = {**domain.extra, **extra}
        if own.get("enabled") is False:
            # Revokes its users' tokens wherever scoped, and tokens on its projects
            # (the revocation index matches the user's domain and the project's).
            await self.state.revoke(s, domain_id=domain.id)

    async def remove(self, s: AsyncSession, domain: Domain) -> None:
        if domain.enabled:
            raise faults.Forbidden(
                "Cannot delete a domain that is enabled, please disable it first.")
        domain_id = domain.id
        projects = list(await s.scalars(select(Project.id).where(Project.domain_id == domain_id)))
        users = list(await s.scalars(select(User.id).where(User.domain_id == domain_id)))
        groups = list(await s.scalars(select(Group.id).where(Group.domain_id == domain_id)))
        gone = [domain_id, *projects, *users, *groups]
        await s.execute(delete(Assignment).where(Assignment.target_id.in_(gone)))
        await s.execute(delete(Assignment).where(Assignment.actor_id.in_(gone)))
        await s.execute(delete(Limit).where(Limit.domain_id.in_(gone) | Limit.project_id.in_(gone)))
        await s.execute(delete(IdMapping).where(IdMapping.domain_id == domain_id))
        # children before parents
        while projects:
            leaves = list(await s.scalars(select(Project.id).where(
                Project.domain_id == domain_id,
                ~Project.id.in_(select(Project.parent_id).where(Project.parent_id.is_not(None))))))
            await s.execute(delete(Project).where(Project.id.in_(leaves)))
            projects = [p for p in projects if p not in leaves]
            if not leaves:
                break
        await s.execute(delete(User).where(User.domain_id == domain_id))
        await s.execute(delete(Group).where(Group.domain_id == domain_id))
        await self.state.revoke(s, domain_id=domain_id)
        await s.delete(domain)
