"""Domains and projects (the `resource` part of Keystone): hierarchy, tags, enablement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.identity.models import (
    Assignment,
    Domain,
    Group,
    Project,
    ProjectEndpoint,
    ProjectEndpointGroup,
    User,
)
from overcast.identity.state import IdentityState

__all__ = ["Domains", "Projects"]

_PROJECT_FIELDS = ("name", "description", "enabled", "tags", "parent_id", "domain_id")


def _split_extra(body: dict[str, Any], known: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    own = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known and k not in ("id", "links")}
    if "description" in own and own["description"] is None:
        own["description"] = ""  # Keystone accepts null; the column holds "" for "none"
    return own, extra


class Domains:
    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def get(s: AsyncSession, domain_id: str) -> Domain:
        domain = await s.get(Domain, domain_id)
        if domain is None:
            raise faults.NotFound(f"Could not find domain: {domain_id}.")
        return domain

    async def show(self, domain_id: str) -> Domain:
        async with self.state.db.read() as s:
            return await self.get(s, domain_id)

    async def list(self, name: str | None = None, enabled: bool | None = None) -> list[Domain]:
        q = select(Domain).order_by(Domain.name)
        if name is not None:
            q = q.where(Domain.name == name)
        if enabled is not None:
            q = q.where(Domain.enabled.is_(enabled))
        async with self.state.db.read() as s:
            return list(await s.scalars(q))

    async def create(self, body: dict[str, Any], domain_id: str | None = None) -> Domain:
        own, extra = _split_extra(body, ("name", "description", "enabled", "tags"))
        async with self.state.write() as s:
            if await s.scalar(select(Domain.id).where(Domain.name == own["name"])):
                raise faults.Conflict(
                    f"Conflict occurred attempting to store domain - Duplicate entry found "
                    f"with name {own['name']}.")
            domain = Domain(**own, extra=extra)
            if domain_id:
                domain.id = domain_id
            s.add(domain)
        return domain

    async def update(self, domain_id: str, body: dict[str, Any]) -> Domain:
        own, extra = _split_extra(body, ("name", "description", "enabled", "tags"))
        async with self.state.write() as s:
            domain = await self.get(s, domain_id)
            if "name" in own and own["name"] != domain.name and await s.scalar(
                    select(Domain.id).where(Domain.name == own["name"])):
                raise faults.Conflict(f"Duplicate entry found with name {own['name']}.")
            for k, v in own.items():
                setattr(domain, k, v)
            if extra:
                domain.extra = {**domain.extra, **extra}
            if own.get("enabled") is False:
                await self.state.revoke(s, domain_id=domain_id)
        return domain

    async def delete(self, domain_id: str) -> None:
        async with self.state.write() as s:
            domain = await self.get(s, domain_id)
            if domain.enabled:
                raise faults.Forbidden(
                    "Cannot delete a domain that is enabled, please disable it first.")
            projects = list(await s.scalars(select(Project.id).where(
                Project.domain_id == domain_id)))
            users = list(await s.scalars(select(User.id).where(User.domain_id == domain_id)))
            groups = list(await s.scalars(select(Group.id).where(Group.domain_id == domain_id)))
            gone = [domain_id, *projects, *users, *groups]
            await s.execute(delete(Assignment).where(Assignment.target_id.in_(gone)))
            await s.execute(delete(Assignment).where(Assignment.actor_id.in_(gone)))
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


class Projects:
    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def get(s: AsyncSession, project_id: str) -> Project:
        project = await s.get(Project, project_id)
        if project is None:
            raise faults.NotFound(f"Could not find project: {project_id}.")
        return project

    async def show(self, project_id: str) -> Project:
        async with self.state.db.read() as s:
            return await self.get(s, project_id)

    async def find(self, s: AsyncSession, name: str, domain_id: str) -> Project | None:
        return await s.scalar(select(Project).where(Project.name == name,
                                                    Project.domain_id == domain_id))

    async def list(self, *, name: str | None = None, domain_id: str | None = None,
                   parent_id: str | None = None, enabled: bool | None = None,
                   ids: set[str] | None = None, tags: list[str] | None = None,
                   tags_any: list[str] | None = None, not_tags: list[str] | None = None,
                   not_tags_any: list[str] | None = None) -> list[Project]:
        q = select(Project).order_by(Project.name)
        if name is not None:
            q = q.where(Project.name == name)
        if domain_id is not None:
            q = q.where(Project.domain_id == domain_id)
        if parent_id is not None:
            q = q.where(Project.parent_id == parent_id)
        if enabled is not None:
            q = q.where(Project.enabled.is_(enabled))
        if ids is not None:
            q = q.where(Project.id.in_(ids))
        async with self.state.db.read() as s:
            rows = list(await s.scalars(q))

        def keep(p: Project) -> bool:
            t = set(p.tags)
            return ((not tags or set(tags) <= t) and (not tags_any or bool(set(tags_any) & t))
                    and (not not_tags or not set(not_tags) <= t)
                    and (not not_tags_any or not set(not_tags_any) & t))

        return [p for p in rows if keep(p)]

    async def show_any(self, project_id: str) -> Project | Domain:
        """A project, or a domain seen as a project acting as a domain (is_domain)."""
        async with self.state.db.read() as s:
            found = await s.get(Project, project_id) or await s.get(Domain, project_id)
        if found is None:
            raise faults.NotFound(f"Could not find project: {project_id}.")
        return found

    async def create(self, body: dict[str, Any], project_id: str | None = None) -> Project | Domain:
        if body.get("is_domain"):
            if body.get("parent_id") or body.get("domain_id"):
                raise faults.BadRequest("A project acting as a domain has no parent or domain.")
            fields = {k: v for k, v in body.items() if k not in ("is_domain", "domain_id",
                                                                 "parent_id")}
            return await Domains(self.state).create(fields)
        own, extra = _split_extra(body, _PROJECT_FIELDS)
        extra.pop("is_domain", None)
        _check_tags(own.get("tags", []))
        async with self.state.write() as s:
            parent = await self.get(s, own["parent_id"]) if own.get("parent_id") else None
            domain_id = own.get("domain_id") or (parent.domain_id if parent else "default")
            await Domains.get(s, domain_id)
            if parent is not None and parent.domain_id != domain_id:
                raise faults.BadRequest("The parent project must be in the same domain.")
            if await self.find(s, own["name"], domain_id):
                raise faults.Conflict(
                    f"Conflict occurred attempting to store project - Duplicate entry found "
                    f"with name {own['name']} at domain ID {domain_id}.")
            own["domain_id"] = domain_id
            project = Project(**own, extra=extra)
            if project_id:
                project.id = project_id
            s.add(project)
        return project

    async def update(self, project_id: str, body: dict[str, Any]) -> Project | Domain:
        if isinstance(await self.show_any(project_id), Domain):
            fields = {k: v for k, v in body.items() if k not in ("is_domain", "domain_id",
                                                                 "parent_id")}
            return await Domains(self.state).update(project_id, fields)
        own, extra = _split_extra(body, _PROJECT_FIELDS)
        extra.pop("is_domain", None)
        _check_tags(own.get("tags", []))
        async with self.state.write() as s:
            project = await self.get(s, project_id)
            if "domain_id" in own and own["domain_id"] != project.domain_id:
                raise faults.BadRequest("Cannot change the domain of a project.")
            if "parent_id" in own and own["parent_id"] != project.parent_id:
                raise faults.Forbidden("Cannot change the parent of a project.")
            if "name" in own and own["name"] != project.name and await self.find(
                    s, own["name"], project.domain_id):
                raise faults.Conflict(f"Duplicate entry found with name {own['name']}.")
            for k, v in own.items():
                if k not in ("domain_id", "parent_id"):
                    setattr(project, k, v)
            if extra:
                project.extra = {**project.extra, **extra}
            if own.get("enabled") is False:
                await self.state.revoke(s, project_id=project_id)
        return project

    async def delete(self, project_id: str) -> None:
        if isinstance(await self.show_any(project_id), Domain):
            await Domains(self.state).delete(project_id)
            return
        async with self.state.write() as s:
            await self.get(s, project_id)
            if await s.scalar(select(func.count()).select_from(Project).where(
                    Project.parent_id == project_id)):
                raise faults.Forbidden("Cannot delete a project that has children.")
            await s.execute(delete(Assignment).where(Assignment.target_id == project_id))
            await s.execute(delete(ProjectEndpoint).where(ProjectEndpoint.project_id == project_id))
            await s.execute(delete(ProjectEndpointGroup).where(
                ProjectEndpointGroup.project_id == project_id))
            await self.state.revoke(s, project_id=project_id)
            await s.execute(delete(Project).where(Project.id == project_id))

    async def set_tags(self, project_id: str, tags: list[str]) -> list[str]:
        _check_tags(tags)
        async with self.state.write() as s:
            project = await self.get(s, project_id)
            project.tags = list(dict.fromkeys(tags))
            return project.tags

    async def add_tag(self, project_id: str, tag: str) -> None:
        _check_tags([tag])
        async with self.state.write() as s:
            project = await self.get(s, project_id)
            if tag not in project.tags:
                if len(project.tags) >= 80:
                    raise faults.BadRequest("A project can have at most 80 tags.")
                project.tags = [*project.tags, tag]

    async def remove_tag(self, project_id: str, tag: str) -> None:
        async with self.state.write() as s:
            project = await self.get(s, project_id)
            if tag not in project.tags:
                raise faults.NotFound(f"Tag {tag} was not found on project {project_id}.")
            project.tags = [t for t in project.tags if t != tag]

    async def clear_tags(self, project_id: str) -> None:
        await self.set_tags(project_id, [])

    async def subtree(self, project_id: str) -> tuple[list[Project], list[Project]]:
        """(ancestors nearest first, descendants) of a project."""
        async with self.state.db.read() as s:
            everything = list(await s.scalars(select(Project)))
        by_id = {p.id: p for p in everything}
        if project_id not in by_id:
            raise faults.NotFound(f"Could not find project: {project_id}.")
        parents, p = [], by_id[project_id].parent_id
        while p and p in by_id:
            parents.append(by_id[p])
            p = by_id[p].parent_id
        children: list[Project] = []
        stack = [project_id]
        while stack:
            cur = stack.pop()
            for c in everything:
                if c.parent_id == cur:
                    children.append(c)
                    stack.append(c.id)
        return parents, children


def _check_tags(tags: list[str]) -> None:
    if len(tags) > 80:
        raise faults.BadRequest("A project can have at most 80 tags.")
    for t in tags:
        if not isinstance(t, str) or not t or len(t) > 255 or "/" in t or "," in t:
            raise faults.BadRequest(f"Invalid tag: {t!r}.")
