"""RBAC policies: share a network with one project or all (`access_as_shared`) or let them
use it as external (`access_as_external`). A `*` policy is the network's `shared` or
`router:external` flag: changing one changes the other."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors
from overcast.network.models import Network, Port, RBACPolicy
from overcast.network.quotas import check_quota
from overcast.network.resources import Attrs, Collection, Kind, attribute_check, new_id

__all__ = ["RBAC", "RBACPolicies"]

ACTIONS = ("access_as_shared", "access_as_external")


def _view(r: RBACPolicy, extra: Attrs) -> Attrs:
    return {"id": r.id, "object_type": r.object_type, "object_id": r.object_id,
            "action": r.action, "target_tenant": r.target_tenant,
            "target_project": r.target_tenant}


def _scope(project_id: str | None) -> Any:
    return or_(RBACPolicy.project_id == (project_id or ""),
               RBACPolicy.target_tenant == (project_id or ""))


RBAC = Kind(
    name="rbac_policy", collection="rbac_policies", label="RbacPolicy", model=RBACPolicy,
    columns={"id": RBACPolicy.id, "object_type": RBACPolicy.object_type,
             "object_id": RBACPolicy.object_id, "action": RBACPolicy.action,
             "target_tenant": RBACPolicy.target_tenant,
             "target_project": RBACPolicy.target_tenant,
             "project_id": RBACPolicy.project_id, "tenant_id": RBACPolicy.project_id,
             "description": RBACPolicy.description, "created_at": RBACPolicy.created_at,
             "updated_at": RBACPolicy.updated_at,
             "revision_number": RBACPolicy.revision_number},
    view=_view, scope=_scope)


class RBACPolicies(Collection):
    kind = RBAC

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)
        self.config = config

    async def create(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
        target_tenant = attrs.get("target_tenant") or attrs.get("target_project")
        attrs = {**attrs, "target_tenant": target_tenant}
        target = {**attrs, "project_id": project, "tenant_id": project}
        async with self.db.transaction() as s:
            ctx.enforce("create_rbac_policy", target)
            attribute_check(ctx, "create", "rbac_policy", attrs, target)
            if attrs.get("object_type") != "network":
                raise errors.InvalidInput(f"'{attrs.get('object_type')}' is not in "
                                          "['network']")
            if attrs.get("action") not in ACTIONS:
                raise errors.InvalidInput(f"'{attrs.get('action')}' is not in {list(ACTIONS)}")
            if not target_tenant:
                raise errors.BadRequest("Failed to parse request. Required attribute "
                                        "'target_tenant' not specified")
            net = await s.get(Network, str(attrs.get("object_id") or ""))
            if net is None or (net.project_id != ctx.project_id
                               and not ctx.can("context_is_admin")):
                raise errors.not_found("Network", str(attrs.get("object_id")))
            await check_quota(s, self.config, project, "rbac_policy")
            dup = (await s.execute(select(RBACPolicy.id).where(
                RBACPolicy.object_id == net.id, RBACPolicy.action == attrs["action"],
                RBACPolicy.target_tenant == target_tenant))).first()
            if dup is not None:
                raise errors.fault(409, "DuplicateRbacPolicy",
                                   "An RBAC policy already exists with those values.")
            now = utcnow()
            row = RBACPolicy(id=new_id(), project_id=project, object_type="network",
                             object_id=net.id, action=attrs["action"],
                             target_tenant=target_tenant, created_at=now, updated_at=now,
                             revision_number=0)
            s.add(row)
            if target_tenant == "*":
                if attrs["action"] == "access_as_shared":
                    net.shared = True
                else:
                    net.router_external = True
            await s.flush()
            view = await self.view_of(s, row)
        return self.shown(ctx, view)

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.transaction() as s:
            row = await self.load(s, ctx, ident)
            target = self.target(await self.view_of(s, row))
            ctx.enforce("update_rbac_policy", target)
            if "target_project" in attrs and "target_tenant" not in attrs:
                attrs = {**attrs, "target_tenant": attrs["target_project"]}
            attribute_check(ctx, "update", "rbac_policy", attrs, {**target, **attrs})
            await self.bump(row, if_match)
            if attrs.get("target_tenant") and attrs["target_tenant"] != row.target_tenant:
                await self._in_use(s, row)
                row.target_tenant = attrs["target_tenant"]
            if attrs.get("description") is not None:
                row.description = attrs["description"]
            await s.flush()
            view = await self.view_of(s, row)
        return self.shown(ctx, view)

    async def _in_use(self, s: Any, row: RBACPolicy) -> None:
        if row.action != "access_as_shared":
            return
        net = await s.get(Network, row.object_id)
        if net is None:
            return
        q = select(func.count()).select_from(Port).where(
            Port.network_id == net.id, Port.project_id != net.project_id, Port.project_id != "")
        if row.target_tenant != "*":
            q = q.where(Port.project_id == row.target_tenant)
        if await s.scalar(q):
            raise errors.fault(409, "RbacPolicyInUse",
                               f"RBAC policy on object {row.object_id} cannot be removed "
                               "because other objects depend on it.")

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            row = await self.load(s, ctx, ident)
            ctx.enforce("delete_rbac_policy", self.target(await self.view_of(s, row)))
            await self._in_use(s, row)
            if row.target_tenant == "*":
                net = await s.get(Network, row.object_id)
                if net is not None:
                    if row.action == "access_as_shared":
                        net.shared = False
                    else:
                        net.router_external = False
            await self.delete_row(s, row)
