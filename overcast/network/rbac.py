"""RBAC policies: share a network with one project or all (`access_as_shared`) or let them
use it as external (`access_as_external`), as Neutron does:

- a `*` access_as_shared policy is the network's `shared` flag: changing one changes the other;
- a network is `router:external` while any access_as_external policy exists (the first one makes
  it external, deleting the last one makes it internal again); only its targets (or everyone,
  for `*`) see it and may allocate floating IPs and set router gateways on it;
- a policy belongs to the project that made it: its target does not see it;
- only the network's owner or an administrator makes one (Neutron's policy callbacks answer 400
  InvalidInput otherwise); only an administrator targets `*` (policy, 403);
- revoking (deleting, or retargeting) a policy that something uses is 409 RbacPolicyInUse:
  another project's ports for access_as_shared, its routers' gateways for access_as_external,
  unless a `*` policy (or, when revoking `*`, the project's own policy) grants the same."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors
from overcast.network.models import Network, Port, RBACPolicy, Router
from overcast.network.networks import network_scope
from overcast.network.quotas import check_quota
from overcast.network.resources import Attrs, Collection, Kind, attribute_check, new_id

__all__ = ["RBAC", "RBACPolicies"]

ACTIONS = ("access_as_shared", "access_as_external")


def _view(r: RBACPolicy, extra: Attrs) -> Attrs:
    return {"id": r.id, "object_type": r.object_type, "object_id": r.object_id,
            "action": r.action, "target_tenant": r.target_tenant,
            "target_project": r.target_tenant}


def _scope(project_id: str | None) -> Any:
    """A policy is its creator's: the project it targets does not see it (Neutron)."""
    return RBACPolicy.project_id == (project_id or "")


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
            admin = ctx.can("context_is_admin")
            if net is None or (not admin and not (await s.execute(select(Network.id).where(
                    Network.id == net.id, network_scope(ctx.project_id)))).first()):
                # Neutron's BEFORE_CREATE callbacks fail, and the API answers InvalidInput
                raise errors.InvalidInput(f"Network {attrs.get('object_id')} could not be "
                                          "found.")
            if not admin and net.project_id != ctx.project_id:
                raise errors.InvalidInput("Only admins can manipulate policies on networks "
                                          "they do not own.")
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
            if attrs["action"] == "access_as_external":
                net.router_external = True
            elif target_tenant == "*":
                net.shared = True
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
                await self._in_use(s, row, attrs["target_tenant"])
                row.target_tenant = attrs["target_tenant"]
            if attrs.get("description") is not None:
                row.description = attrs["description"]
            await s.flush()
            view = await self.view_of(s, row)
        return self.shown(ctx, view)

    async def _in_use(self, s: Any, row: RBACPolicy, new_target: str | None = None) -> None:
        """Refuse to revoke `row` from projects that use it (Neutron's RbacPolicyInUse): their
        ports (access_as_shared) or their routers' gateways (access_as_external) on the
        network, unless another policy of the same action grants them the same access."""
        net = await s.get(Network, row.object_id)
        if net is None:
            return
        if row.action == "access_as_external" and row.target_tenant == "*" \
                and net.is_default:
            raise errors.fault(409, "RbacPolicyInUse",
                               f"RBAC policy on object {row.object_id} cannot be removed "
                               "because other objects depend on it. Details: Default "
                               "external networks must be shared to everyone.")
        others = select(RBACPolicy.target_tenant).where(
            RBACPolicy.object_id == net.id, RBACPolicy.action == row.action,
            RBACPolicy.id != row.id)
        if row.target_tenant != "*" and "*" in set((await s.execute(others)).scalars()):
            return
        if row.action == "access_as_shared":
            owner = Port.project_id
            q = select(func.count()).select_from(Port).where(Port.network_id == net.id)
        else:
            owner = Router.project_id
            q = select(func.count()).select_from(Router).where(Router.gw_network_id == net.id)
        q = q.where(owner != net.project_id, owner != "")
        if row.target_tenant != "*":
            q = q.where(owner == row.target_tenant)
        else:
            q = q.where(owner.not_in(others))
            if new_target:
                q = q.where(owner != new_target)
        if await s.scalar(q):
            users = "ports" if row.action == "access_as_shared" else "routers' gateways"
            raise errors.fault(409, "RbacPolicyInUse",
                               f"RBAC policy on object {row.object_id} cannot be removed "
                               f"because other objects depend on it. Details: {users} of "
                               "the projects it grants access to are on the network.")

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            row = await self.load(s, ctx, ident)
            ctx.enforce("delete_rbac_policy", self.target(await self.view_of(s, row)))
            await self._in_use(s, row)
            net = await s.get(Network, row.object_id)
            await self.delete_row(s, row)
            await s.flush()
            if net is None:
                return
            if row.action == "access_as_shared" and row.target_tenant == "*":
                net.shared = False
            elif row.action == "access_as_external":
                net.router_external = bool(await s.scalar(
                    select(func.count()).select_from(RBACPolicy).where(
                        RBACPolicy.object_id == net.id,
                        RBACPolicy.action == "access_as_external")))
