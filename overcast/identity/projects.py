"""Projects: hierarchy, tags, enablement; and projects acting as domains (`is_domain`).

A project acting as a domain is a domain row shown as a project; the project API's rules
(identity:*_project) guard it whichever row it is.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.assignments import Assignments
from overcast.identity.domains import Domains, split_extra
from overcast.identity.models import (
    Assignment,
    Domain,
    Limit,
    Project,
    ProjectEndpoint,
    ProjectEndpointGroup,
    User,
    new_id,
)
from overcast.identity.state import IdentityState

__all__ = ["Hierarchy", "ProjectFilter", "Projects"]

_OWN = ("name", "description", "enabled", "tags", "parent_id", "domain_id")
MAX_TAGS = 80


@dataclass(frozen=True)
class ProjectFilter:
    """GET /v3/projects's filters."""

    name: str | None = None
    domain_id: str | None = None
    parent_id: str | None = None
    enabled: bool | None = None
    is_domain: bool | None = None
    tags: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()
    not_tags_any: tuple[str, ...] = ()

    def keeps(self, p: Project) -> bool:
        t = set(p.tags)
        return ((not self.tags or set(self.tags) <= t)
                and (not self.tags_any or bool(set(self.tags_any) & t))
                and (not self.not_tags or not set(self.not_tags) <= t)
                and (not self.not_tags_any or not set(self.not_tags_any) & t))


@dataclass(frozen=True)
class Hierarchy:
    """A project with its ancestors (nearest first) and descendants."""

    project: Project | Domain
    parents: list[Project]
    subtree: list[Project]


def domain_of(p: Project | Domain) -> str:
    return p.id if isinstance(p, Domain) else p.domain_id


def _target(p: Project | Domain) -> dict[str, Any]:
    return {"project": {"id": p.id, "domain_id": domain_of(p),
                        "parent_id": None if isinstance(p, Domain) else p.parent_id}}


def _duplicate(name: str, project_id: str) -> faults.Conflict:
    """Keystone's conflict for a project name taken in its domain
    (keystone/resource/core.py _generate_project_name_conflict_msg)."""
    return faults.Conflict(
        "Conflict occurred attempting to store project - it is not permitted to have two "
        "projects with either the same name or same id in the same domain: name is "
        f"{name}, project id {project_id}.")


def _check_tags(tags: list[Any]) -> None:
    if len(tags) > MAX_TAGS:
        raise faults.BadRequest(f"A project can have at most {MAX_TAGS} tags.")
    for t in tags:
        if not isinstance(t, str) or not t or len(t) > 255 or "/" in t or "," in t:
            raise faults.BadRequest(f"Invalid tag: {t!r}.")


