"""Roles, implied roles and role assignments (grants), and the effective roles of a caller.

A grant gives a role to a user or a group on a project, a domain or the system; `inherited`
grants on a domain or project apply to every project below it. Effective roles are the
direct, group and inherited grants, closed over role implication (admin ⇒ member ⇒ reader).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.identity.models import (
    Assignment,
    ImpliedRole,
    Membership,
    Project,
    Role,
)
from overcast.identity.state import IdentityState

__all__ = ["SYSTEM", "Assignments", "Grant", "Roles"]

SYSTEM = "system"
NULL_DOMAIN = "<<null>>"


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


def assignment_type(actor: str, target: str) -> str:
    return {("user", "project"): "UserProject", ("group", "project"): "GroupProject",
            ("user", "domain"): "UserDomain", ("group", "domain"): "GroupDomain",
            ("user", "system"): "UserSystem", ("group", "system"): "GroupSystem"}[(actor, target)]


async def implication_map(s: AsyncSession) -> dict[str, set[str]]:
    imp: dict[str, set[str]] = {}
    for row in await s.execute(select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)):
        imp.setdefault(row[0], set()).add(row[1])
    return imp


async def domain_role_ids(s: AsyncSession) -> set[str]:
    """Domain-specific roles: they imply others but are never effective themselves."""
    return set(await s.scalars(select(Role.id).where(Role.domain_id != NULL_DOMAIN)))


def close_over_implications(role_ids: Iterable[str], imp: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(role_ids)
    while stack:
        r = stack.pop()
        if r in seen:
            continue
        seen.add(r)
        stack.extend(imp.get(r, ()))
    return seen


class Roles:
    """Role CRUD and role implication."""

    def __init__(self, state: IdentityState):
        self.state = state

    async def get(self, s: AsyncSession, role_id: str) -> Role:
        role = await s.get(Role, role_id)
        if role is None:
            raise faults.NotFound(f"Could not find role: {role_id}.")
        return role

    async def list(self, name: str | None = None, domain_id: str | None = None) -> list[Role]:
        q = select(Role).where(Role.domain_id == (domain_id or NULL_DOMAIN)).order_by(Role.name)
        if name is not None:
            q = q.where(Role.name == name)
        async with self.state.db.read() as s:
            return list(await s.scalars(q))

    async def show(self, role_id: str) -> Role:
        async with self.state.db.read() as s:
            return await self.get(s, role_id)

    async def create(self, name: str, domain_id: str | None = None, description: str | None = None,
                     options: dict[str, object] | None = None, extra: dict[str, object] | None = None,
                     role_id: str | None = None) -> Role:
        try:
            async with self.state.write() as s:
                clash = await s.scalar(select(Role.id).where(
                    Role.name == name, Role.domain_id == (domain_id or NULL_DOMAIN)))
                if clash:
                    raise faults.Conflict(f"Conflict occurred attempting to store role - "
                                          f"Duplicate entry found with name {name}.")
                role = Role(name=name, domain_id=domain_id or NULL_DOMAIN, description=description,
                            options=options or {}, extra=extra or {})
                if role_id:
                    role.id = role_id
                s.add(role)
            return role
        except IntegrityError as e:
            raise faults.Conflict(f"Duplicate entry found with name {name}.") from e

    async def update(self, role_id: str, changes: dict[str, object]) -> Role:
        async with self.state.write() as s:
            role = await self.get(s, role_id)
            if "name" in changes and changes["name"] != role.name:
                clash = await s.scalar(select(Role.id).where(
                    Role.name == changes["name"], Role.domain_id == role.domain_id))
                if clash:
                    raise faults.Conflict(
                        f"Duplicate entry found with name {changes['name']}.")
            for key, value in changes.items():
                if key in ("name", "description", "options"):
                    setattr(role, key, value)
                else:
                    role.extra = {**role.extra, key: value}
        return role

    async def delete(self, role_id: str) -> None:
        async with self.state.write() as s:
            role = await self.get(s, role_id)
            if role.options.get("immutable"):
                raise faults.Forbidden(f"Role {role_id} is immutable.")
            # Whoever held the role loses it now: revoke tokens of every affected actor.
            rows = (await s.execute(select(Assignment).where(Assignment.role_id == role_id))).scalars()
            for a in rows:
                await self._revoke_for(s, a)
            await s.execute(delete(Assignment).where(Assignment.role_id == role_id))
            await s.execute(delete(ImpliedRole).where(or_(
                ImpliedRole.prior_role_id == role_id, ImpliedRole.implied_role_id == role_id)))
            await s.delete(role)

    async def _revoke_for(self, s: AsyncSession, a: Assignment) -> None:
        if a.type.startswith("User"):
            await self.state.revoke(s, user_id=a.actor_id)
        else:
            members = await s.scalars(select(Membership.user_id).where(
                Membership.group_id == a.actor_id))
            for uid in members:
                await self.state.revoke(s, user_id=uid)

    # -- implied roles --
    async def imply(self, prior_id: str, implied_id: str) -> tuple[Role, Role]:
        async with self.state.write() as s:
            prior = await self.get(s, prior_id)
            implied = await self.get(s, implied_id)
            if prior.domain_id == NULL_DOMAIN and implied.domain_id != NULL_DOMAIN:
                raise faults.Forbidden("A global role cannot imply a domain-specific role.")
            imp = await implication_map(s)
            if prior_id in close_over_implications([implied_id], imp):
                raise faults.BadRequest("Creating that implied role would make a cycle.")
            if not await s.get(ImpliedRole, (prior_id, implied_id)):
                s.add(ImpliedRole(prior_role_id=prior_id, implied_role_id=implied_id))
        return prior, implied

    async def get_implication(self, prior_id: str, implied_id: str) -> tuple[Role, Role]:
        async with self.state.db.read() as s:
            prior = await self.get(s, prior_id)
            implied = await self.get(s, implied_id)
            if not await s.get(ImpliedRole, (prior_id, implied_id)):
                raise faults.NotFound(
                    f"{prior_id} does not imply {implied_id}.")
        return prior, implied

    async def unimply(self, prior_id: str, implied_id: str) -> None:
        async with self.state.write() as s:
            await self.get(s, prior_id)
            await self.get(s, implied_id)
            row = await s.get(ImpliedRole, (prior_id, implied_id))
            if row is None:
                raise faults.NotFound(f"{prior_id} does not imply {implied_id}.")
            await s.delete(row)

    async def implications(self, prior_id: str | None = None) -> dict[Role, list[Role]]:
        """{prior role: [roles it directly implies]}, for one prior role or all."""
        async with self.state.db.read() as s:
            if prior_id is not None:
                await self.get(s, prior_id)
            q = select(ImpliedRole)
            if prior_id is not None:
                q = q.where(ImpliedRole.prior_role_id == prior_id)
            rows = list(await s.scalars(q))
            ids = {r.prior_role_id for r in rows} | {r.implied_role_id for r in rows}
            if prior_id:
                ids.add(prior_id)
            roles = {r.id: r for r in await s.scalars(select(Role).where(Role.id.in_(ids)))}
        out: dict[Role, list[Role]] = {}
        if prior_id is not None:
            out[roles[prior_id]] = []
        for r in rows:
            out.setdefault(roles[r.prior_role_id], []).append(roles[r.implied_role_id])
        return out


class Assignments:
    """Grants and the effective roles they give."""

    def __init__(self, state: IdentityState):
        self.state = state

    async def grant(self, actor: str, actor_id: str, target: str, target_id: str, role_id: str,
                    inherited: bool = False) -> None:
        async with self.state.write() as s:
            if await s.get(Role, role_id) is None:
                raise faults.NotFound(f"Could not find role: {role_id}.")
            key = (assignment_type(actor, target), actor_id, target_id, role_id, inherited)
            if await s.get(Assignment, key) is None:
                s.add(Assignment(type=key[0], actor_id=actor_id, target_id=target_id,
                                 role_id=role_id, inherited=inherited))

    async def check(self, actor: str, actor_id: str, target: str, target_id: str, role_id: str,
                    inherited: bool = False) -> None:
        async with self.state.db.read() as s:
            if await s.get(Role, role_id) is None:
                raise faults.NotFound(f"Could not find role: {role_id}.")
            key = (assignment_type(actor, target), actor_id, target_id, role_id, inherited)
            if await s.get(Assignment, key) is None:
                raise faults.NotFound(f"Could not find role assignment with role: {role_id}, "
                                      f"{actor}: {actor_id}, {target}: {target_id}.")

    async def revoke(self, actor: str, actor_id: str, target: str, target_id: str, role_id: str,
                     inherited: bool = False) -> None:
        async with self.state.write() as s:
            if await s.get(Role, role_id) is None:
                raise faults.NotFound(f"Could not find role: {role_id}.")
            key = (assignment_type(actor, target), actor_id, target_id, role_id, inherited)
            row = await s.get(Assignment, key)
            if row is None:
                raise faults.NotFound(f"Could not find role assignment with role: {role_id}, "
                                      f"{actor}: {actor_id}, {target}: {target_id}.")
            await s.delete(row)
            users = [actor_id] if actor == "user" else list(await s.scalars(
                select(Membership.user_id).where(Membership.group_id == actor_id)))
            for uid in users:
                if target == "project" and not inherited:
                    await self.state.revoke(s, user_id=uid, project_id=target_id)
                else:
                    await self.state.revoke(s, user_id=uid)

    async def list_roles(self, actor: str, actor_id: str, target: str, target_id: str,
                         inherited: bool = False) -> list[Role]:
        async with self.state.db.read() as s:
            ids = select(Assignment.role_id).where(
                Assignment.type == assignment_type(actor, target), Assignment.actor_id == actor_id,
                Assignment.target_id == target_id, Assignment.inherited == inherited)
            return list(await s.scalars(select(Role).where(Role.id.in_(ids)).order_by(Role.name)))

    # -- effective roles --
    async def effective_role_ids(self, s: AsyncSession, user_id: str, *, project_id: str | None = None,
                                 domain_id: str | None = None, system: bool = False) -> set[str]:
        """Role ids the user holds on one target, through groups, inheritance and implication."""
        group_ids = list(await s.scalars(select(Membership.group_id).where(
            Membership.user_id == user_id)))
        actors = [user_id, *group_ids]
        conds = []
        if project_id is not None:
            project = await s.get(Project, project_id)
            if project is None:
                return set()
            conds.append(and_(Assignment.type.in_(("UserProject", "GroupProject")),
                              Assignment.target_id == project_id, Assignment.inherited.is_(False)))
            ancestors = await self.ancestors(s, project)
            if ancestors:
                conds.append(and_(Assignment.type.in_(("UserProject", "GroupProject")),
                                  Assignment.target_id.in_(ancestors),
                                  Assignment.inherited.is_(True)))
            conds.append(and_(Assignment.type.in_(("UserDomain", "GroupDomain")),
                              Assignment.target_id == project.domain_id,
                              Assignment.inherited.is_(True)))
        elif domain_id is not None:
            conds.append(and_(Assignment.type.in_(("UserDomain", "GroupDomain")),
                              Assignment.target_id == domain_id, Assignment.inherited.is_(False)))
        elif system:
            conds.append(and_(Assignment.type.in_(("UserSystem", "GroupSystem")),
                              Assignment.target_id == SYSTEM))
        else:
            return set()
        direct = await s.scalars(select(Assignment.role_id).where(
            Assignment.actor_id.in_(actors), or_(*conds)))
        imp, domain_roles = await self.role_graph(s)
        return close_over_implications(set(direct), imp) - domain_roles

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

    # -- /v3/role_assignments --
    async def list_assignments(
        self, *, user_id: str | None = None, group_id: str | None = None,
        project_id: str | None = None, domain_id: str | None = None, system: bool = False,
        role_id: str | None = None, effective: bool = False, inherited: bool | None = None,
    ) -> list[Grant]:
        async with self.state.db.read() as s:
            rows = list(await s.scalars(select(Assignment)))
            grants = [self._grant(a) for a in rows]
            if inherited is not None:
                grants = [g for g in grants if g.inherited == inherited]
            if effective:
                grants = await self._effective(s, grants)
            if role_id is not None:
                grants = [g for g in grants if g.role_id == role_id]
            if user_id is not None:
                grants = [g for g in grants if g.user_id == user_id]
            if group_id is not None:
                grants = [g for g in grants if g.group_id == group_id]
            if project_id is not None:
                grants = [g for g in grants if g.project_id == project_id]
            if domain_id is not None:
                grants = [g for g in grants if g.domain_id == domain_id]
            if system:
                grants = [g for g in grants if g.system]
            return grants

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
                placed = [(t, None) for t in targets]
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
