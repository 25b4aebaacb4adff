"""Roles and role implication (admin ⇒ manager ⇒ member ⇒ reader), and the role graph
effective-role checks read."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.models import Assignment, ImpliedRole, Membership, Role
from overcast.identity.state import IdentityState

__all__ = ["NULL_DOMAIN", "Roles", "close_over_implications", "domain_role_ids",
           "implication_map"]

#: Keystone stores "<<null>>" as the domain of a global role so its unique key works.
NULL_DOMAIN = "<<null>>"


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


def _target(r: Role) -> dict[str, Any]:
    return {"role": {"id": r.id, "name": r.name, "domain_id": r.domain_id},
            "domain_id": r.domain_id}


def _immutable(verb: str, role_id: str) -> str:
    """Keystone's ResourceUpdateForbidden / ResourceDeleteForbidden text, its stray backtick
    included (keystone/exception.py)."""
    return (f"Unable to {verb} immutable role resource: `{role_id}. Set resource option "
            '"immutable" to false first.')


def _unlocks(changes: dict[str, Any]) -> bool:
    """The one change an immutable role accepts: `options.immutable` set to false (or null)
    and nothing else (Keystone's check_immutable_update)."""
    options = changes.get("options") or {}
    return (list(changes) == ["options"] and "immutable" in options
            and options["immutable"] in (False, None))


class Roles:
    """Role CRUD and role implication."""

    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def get(s: AsyncSession, role_id: str) -> Role:
        role = await s.get(Role, role_id)
        if role is None:
            raise faults.NotFound(f"Could not find role: {role_id}.")
        return role

    async def list(self, ctx: RequestContext, *, name: str | None = None,
                   domain_id: str | None = None) -> builtins.list[Role]:
        ctx.enforce("identity:list_roles", {"domain_id": domain_id})
        q = select(Role).where(Role.domain_id == (domain_id or NULL_DOMAIN)) \
            .order_by(Role.name, Role.id)
        if name is not None:
            q = q.where(Role.name == name)
        async with self.state.db.read() as s:
            return list(await s.scalars(self.state.capped(q)))

    async def show(self, ctx: RequestContext, role_id: str) -> Role:
        async with self.state.db.read() as s:
            role = await self.get(s, role_id)
        ctx.enforce("identity:get_role", _target(role))
        return role

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> Role:
        ctx.enforce("identity:create_role", {"role": body, "domain_id": body.get("domain_id")})
        name, domain_id = body["name"], body.get("domain_id") or NULL_DOMAIN
        extra = {k: v for k, v in body.items()
                 if k not in ("name", "domain_id", "description", "options", "id", "links")}
        async with self.state.write() as s:
            if await s.scalar(select(Role.id).where(Role.name == name,
                                                    Role.domain_id == domain_id)):
                raise faults.Conflict(f"Conflict occurred attempting to store role - "
                                      f"Duplicate entry found with name {name}.")
            role = Role(name=name, domain_id=domain_id, description=body.get("description"),
                        options=body.get("options") or {}, extra=extra)
            s.add(role)
        return role

    async def update(self, ctx: RequestContext, role_id: str, changes: dict[str, Any]) -> Role:
        async with self.state.write() as s:
            role = await self.get(s, role_id)
            ctx.enforce("identity:update_role", _target(role))
            if role.options.get("immutable") and not _unlocks(changes):
                raise faults.Forbidden(_immutable("update", role_id))
            if "name" in changes and changes["name"] != role.name and await s.scalar(
                    select(Role.id).where(Role.name == changes["name"],
                                          Role.domain_id == role.domain_id)):
                raise faults.Conflict(f"Conflict occurred attempting to store role - "
                                      f"Duplicate entry found with name {changes['name']}.")
            for key, value in changes.items():
                if key in ("name", "description"):
                    setattr(role, key, value)
                elif key == "options":
                    role.options = value or {}
                elif key not in ("id", "links", "domain_id"):
                    role.extra = {**role.extra, key: value}
        return role

    async def delete(self, ctx: RequestContext, role_id: str) -> None:
        async with self.state.write() as s:
            role = await self.get(s, role_id)
            ctx.enforce("identity:delete_role", _target(role))
            if role.options.get("immutable"):
                raise faults.Forbidden(_immutable("delete", role_id))
            # Whoever held the role loses it now: revoke tokens of every affected actor.
            for a in list(await s.scalars(select(Assignment).where(Assignment.role_id == role_id))):
                await self._revoke_for(s, a)
            await s.execute(delete(Assignment).where(Assignment.role_id == role_id))
            await s.execute(delete(ImpliedRole).where(or_(
                ImpliedRole.prior_role_id == role_id, ImpliedRole.implied_role_id == role_id)))
            await s.delete(role)

    async def _revoke_for(self, s: AsyncSession, a: Assignment) -> None:
        if a.type.startswith("User"):
            await self.state.revoke(s, user_id=a.actor_id)
        else:
            for uid in await s.scalars(select(Membership.user_id).where(
                    Membership.group_id == a.actor_id)):
                await self.state.revoke(s, user_id=uid)

    # -- implied roles --
    async def imply(self, ctx: RequestContext, prior_id: str, implied_id: str) -> tuple[Role, Role]:
        async with self.state.write() as s:
            prior = await self.get(s, prior_id)
            implied = await self.get(s, implied_id)
            ctx.enforce("identity:create_implied_role", {"prior_role": _target(prior)["role"],
                                                         "implied_role": _target(implied)["role"]})
            if prior.domain_id == NULL_DOMAIN and implied.domain_id != NULL_DOMAIN:
                raise faults.Forbidden("A global role cannot imply a domain-specific role.")
            if prior_id in close_over_implications([implied_id], await implication_map(s)):
                raise faults.BadRequest("Creating that implied role would make a cycle.")
            if not await s.get(ImpliedRole, (prior_id, implied_id)):
                s.add(ImpliedRole(prior_role_id=prior_id, implied_role_id=implied_id))
        return prior, implied

    async def _implication(self, ctx: RequestContext, rule: str, prior_id: str,
                           implied_id: str) -> tuple[Role, Role]:
        async with self.state.db.read() as s:
            prior = await self.get(s, prior_id)
            implied = await self.get(s, implied_id)
            ctx.enforce(rule)
            if not await s.get(ImpliedRole, (prior_id, implied_id)):
                raise faults.NotFound(f"{prior_id} does not imply {implied_id}.")
        return prior, implied

    async def implication(self, ctx: RequestContext, prior_id: str,
                          implied_id: str) -> tuple[Role, Role]:
        return await self._implication(ctx, "identity:get_implied_role", prior_id, implied_id)

    async def check_implication(self, ctx: RequestContext, prior_id: str,
                                implied_id: str) -> None:
        await self._implication(ctx, "identity:check_implied_role", prior_id, implied_id)

    async def unimply(self, ctx: RequestContext, prior_id: str, implied_id: str) -> None:
        async with self.state.write() as s:
            await self.get(s, prior_id)
            await self.get(s, implied_id)
            ctx.enforce("identity:delete_implied_role")
            row = await s.get(ImpliedRole, (prior_id, implied_id))
            if row is None:
                raise faults.NotFound(f"{prior_id} does not imply {implied_id}.")
            await s.delete(row)

    async def implied_by(self, ctx: RequestContext, prior_id: str) -> tuple[Role, builtins.list[Role]]:
        """A role and the roles it directly implies."""
        async with self.state.db.read() as s:
            prior = await self.get(s, prior_id)
            ctx.enforce("identity:list_implied_roles")
            implied = list(await s.scalars(select(Role).where(Role.id.in_(
                select(ImpliedRole.implied_role_id).where(
                    ImpliedRole.prior_role_id == prior_id))).order_by(Role.name)))
        return prior, implied

    async def inferences(self, ctx: RequestContext) -> builtins.list[tuple[Role, builtins.list[Role]]]:
        """Every role that implies others, with the roles it directly implies."""
        ctx.enforce("identity:list_role_inference_rules")
        async with self.state.db.read() as s:
            rows = list(await s.scalars(select(ImpliedRole)))
            ids = {r.prior_role_id for r in rows} | {r.implied_role_id for r in rows}
            roles = {r.id: r for r in await s.scalars(select(Role).where(Role.id.in_(ids)))}
        out: dict[str, builtins.list[Role]] = {}
        for r in rows:
            out.setdefault(r.prior_role_id, []).append(roles[r.implied_role_id])
        return [(roles[p], implied) for p, implied in out.items()]
