"""Unified limits: registered limits (a service's default for a resource) and the limits of
projects and domains that override them, checked against the enforcement model
(`[unified_limit] enforcement_model`: `flat` or `strict_two_level`), as Keystone keeps them
for the other services' quota code (oslo.limit reads them over the API)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.models import Domain, Limit, Project, Region, RegisteredLimit, Service
from overcast.identity.state import IdentityState

__all__ = ["MODELS", "LimitFilter", "LimitView", "Limits"]

#: Keystone's enforcement models: name -> (description, deepest project under its domain).
MODELS: dict[str, tuple[str, int | None]] = {
    "flat": ("Limit enforcement and validation does not take project hierarchy into "
             "consideration.", None),
    "strict_two_level": ("This model requires project hierarchy never exceeds a depth of two",
                         2),
}


def _invalid(attribute: str, target: str) -> faults.BadRequest:
    """Keystone's ValidationError for a service, region, project or domain that is not there."""
    return faults.BadRequest(
        f"Expecting to find {attribute} in {target}. The server could not comply with the "
        "request since it is either malformed or otherwise incorrect. The client is assumed "
        "to be in error.")


def _duplicate(kind: str) -> faults.Conflict:
    return faults.Conflict(f"Conflict occurred attempting to store {kind} - Duplicate entry.")


def _in_use(registered_limit_id: str) -> faults.Forbidden:
    return faults.Forbidden(f"Unable to update or delete registered limit {registered_limit_id} "
                            "because there are project limits associated with it.")


NO_REFERENCE = "Unable to create a limit that has no corresponding registered limit."


@dataclass
class LimitView:
    """A limit with its registered limit's service, region and resource name, as shown."""

    limit: Limit
    registered: RegisteredLimit


@dataclass
class LimitFilter:
    """The query filters of GET /v3/limits (and of the registered limits, first three)."""

    service_id: str | None = None
    region_id: str | None = None
    resource_name: str | None = None
    project_id: str | None = None
    domain_id: str | None = None


