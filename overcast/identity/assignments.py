"""Role assignments (grants) and the effective roles they give.

A grant gives a role to a user or a group on a project, a domain or the system; `inherited`
grants on a domain or project apply to every project below it. Effective roles are the
direct, group and inherited grants, closed over role implication (admin ⇒ member ⇒ reader).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.models import (
    Assignment,
    Domain,
    Group,
    Membership,
    Project,
    Role,
    User,
)
from overcast.identity.roles import close_over_implications, domain_role_ids, implication_map
from overcast.identity.state import IdentityState

__all__ = ["SYSTEM", "Actor", "AssignmentQuery", "Assignments", "Grant", "Listed", "Names",
           "Target"]

SYSTEM = "system"

# The queries of effective_role_ids, built once (a login runs one): made per call, building
# a statement and its cache key costs more CPU than the database takes to answer it.
_PROJECT_TYPES = ("UserProject", "GroupProject")
_DOMAIN_TYPES = ("UserDomain", "GroupDomain")


def _effective(*conds: ColumnElement[bool]) -> Select[str]:
    """Role ids granted to the user (`user_id`) or one of its groups under any of `conds`."""
    actors = or_(Assignment.actor_id == bindparam("user_id"), Assignment.actor_id.in_(
        select(Membership.group_id).where(Membership.user_id == bindparam("user_id"))))
    return select(Assignment.role_id).where(actors, or_(*conds))


_ON_THE_PROJECT = and_(Assignment.type.in_(_PROJECT_TYPES),
                       Assignment.target_id == bindparam("project_id"),
                       Assignment.inherited.is_(False))
_INHERITED_FROM_ANCESTORS = and_(Assignment.type.in_(_PROJECT_TYPES),
                                 Assignment.target_id.in_(bindparam("ancestors", expanding=True)),
                                 Assignment.inherited.is_(True))
_INHERITED_FROM_DOMAIN = and_(Assignment.type.in_(_DOMAIN_TYPES),
                              Assignment.target_id == bindparam("domain_id"),
                              Assignment.inherited.is_(True))
_ON_PROJECT = _effective(_ON_THE_PROJECT, _INHERITED_FROM_DOMAIN)
_ON_PROJECT_IN_TREE = _effective(_ON_THE_PROJECT, _INHERITED_FROM_ANCESTORS,
                                 _INHERITED_FROM_DOMAIN)
_ON_DOMAIN = _effective(and_(Assignment.type.in_(_DOMAIN_TYPES),
                             Assignment.target_id == bindparam("domain_id"),
                             Assignment.inherited.is_(False)))
_ON_SYSTEM = _effective(and_(Assignment.type.in_(("UserSystem", "GroupSystem")),
                             Assignment.target_id == SYSTEM))

Actor = Literal["user", "group"]
Target = Literal["project", "domain", "system"]


@dataclass(frozen=True)
class Grant:
    """One row of /v3/role_assignments, possibly derived (group expansion, inheritance)."""

    role_id: str
    user_id: str | None
    group_id: str | None
    project_id: str | None
    domain_id: str | None
    system: bool
    inherited: bool
    # For an effective row: the group or inherited grant it came from.
    via_group_id: str | None = None
    implied_from: str | None = None


@dataclass(frozen=True)
class AssignmentQuery:
    """GET /v3/role_assignments's filters."""

    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    role_id: str | None = None
    effective: bool = False
    include_subtree: bool = False
    inherited_to_projects: bool = False
    include_names: bool = False


@dataclass
class Names:
    """What ?include_names adds to role assignments, by id."""

    domains: dict[str, Domain] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)


@dataclass(frozen=True)
class Listed:
    grants: list[Grant]
    names: Names | None


def assignment_type(actor: str, target: str) -> str:
    return {("user", "project"): "UserProject", ("group", "project"): "GroupProject",
            ("user", "domain"): "UserDomain", ("group", "domain"): "GroupDomain",
            ("user", "system"): "UserSystem", ("group", "system"): "GroupSystem"}[(actor, target)]