class Projects:
    def __init__(self, state: IdentityState, domains: Domains, assignments: Assignments):
        self.state = state
        self.domains = domains
        self.assignments = assignments

    @staticmethod
    async def get(s: AsyncSession, project_id: str) -> Project:
        project = await s.get(Project, project_id)
        if project is None:
            raise faults.NotFound(f"Could not find project: {project_id}.")
        return project

    @staticmethod
    async def _any(s: AsyncSession, project_id: str) -> Project | Domain:
        """A project, or a domain seen as a project acting as a domain."""
        project = await s.get(Project, project_id)
        if project is not None:
            return project
        domain = await s.get(Domain, project_id)
        if domain is None:
            raise faults.NotFound(f"Could not find project: {project_id}.")
        return domain

    # -- the project API --
    async def list(self, ctx: RequestContext,
                   f: ProjectFilter) -> builtins.list[Project | Domain]:
        ctx.enforce("identity:list_projects", {"domain_id": f.domain_id})
        if f.is_domain:
            return [*await self.domains.rows(name=f.name, enabled=f.enabled)]
        q = select(Project).order_by(Project.name, Project.id)
        if f.name is not None:
            q = q.where(Project.name == f.name)
        if f.domain_id is not None:
            q = q.where(Project.domain_id == f.domain_id)
        if f.parent_id is not None:
            q = q.where(Project.parent_id == f.parent_id)
        if f.enabled is not None:
            q = q.where(Project.enabled.is_(f.enabled))
        async with self.state.db.read() as s:
            if not (f.tags or f.tags_any or f.not_tags or f.not_tags_any):
                return [*await s.scalars(self.state.capped(q))]
            rows = list(await s.scalars(q))
        return [*self.state.cap([p for p in rows if f.keeps(p)])]

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> Project | Domain:
        body = dict(body)
        if body.get("domain_id") is None:
            body.pop("domain_id", None)
            # Keystone puts a project in the caller's domain when none is named.
            if not body.get("parent_id") and not body.get("is_domain"):
                body["domain_id"] = ctx.creds.domain_id or ctx.creds.project_domain_id \
                    or "default"
        ctx.enforce("identity:create_project", {"project": body})
        async with self.state.write() as s:
            if body.get("is_domain"):
                if body.get("parent_id") or body.get("domain_id"):
                    raise faults.BadRequest(
                        "A project acting as a domain has no parent or domain.")
                return await self.domains.insert(s, {
                    k: v for k, v in body.items() if k not in ("is_domain", "domain_id",
                                                              "parent_id")})
            own, extra = split_extra(body, _OWN)
            extra.pop("is_domain", None)
            extra.pop("options", None)
            _check_tags(own.get("tags") or [])
            own["tags"] = list(dict.fromkeys(own.get("tags") or []))
            parent = await self.get(s, own["parent_id"]) if own.get("parent_id") else None
            domain_id = own.get("domain_id") or (parent.domain_id if parent else "default")
            await Domains.get(s, domain_id)
            if parent is not None and parent.domain_id != domain_id:
                raise faults.BadRequest("The parent project must be in the same domain.")
            if parent is not None and parent.parent_id is not None and \
                    self.state.config.unified_limit.enforcement_model == "strict_two_level":
                # The limits of strict_two_level cover two project levels under a domain.
                raise faults.Forbidden(f"Max hierarchy depth reached for {parent.id} branch.")
            # The id is drawn first: Keystone's conflict names the project that was refused.
            project_id = new_id()
            if await s.scalar(select(Project.id).where(Project.name == own["name"],
                                                       Project.domain_id == domain_id)):
                raise _duplicate(own["name"], project_id)
            own["domain_id"] = domain_id
            project = Project(id=project_id, **own, extra=extra)
            s.add(project)
        return project

    async def show(self, ctx: RequestContext, project_id: str) -> Project | Domain:
        async with self.state.db.read() as s:
            project = await self._any(s, project_id)
        ctx.enforce("identity:get_project", _target(project))
        return project

    async def hierarchy(self, ctx: RequestContext, project_id: str) -> Hierarchy:
        """The project with its ancestors and descendants (?parents_as_*, ?subtree_as_*)."""
        async with self.state.db.read() as s:
            project = await self._any(s, project_id)
            ctx.enforce("identity:get_project", _target(project))
            everything = list(await s.scalars(select(Project)))
        by_id = {p.id: p for p in everything}
        parents: builtins.list[Project] = []
        p = by_id[project_id].parent_id if project_id in by_id else None
        while p and p in by_id and by_id[p] not in parents:
            parents.append(by_id[p])
            p = by_id[p].parent_id
        subtree: builtins.list[Project] = []
        stack = [project_id]
        while stack:
            cur = stack.pop()
            for c in everything:
                if c.parent_id == cur and c not in subtree:
                    subtree.append(c)
                    stack.append(c.id)
        return Hierarchy(project, parents, subtree)

    async def update(self, ctx: RequestContext, project_id: str,
                     body: dict[str, Any]) -> Project | Domain:
        async with self.state.write() as s:
            project = await self._any(s, project_id)
            ctx.enforce("identity:update_project", _target(project))
            if body.get("is_domain"):
                raise faults.BadRequest("is_domain cannot be changed.")
            if isinstance(project, Domain):
                await self.domains.change(s, project, {
                    k: v for k, v in body.items() if k not in ("is_domain", "domain_id",
                                                              "parent_id")})
                return project
            own, extra = split_extra(body, _OWN)
            extra.pop("is_domain", None)
            extra.pop("options", None)
            if "tags" in own:
                _check_tags(own["tags"] or [])
                own["tags"] = list(dict.fromkeys(own["tags"] or []))
            if "domain_id" in own and own["domain_id"] != project.domain_id:
                raise faults.BadRequest("Cannot change the domain of a project.")
            if "parent_id" in own and own["parent_id"] != project.parent_id:
                raise faults.Forbidden("Cannot change the parent of a project.")
            if "name" in own and own["name"] != project.name and await s.scalar(
                    select(Project.id).where(Project.name == own["name"],
                                             Project.domain_id == project.domain_id)):
                raise _duplicate(own["name"], project.id)
            for k, v in own.items():
                if k not in ("domain_id", "parent_id"):
                    setattr(project, k, v)
            if extra:
                project.extra = {**project.extra, **extra}
            if own.get("enabled") is False:
                await self.state.revoke(s, project_id=project_id)
        return project

    async def delete(self, ctx: RequestContext, project_id: str) -> None:
        async with self.state.write() as s:
            project = await self._any(s, project_id)
            ctx.enforce("identity:delete_project", _target(project))
            if isinstance(project, Domain):
                await self.domains.remove(s, project)
                return
            if await s.scalar(select(func.count()).select_from(Project).where(
                    Project.parent_id == project_id)):
                raise faults.Forbidden("Cannot delete a project that has children.")
            await s.execute(delete(Assignment).where(Assignment.target_id == project_id))
            await s.execute(delete(Limit).where(Limit.project_id == project_id))
            await s.execute(delete(ProjectEndpoint).where(ProjectEndpoint.project_id == project_id))
            await s.execute(delete(ProjectEndpointGroup).where(
                ProjectEndpointGroup.project_id == project_id))
            await self.state.revoke(s, project_id=project_id)
            await s.delete(project)

    # -- tags --
    async def _tagged(self, ctx: RequestContext, s: AsyncSession, project_id: str,
                      rule: str) -> Project:
        project = await self.get(s, project_id)
        ctx.enforce(rule, _target(project))
        return project

    async def tags(self, ctx: RequestContext, project_id: str) -> builtins.list[str]:
        async with self.state.db.read() as s:
            return list((await self._tagged(ctx, s, project_id,
                                            "identity:list_project_tags")).tags)

    async def check_tag(self, ctx: RequestContext, project_id: str, tag: str) -> None:
        async with self.state.db.read() as s:
            project = await self._tagged(ctx, s, project_id, "identity:get_project_tag")
        if tag not in project.tags:
            raise faults.NotFound(f"Tag {tag} was not found on project {project_id}.")

    async def set_tags(self, ctx: RequestContext, project_id: str,
                       tags: builtins.list[str]) -> builtins.list[str]:
        _check_tags(tags)
        async with self.state.write() as s:
            project = await self._tagged(ctx, s, project_id, "identity:update_project_tags")
            project.tags = list(dict.fromkeys(tags))
            return list(project.tags)

    async def clear_tags(self, ctx: RequestContext, project_id: str) -> None:
        async with self.state.write() as s:
            project = await self._tagged(ctx, s, project_id, "identity:delete_project_tags")
            project.tags = []

    async def add_tag(self, ctx: RequestContext, project_id: str, tag: str) -> None:
        _check_tags([tag])
        async with self.state.write() as s:
            project = await self._tagged(ctx, s, project_id, "identity:create_project_tag")
            if tag not in project.tags:
                if len(project.tags) >= MAX_TAGS:
                    raise faults.BadRequest(f"A project can have at most {MAX_TAGS} tags.")
                project.tags = [*project.tags, tag]

    async def remove_tag(self, ctx: RequestContext, project_id: str, tag: str) -> None:
        async with self.state.write() as s:
            project = await self._tagged(ctx, s, project_id, "identity:delete_project_tag")
            if tag not in project.tags:
                raise faults.NotFound(f"Tag {tag} was not found on project {project_id}.")
            project.tags = [t for t in project.tags if t != tag]

    # -- a user's projects (/v3/users/{user_id}/projects) --
    async def of_user(self, ctx: RequestContext, user_id: str, *, enabled: bool | None = None,
                      name: str | None = None) -> builtins.list[Project]:
        async with self.state.db.read() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
            ctx.enforce("identity:list_user_projects", {
                "user_id": user.id, "user": {"id": user.id, "domain_id": user.domain_id}})
            projects = await self.assignments.projects_of_user(s, user_id)
        return self.state.cap([p for p in projects if (enabled is None or p.enabled == enabled)
                               and (name is None or p.name == name)])