class Limits:
    def __init__(self, state: IdentityState):
        self.state = state

    @property
    def model(self) -> str:
        return self.state.config.unified_limit.enforcement_model

    @property
    def list_limit(self) -> int:
        """Keystone's `[unified_limit] list_limit`, else the identity-wide one."""
        return self.state.config.unified_limit.list_limit or self.state.list_limit

    def _cap(self, rows: builtins.list[Any]) -> builtins.list[Any]:
        return rows[: self.list_limit + 1] if self.list_limit else rows

    def show_model(self, ctx: RequestContext) -> dict[str, str]:
        ctx.enforce("identity:get_limit_model")
        return {"name": self.model, "description": MODELS[self.model][0]}

    # -- what a limit refers to --
    @staticmethod
    async def _check_refs(s: AsyncSession, body: dict[str, Any], target: str) -> None:
        """The service, region, project and domain a (registered) limit names exist; a
        project acting as a domain is the domain (Keystone's _assert_resource_exist)."""
        if body.get("service_id") is not None and await s.get(Service, body["service_id"]) is None:
            raise _invalid("service_id", target)
        if body.get("region_id") is not None and await s.get(Region, body["region_id"]) is None:
            raise _invalid("region_id", target)
        if body.get("project_id") is not None:
            if await s.get(Project, body["project_id"]) is None:
                if await s.get(Domain, body["project_id"]) is None:
                    raise _invalid("project_id", target)
                body["domain_id"] = body.pop("project_id")
        if body.get("domain_id") is not None and await s.get(Domain, body["domain_id"]) is None:
            raise _invalid("domain_id", target)

    @staticmethod
    def _same_resource(service_id: str, region_id: str | None, resource_name: str) -> Any:
        where = [RegisteredLimit.service_id == service_id,
                 RegisteredLimit.resource_name == resource_name]
        where.append(RegisteredLimit.region_id.is_(None) if region_id is None
                     else RegisteredLimit.region_id == region_id)
        return where

    # -- registered limits --
    @staticmethod
    async def _registered(s: AsyncSession, registered_limit_id: str) -> RegisteredLimit:
        row = await s.get(RegisteredLimit, registered_limit_id)
        if row is None:
            raise faults.NotFound(f"Could not find registered limit for {registered_limit_id}.")
        return row

    async def list_registered(self, ctx: RequestContext,
                              f: LimitFilter) -> builtins.list[RegisteredLimit]:
        ctx.enforce("identity:list_registered_limits")
        q = select(RegisteredLimit).order_by(RegisteredLimit.id)
        if f.service_id is not None:
            q = q.where(RegisteredLimit.service_id == f.service_id)
        if f.region_id is not None:
            q = q.where(RegisteredLimit.region_id == f.region_id)
        if f.resource_name is not None:
            q = q.where(RegisteredLimit.resource_name == f.resource_name)
        async with self.state.db.read() as s:
            return self._cap(list(await s.scalars(q)))

    async def show_registered(self, ctx: RequestContext,
                              registered_limit_id: str) -> RegisteredLimit:
        ctx.enforce("identity:get_registered_limit")
        async with self.state.db.read() as s:
            return await self._registered(s, registered_limit_id)

    async def create_registered(self, ctx: RequestContext,
                                bodies: builtins.list[dict[str, Any]]) -> builtins.list[RegisteredLimit]:
        """All or none: one bad item refuses the whole request."""
        ctx.enforce("identity:create_registered_limits")
        made: builtins.list[RegisteredLimit] = []
        async with self.state.write() as s:
            for body in bodies:
                await self._check_refs(s, body, "registered_limit")
                region_id = body.get("region_id")
                if await s.scalar(select(RegisteredLimit.id).where(*self._same_resource(
                        body["service_id"], region_id, body["resource_name"]))):
                    raise _duplicate("registered_limit")
                row = RegisteredLimit(service_id=body["service_id"], region_id=region_id,
                                      resource_name=body["resource_name"],
                                      default_limit=body["default_limit"],
                                      description=body.get("description"))
                s.add(row)
                await s.flush()  # the next item of the same request sees this one
                made.append(row)
        return made

    async def update_registered(self, ctx: RequestContext, registered_limit_id: str,
                                body: dict[str, Any]) -> RegisteredLimit:
        ctx.enforce("identity:update_registered_limit")
        async with self.state.write() as s:
            await self._check_refs(s, body, "registered_limit")
            row = await self._registered(s, registered_limit_id)
            # Keystone refuses any change, a description's too, while limits use it.
            if await s.scalar(select(Limit.id).where(
                    Limit.registered_limit_id == registered_limit_id).limit(1)):
                raise _in_use(registered_limit_id)
            service_id = body.get("service_id") or row.service_id
            region_id = body["region_id"] if "region_id" in body else row.region_id
            resource_name = body.get("resource_name") or row.resource_name
            if body.get("service_id") or "region_id" in body or body.get("resource_name"):
                other = await s.scalar(select(RegisteredLimit.id).where(
                    *self._same_resource(service_id, region_id, resource_name)))
                if other is not None:
                    raise _duplicate("registered_limit")
            row.service_id, row.region_id, row.resource_name = service_id, region_id, resource_name
            if "default_limit" in body:
                row.default_limit = body["default_limit"]
            if "description" in body:
                row.description = body["description"]
        return row

    async def delete_registered(self, ctx: RequestContext, registered_limit_id: str) -> None:
        ctx.enforce("identity:delete_registered_limit")
        async with self.state.write() as s:
            row = await self._registered(s, registered_limit_id)
            if await s.scalar(select(Limit.id).where(
                    Limit.registered_limit_id == registered_limit_id).limit(1)):
                raise _in_use(registered_limit_id)
            await s.delete(row)

    # -- limits --
    @staticmethod
    async def _limit(s: AsyncSession, limit_id: str) -> LimitView:
        row = await s.get(Limit, limit_id)
        if row is None:
            raise faults.NotFound(f"Could not find limit for {limit_id}.")
        registered = await s.get(RegisteredLimit, row.registered_limit_id)
        assert registered is not None  # a foreign key holds it
        return LimitView(row, registered)

    async def list(self, ctx: RequestContext, f: LimitFilter) -> builtins.list[LimitView]:
        """Every limit for a cloud admin or a service; a domain-scoped caller sees its domain's
        and its projects', a project-scoped one its project's (Keystone's list_limits)."""
        ctx.enforce("identity:list_limits")
        creds = ctx.creds
        every = bool(creds.system_scope) or ctx.can("service_or_admin")
        q = (select(Limit, RegisteredLimit)
             .join(RegisteredLimit, RegisteredLimit.id == Limit.registered_limit_id)
             .order_by(Limit.id))
        if f.service_id is not None:
            q = q.where(RegisteredLimit.service_id == f.service_id)
        if f.region_id is not None:
            q = q.where(RegisteredLimit.region_id == f.region_id)
        if f.resource_name is not None:
            q = q.where(RegisteredLimit.resource_name == f.resource_name)
        if f.project_id is not None:
            q = q.where(Limit.project_id == f.project_id)
        if f.domain_id is not None:
            q = q.where(Limit.domain_id == f.domain_id)
        if not every:
            if creds.domain_id:
                in_domain = select(Project.id).where(Project.domain_id == creds.domain_id)
                q = q.where((Limit.domain_id == creds.domain_id)
                            | Limit.project_id.in_(in_domain))
            elif creds.project_id:
                q = q.where(Limit.project_id == creds.project_id)
            else:
                return []
        async with self.state.db.read() as s:
            rows = (await s.execute(q)).all()
        return self._cap([LimitView(limit, registered) for limit, registered in rows])

    async def show(self, ctx: RequestContext, limit_id: str) -> LimitView:
        async with self.state.db.read() as s:
            try:
                view = await self._limit(s, limit_id)
            except faults.NotFound:
                # Keystone checks policy before it knows the limit is missing.
                ctx.enforce("identity:get_limit", {"limit": {}})
                raise
            target: dict[str, Any] = {"id": view.limit.id, "project_id": view.limit.project_id,
                                      "domain_id": view.limit.domain_id}
            if view.limit.project_id:
                project = await s.get(Project, view.limit.project_id)
                if project is not None:
                    target["project"] = {"id": project.id, "domain_id": project.domain_id}
            elif view.limit.domain_id:
                target["domain"] = {"id": view.limit.domain_id}
        ctx.enforce("identity:get_limit", {"limit": target})
        return view

    async def create(self, ctx: RequestContext,
                     bodies: builtins.list[dict[str, Any]]) -> builtins.list[LimitView]:
        """All or none, each checked against its registered limit and the model."""
        ctx.enforce("identity:create_limits")
        made: builtins.list[LimitView] = []
        async with self.state.write() as s:
            for body in bodies:
                await self._check_refs(s, body, "limit")
            await self._check_model(s, bodies)
            for body in bodies:
                registered = await s.scalar(select(RegisteredLimit).where(*self._same_resource(
                    body["service_id"], body.get("region_id"), body["resource_name"])))
                if registered is None:
                    raise faults.Forbidden(NO_REFERENCE)
                owner = (Limit.project_id == body["project_id"] if body.get("project_id")
                         else Limit.domain_id == body["domain_id"])
                if await s.scalar(select(Limit.id).where(
                        Limit.registered_limit_id == registered.id, owner)):
                    raise _duplicate("limit")
                row = Limit(project_id=body.get("project_id"), domain_id=body.get("domain_id"),
                            registered_limit_id=registered.id,
                            resource_limit=body["resource_limit"],
                            description=body.get("description"))
                s.add(row)
                await s.flush()
                made.append(LimitView(row, registered))
        return made

    async def update(self, ctx: RequestContext, limit_id: str, body: dict[str, Any]) -> LimitView:
        ctx.enforce("identity:update_limit")
        async with self.state.write() as s:
            view = await self._limit(s, limit_id)
            if "resource_limit" in body:
                await self._check_model(s, [{
                    "project_id": view.limit.project_id, "domain_id": view.limit.domain_id,
                    "service_id": view.registered.service_id,
                    "region_id": view.registered.region_id,
                    "resource_name": view.registered.resource_name,
                    "resource_limit": body["resource_limit"]}])
                view.limit.resource_limit = body["resource_limit"]
            if "description" in body:
                view.limit.description = body["description"]
        return view

    async def delete(self, ctx: RequestContext, limit_id: str) -> None:
        ctx.enforce("identity:delete_limit")
        async with self.state.write() as s:
            view = await self._limit(s, limit_id)
            await s.delete(view.limit)

    @staticmethod
    async def forget(s: AsyncSession, *, project_id: str | None = None,
                     domain_id: str | None = None) -> None:
        """Drop the limits of a project or domain being deleted (inside its transaction)."""
        if project_id is not None:
            await s.execute(delete(Limit).where(Limit.project_id == project_id))
        if domain_id is not None:
            await s.execute(delete(Limit).where(Limit.domain_id == domain_id))

    # -- the enforcement model --
    def max_depth(self) -> int | None:
        """How many project levels the model allows under a domain (None: no bound)."""
        return MODELS[self.model][1]

    async def _check_model(self, s: AsyncSession, limits: builtins.list[dict[str, Any]]) -> None:
        """strict_two_level: a project's limit is not above its parent's (the domain's own
        limit, else the registered default), a domain's not below any of its projects'.
        As Keystone, a parent's limit in the same request counts first."""
        if self.model != "strict_two_level":
            return
        for limit in limits:
            project_id, domain_id = limit.get("project_id"), limit.get("domain_id")
            value = limit["resource_limit"]
            try:
                if project_id:
                    project = await s.get(Project, project_id)
                    assert project is not None  # checked by _check_refs
                    # Keystone's top-level projects have their domain as parent.
                    parent_id = project.parent_id or project.domain_id
                    same_request = [o for o in limits if o.get("domain_id") == parent_id
                                    and o["service_id"] == limit["service_id"]
                                    and o.get("region_id") == limit.get("region_id")
                                    and o["resource_name"] == limit["resource_name"]]
                    if same_request:
                        if value > same_request[0]["resource_limit"]:
                            raise _TreeBroken
                        continue
                    parent = await self._value(s, limit, domain_id=parent_id)
                    if parent and value > parent:
                        raise _TreeBroken
                else:
                    children = list(await s.scalars(select(Project.id).where(
                        Project.domain_id == domain_id)))
                    for child in children:
                        mine = await self._value(s, limit, project_id=child)
                        if mine and value < mine:
                            raise _TreeBroken
            except _TreeBroken:
                level = "project_id" if project_id else "domain_id"
                raise faults.Forbidden(
                    f"Invalid resource limit: The resource limit ({level}: "
                    f"{project_id or domain_id}, resource_name: {limit['resource_name']}, "
                    f"resource_limit: {value}, service_id: {limit['service_id']}, "
                    f"region_id: {limit.get('region_id')}) doesn't satisfy current hierarchy "
                    "model..") from None

    async def _value(self, s: AsyncSession, limit: dict[str, Any], *,
                     project_id: str | None = None, domain_id: str | None = None) -> int | None:
        """The limit a project or domain has on the resource; a domain without one has the
        registered default (Keystone's _get_specified_limit_value)."""
        registered = await s.scalar(select(RegisteredLimit).where(*self._same_resource(
            limit["service_id"], limit.get("region_id"), limit["resource_name"])))
        if registered is None:
            return None
        owner = Limit.project_id == project_id if project_id else Limit.domain_id == domain_id
        own = await s.scalar(select(Limit.resource_limit).where(
            Limit.registered_limit_id == registered.id, owner))
        if own is None and domain_id:
            return registered.default_limit
        return own


class _TreeBroken(Exception):
    """A limit that would break the strict_two_level tree."""