def _no_assignment(role_id: str, actor_id: str, target_id: str) -> faults.NotFound:
    """Keystone's RoleAssignmentNotFound (the system's target id is "system" there too)."""
    return faults.NotFound(f"Could not find role assignment with role: {role_id}, user or "
                           f"group: {actor_id}, project, domain, or system: {target_id}.")


def _rule(op: str, actor: Actor, target: Target) -> str:
    """Keystone's rule for a grant operation: the system has its own, per actor kind."""
    if target == "system":
        return {"put": f"identity:create_system_grant_for_{actor}",
                "head": f"identity:check_system_grant_for_{actor}",
                "delete": f"identity:revoke_system_grant_for_{actor}",
                "list": f"identity:list_system_grants_for_{actor}"}[op]
    return {"put": "identity:create_grant", "head": "identity:check_grant",
            "delete": "identity:revoke_grant", "list": "identity:list_grants"}[op]


class Assignments:
    """Grants and the effective roles they give."""

    def __init__(self, state: IdentityState):
        self.state = state

    async def _parties(self, s: AsyncSession, actor: Actor, actor_id: str, target: Target,
                       target_id: str, role_id: str | None) -> dict[str, Any]:
        """404 for a missing target, actor or role, before any policy decision; the policy
        target describing them (Keystone's grant targets)."""
        out: dict[str, Any] = {"target_id": target_id, "role_id": role_id}
        if target == "project":
            project = await s.get(Project, target_id)
            if project is None:
                raise faults.NotFound(f"Could not find project: {target_id}.")
            out["project"] = {"id": project.id, "domain_id": project.domain_id}
        elif target == "domain":
            domain = await s.get(Domain, target_id)
            if domain is None:
                raise faults.NotFound(f"Could not find domain: {target_id}.")
            out["domain"] = {"id": domain.id}
        who: User | Group | None = (await s.get(User, actor_id) if actor == "user"
                                    else await s.get(Group, actor_id))
        if who is None:
            raise faults.NotFound(f"Could not find {actor}: {actor_id}.")
        out[actor] = {"id": who.id, "domain_id": who.domain_id}
        if role_id is not None:
            role = await s.get(Role, role_id)
            if role is None:
                raise faults.NotFound(f"Could not find role: {role_id}.")
            out["role"] = {"id": role.id, "name": role.name, "domain_id": role.domain_id}
        return out

    @staticmethod
    def _key(actor: Actor, actor_id: str, target: Target, target_id: str, role_id: str,
             inherited: bool) -> tuple[str, str, str, str, bool]:
        return (assignment_type(actor, target), actor_id,
                SYSTEM if target == "system" else target_id, role_id, inherited)

    async def grant(self, ctx: RequestContext, actor: Actor, actor_id: str, target: Target,
                    target_id: str, role_id: str, inherited: bool = False) -> None:
        async with self.state.write() as s:
            ctx.enforce(_rule("put", actor, target),
                        await self._parties(s, actor, actor_id, target, target_id, role_id))
            key = self._key(actor, actor_id, target, target_id, role_id, inherited)
            if await s.get(Assignment, key) is None:
                s.add(Assignment(type=key[0], actor_id=actor_id, target_id=key[2],
                                 role_id=role_id, inherited=inherited))

    async def check(self, ctx: RequestContext, actor: Actor, actor_id: str, target: Target,
                    target_id: str, role_id: str, inherited: bool = False) -> None:
        async with self.state.db.read() as s:
            ctx.enforce(_rule("head", actor, target),
                        await self._parties(s, actor, actor_id, target, target_id, role_id))
            key = self._key(actor, actor_id, target, target_id, role_id, inherited)
            if await s.get(Assignment, key) is None:
                raise _no_assignment(role_id, actor_id, key[2])

    async def revoke(self, ctx: RequestContext, actor: Actor, actor_id: str, target: Target,
                     target_id: str, role_id: str, inherited: bool = False) -> None:
        async with self.state.write() as s:
            ctx.enforce(_rule("delete", actor, target),
                        await self._parties(s, actor, actor_id, target, target_id, role_id))
            key = self._key(actor, actor_id, target, target_id, role_id, inherited)
            row = await s.get(Assignment, key)
            if row is None:
                raise _no_assignment(role_id, actor_id, key[2])
            await s.delete(row)
            users = [actor_id] if actor == "user" else list(await s.scalars(
                select(Membership.user_id).where(Membership.group_id == actor_id)))
            for uid in users:
                if target == "project" and not inherited:
                    await self.state.revoke(s, user_id=uid, project_id=target_id)
                else:
                    await self.state.revoke(s, user_id=uid)

    async def roles(self, ctx: RequestContext, actor: Actor, actor_id: str, target: Target,
                    target_id: str, inherited: bool = False) -> list[Role]:
        """The roles granted to an actor on a target (GET .../roles)."""
        async with self.state.db.read() as s:
            ctx.enforce(_rule("list", actor, target),
                        await self._parties(s, actor, actor_id, target, target_id, None))
            ids = select(Assignment.role_id).where(
                Assignment.type == assignment_type(actor, target), Assignment.actor_id == actor_id,
                Assignment.target_id == (SYSTEM if target == "system" else target_id),
                Assignment.inherited == inherited)
            return list(await s.scalars(self.state.capped(
                select(Role).where(Role.id.in_(ids)).order_by(Role.name, Role.id))))

    # -- effective roles --
    async def effective_role_ids(self, s: AsyncSession, user_id: str, *, project_id: str | None = None,
                                 domain_id: str | None = None, system: bool = False,
                                 strip_domain_roles: bool = True,
                                 project: Project | None = None) -> set[str]:
        """Role ids the user holds on one target, through groups, inheritance and implication;
        domain-specific roles (which only imply others) too unless `strip_domain_roles`.
        One query for the assignments (the user's groups are a subquery of it), plus one per
        ancestor of a project in a hierarchy; `project` saves loading a project already loaded."""
        params: dict[str, Any] = {"user_id": user_id}
        if project is not None or project_id is not None:
            if project is None:
                project = await s.get(Project, project_id)
                if project is None:
                    return set()
            params.update(project_id=project.id, domain_id=project.domain_id)
            ancestors = await self.ancestors(s, project)
            q = _ON_PROJECT
            if ancestors:
                q, params["ancestors"] = _ON_PROJECT_IN_TREE, ancestors
        elif domain_id is not None:
            q, params["domain_id"] = _ON_DOMAIN, domain_id
        elif system:
            q = _ON_SYSTEM
        else:
            return set()
        direct = await s.scalars(q, params)
        imp, domain_roles = await self.role_graph(s)
        held = close_over_implications(set(direct), imp)
        return held - domain_roles if strip_domain_roles else held

    async def role_refs(self, s: AsyncSession, role_ids: set[str]) -> list[dict[str, str]]:
        """`{"id", "name"}` of each role, by name, from a cache any identity write drops."""
        names = self.state.role_names
        if names is None or not role_ids <= names.keys():
            generation = self.state.generation
            names = {rid: name for rid, name in await s.execute(select(Role.id, Role.name))}
            if generation == self.state.generation:
                self.state.role_names = names
        refs = [{"id": rid, "name": names[rid]} for rid in role_ids if rid in names]
        return sorted(refs, key=lambda r: r["name"])

    async def role_graph(self, s: AsyncSession) -> tuple[dict[str, set[str]], set[str]]:
        """Role implications and domain-specific roles, cached until the next identity write."""
        graph = self.state.role_graph
        if graph is None:
            generation = self.state.generation
            graph = (await implication_map(s), await domain_role_ids(s))
            # Not cached if a write landed while we read: it may have changed the graph.
            if generation == self.state.generation:
                self.state.role_graph = graph
        return graph

    @staticmethod
    async def ancestors(s: AsyncSession, project: Project) -> list[str]:
        out: list[str] = []
        parent = project.parent_id
        while parent and parent not in out:
            out.append(parent)
            parent = await s.scalar(select(Project.parent_id).where(Project.id == parent))
        return out

    async def projects_of_user(self, s: AsyncSession, user_id: str) -> list[Project]:
        """Projects on which the user has at least one effective role."""
        group_ids = list(await s.scalars(select(Membership.group_id).where(
            Membership.user_id == user_id)))
        actors = [user_id, *group_ids]
        rows = list(await s.execute(select(Assignment.type, Assignment.target_id,
                                           Assignment.inherited).where(
            Assignment.actor_id.in_(actors),
            Assignment.type.in_(("UserProject", "GroupProject", "UserDomain", "GroupDomain")))))
        direct = {t for (ty, t, inh) in rows if ty.endswith("Project") and not inh}
        inherit_projects = {t for (ty, t, inh) in rows if ty.endswith("Project") and inh}
        inherit_domains = {t for (ty, t, inh) in rows if ty.endswith("Domain") and inh}
        ids = set(direct)
        if inherit_projects or inherit_domains:
            everything = list(await s.scalars(select(Project)))
            by_id = {p.id: p for p in everything}
            for p in everything:
                if p.domain_id in inherit_domains:
                    ids.add(p.id)
                    continue
                parent = p.parent_id
                while parent:
                    if parent in inherit_projects:
                        ids.add(p.id)
                        break
                    parent = by_id[parent].parent_id if parent in by_id else None
        if not ids:
            return []
        return list(await s.scalars(select(Project).where(Project.id.in_(ids)).order_by(Project.name)))

    async def domains_of_user(self, s: AsyncSession, user_id: str) -> list[str]:
        group_ids = list(await s.scalars(select(Membership.group_id).where(
            Membership.user_id == user_id)))
        return sorted(set(await s.scalars(select(Assignment.target_id).where(
            Assignment.actor_id.in_([user_id, *group_ids]),
            Assignment.type.in_(("UserDomain", "GroupDomain")),
            Assignment.inherited.is_(False)))))

    async def has_system_roles(self, s: AsyncSession, user_id: str) -> bool:
        return bool(await self.effective_role_ids(s, user_id, system=True))

    # -- /v3/auth/{projects,domains,system}: where the caller may scope a token --
    async def auth_projects(self, ctx: RequestContext) -> list[Project]:
        ctx.enforce("identity:get_auth_projects")
        async with self.state.db.read() as s:
            return self.state.cap([p for p in await self.projects_of_user(s, ctx.user_id)
                                   if p.enabled])

    async def auth_domains(self, ctx: RequestContext) -> list[Domain]:
        ctx.enforce("identity:get_auth_domains")
        async with self.state.db.read() as s:
            ids = await self.domains_of_user(s, ctx.user_id)
            return list(await s.scalars(self.state.capped(select(Domain).where(
                Domain.id.in_(ids), Domain.enabled.is_(True)).order_by(Domain.name, Domain.id))))

    async def auth_system(self, ctx: RequestContext) -> bool:
        ctx.enforce("identity:get_auth_system")
        async with self.state.db.read() as s:
            return await self.has_system_roles(s, ctx.user_id)

    # -- /v3/role_assignments --
    async def search(self, ctx: RequestContext, q: AssignmentQuery) -> Listed:
        if q.effective and q.group_id:
            raise faults.BadRequest("effective and group.id cannot be combined.")
        if q.include_subtree and not q.project_id:
            raise faults.BadRequest("include_subtree needs scope.project.id.")
        async with self.state.db.read() as s:
            project_ids: list[str | None] = [q.project_id]
            if q.include_subtree and q.project_id:
                project = await s.get(Project, q.project_id)
                if project is None:
                    raise faults.NotFound(f"Could not find project: {q.project_id}.")
                ctx.enforce("identity:list_role_assignments_for_tree", {"project": {
                    "id": project.id, "domain_id": project.domain_id}})
                project_ids += await self._descendants(s, q.project_id)
            else:
                ctx.enforce("identity:list_role_assignments", {"domain_id": q.domain_id})
            rows = list(await s.scalars(select(Assignment)))
            every = [self._grant(a) for a in rows]
            if q.inherited_to_projects:
                every = [g for g in every if g.inherited]
            if q.effective:
                every = await self._effective(s, every)
            grants = [g for g in every
                      if (q.role_id is None or g.role_id == q.role_id)
                      and (q.user_id is None or g.user_id == q.user_id)
                      and (q.group_id is None or g.group_id == q.group_id)
                      and (q.project_id is None or g.project_id in project_ids)
                      and (q.domain_id is None or g.domain_id == q.domain_id)
                      and (not q.system or g.system)]
            grants = self.state.cap(grants)
            names = await self._names(s, grants) if q.include_names else None
        return Listed(grants, names)

    @staticmethod
    async def _descendants(s: AsyncSession, project_id: str) -> list[str]:
        children: dict[str, list[str]] = {}
        for pid, parent in await s.execute(select(Project.id, Project.parent_id)):
            if parent:
                children.setdefault(parent, []).append(pid)
        out, stack = [], list(children.get(project_id, []))
        while stack:
            p = stack.pop()
            if p not in out:
                out.append(p)
                stack.extend(children.get(p, []))
        return out

    @staticmethod
    async def _names(s: AsyncSession, grants: list[Grant]) -> Names:
        def ids(attr: str) -> set[str]:
            return {v for g in grants if (v := getattr(g, attr))}

        return Names(
            domains={d.id: d for d in await s.scalars(select(Domain))},
            roles={r.id: r for r in await s.scalars(select(Role).where(
                Role.id.in_(ids("role_id"))))},
            users={u.id: u for u in await s.scalars(select(User).where(
                User.id.in_(ids("user_id"))))},
            groups={x.id: x for x in await s.scalars(select(Group).where(
                Group.id.in_(ids("group_id"))))},
            projects={p.id: p for p in await s.scalars(select(Project).where(
                Project.id.in_(ids("project_id"))))})

    @staticmethod
    def _grant(a: Assignment) -> Grant:
        user = a.actor_id if a.type.startswith("User") else None
        group = a.actor_id if a.type.startswith("Group") else None
        return Grant(role_id=a.role_id, user_id=user, group_id=group,
                     project_id=a.target_id if a.type.endswith("Project") else None,
                     domain_id=a.target_id if a.type.endswith("Domain") else None,
                     system=a.type.endswith("System"), inherited=a.inherited)

    async def _effective(self, s: AsyncSession, grants: list[Grant]) -> list[Grant]:
        """Expand groups to their members, inherited grants to the projects below, and roles
        to what they imply, as Keystone's ?effective does."""
        members: dict[str, list[str]] = {}
        for uid, gid in await s.execute(select(Membership.user_id, Membership.group_id)):
            members.setdefault(gid, []).append(uid)
        projects = list(await s.scalars(select(Project)))
        children: dict[str, list[Project]] = {}
        for p in projects:
            if p.parent_id:
                children.setdefault(p.parent_id, []).append(p)
        imp = await implication_map(s)
        domain_roles = await domain_role_ids(s)
        out: list[Grant] = []
        for g in grants:
            users = [(g.user_id, None)] if g.user_id else [
                (u, g.group_id) for u in members.get(g.group_id or "", [])]
            if g.inherited:
                if g.domain_id:
                    targets = [p.id for p in projects if p.domain_id == g.domain_id]
                else:
                    targets, stack = [], list(children.get(g.project_id or "", []))
                    while stack:
                        p = stack.pop()
                        targets.append(p.id)
                        stack.extend(children.get(p.id, []))
                placed: list[tuple[str | None, str | None]] = [(t, None) for t in targets]
            else:
                placed = [(g.project_id, g.domain_id)]
            for uid, via in users:
                for proj, dom in placed:
                    for rid in close_over_implications([g.role_id], imp) - domain_roles:
                        out.append(Grant(
                            role_id=rid, user_id=uid, group_id=None, project_id=proj,
                            domain_id=dom, system=g.system, inherited=False, via_group_id=via,
                            implied_from=g.role_id if rid != g.role_id else None))
        # Same (user, target, role) reached twice is one effective assignment.
        seen: set[tuple[object, ...]] = set()
        unique = []
        for g in out:
            k = (g.user_id, g.project_id, g.domain_id, g.system, g.role_id)
            if k not in seen:
                seen.add(k)
                unique.append(g)
        return unique
