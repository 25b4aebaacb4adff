"""OS-TRUST trusts: a trustor delegates some of its roles on a project to a trustee.

Created, listed, shown and deleted, with their roles. Authenticating with a trust
(trust-scoped tokens) is not supported yet: the token API answers 501 for that scope.

A token made from an application credential can do nothing with trusts, restricted or not
(Keystone's `_check_application_credential`): an application credential is a delegation to
one project, and trusts would let it widen that.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.identity.application_credentials import PAST_EXPIRY, parse_expiry
from overcast.identity.assignments import Assignments
from overcast.identity.models import Project, Role, Trust, User
from overcast.identity.policy import forbidden_action
from overcast.identity.roles import NULL_DOMAIN
from overcast.identity.state import IdentityState

__all__ = ["TrustWithRoles", "Trusts"]


@dataclass(frozen=True)
class TrustWithRoles:
    trust: Trust
    roles: list[Role]


def _refuse_application_credential(ctx: RequestContext) -> None:
    if ctx.creds.app_cred_id is not None:
        raise forbidden_action(
            "Using method 'application_credential' is not allowed for managing trusts.")


def _target(t: Trust) -> dict[str, Any]:
    return {"trust": {"id": t.id, "trustor_user_id": t.trustor_user_id,
                      "trustee_user_id": t.trustee_user_id, "project_id": t.project_id}}


class Trusts:
    def __init__(self, state: IdentityState, assignments: Assignments):
        self.state = state
        self.assignments = assignments

    @staticmethod
    async def _get(s: AsyncSession, trust_id: str) -> Trust:
        trust = await s.get(Trust, trust_id)
        if trust is None or trust.deleted_at is not None:
            raise faults.NotFound(f"Could not find trust: {trust_id}.")
        return trust

    @staticmethod
    async def _roles(s: AsyncSession, trust: Trust) -> list[Role]:
        return list(await s.scalars(select(Role).where(Role.id.in_(trust.roles))))

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> TrustWithRoles:
        ctx.enforce("identity:create_trust", {"trust": body})
        _refuse_application_credential(ctx)
        for key in ("trustor_user_id", "trustee_user_id"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise faults.BadRequest(f"Invalid input for field '{key}'.")
        if not isinstance(body.get("impersonation"), bool):
            raise faults.BadRequest("Invalid input for field 'impersonation': a boolean.")
        expires_at = parse_expiry(body.get("expires_at"))
        if expires_at is not None and expires_at < utcnow():
            raise faults.BadRequest(PAST_EXPIRY)
        uses = body.get("remaining_uses")
        if uses is not None and (not isinstance(uses, int) or uses <= 0):
            raise faults.BadRequest("remaining_uses must be a positive integer or null.")
        project_id = body.get("project_id")
        wanted = body.get("roles") or []
        if not isinstance(wanted, list) or not all(isinstance(r, dict) for r in wanted):
            raise faults.BadRequest("Invalid role reference.")
        if project_id and not wanted:
            # Keystone refuses to delegate nothing on a project (keystone/api/trusts.py post)
            raise forbidden_action("At least one role should be specified")
        async with self.state.write() as s:
            for key in ("trustor_user_id", "trustee_user_id"):
                if await s.get(User, body[key]) is None:
                    raise faults.NotFound(f"Could not find user: {body[key]}.")
            role_ids: list[str] = []
            for ref in wanted:
                if ref.get("id"):
                    role_ids.append(str(ref["id"]))
                    continue
                # by name: a global role (Keystone's get_unique_role_by_name)
                rid = await s.scalar(select(Role.id).where(Role.name == ref.get("name"),
                                                            Role.domain_id == NULL_DOMAIN))
                if rid is None:
                    raise faults.NotFound(f"Role {ref.get('name')} is not defined")
                role_ids.append(rid)
            # Each role must be one the trustor holds on the project; with no project there
            # is none to hold. Keystone answers a role that is not held as one not found
            # (_require_trustor_has_role_in_project), domain-specific roles counted.
            held: set[str] = set()
            if project_id:
                if await s.get(Project, project_id) is None:
                    raise faults.NotFound(f"Could not find project: {project_id}.")
                held = await self.assignments.effective_role_ids(
                    s, body["trustor_user_id"], project_id=project_id,
                    strip_domain_roles=False)
            for rid in role_ids:
                if rid not in held:
                    raise faults.NotFound(f"Could not find role: {rid}.")
            role_ids = list(dict.fromkeys(role_ids))
            extra = {k: v for k, v in body.items() if k not in (
                "trustor_user_id", "trustee_user_id", "project_id", "impersonation",
                "expires_at", "remaining_uses", "roles", "allow_redelegation",
                "redelegation_count", "id", "links")}
            trust = Trust(trustor_user_id=body["trustor_user_id"],
                          trustee_user_id=body["trustee_user_id"], project_id=project_id,
                          impersonation=body["impersonation"], expires_at=expires_at,
                          remaining_uses=uses,
                          allow_redelegation=bool(body.get("allow_redelegation", False)),
                          roles=role_ids, extra=extra)
            s.add(trust)
            await s.flush()
            roles = await self._roles(s, trust)
        return TrustWithRoles(trust, roles)

    async def show(self, ctx: RequestContext, trust_id: str) -> TrustWithRoles:
        async with self.state.db.read() as s:
            trust = await self._get(s, trust_id)
            ctx.enforce("identity:get_trust", _target(trust))
            _refuse_application_credential(ctx)
            return TrustWithRoles(trust, await self._roles(s, trust))

    async def list(self, ctx: RequestContext, trustor_user_id: str | None = None,
                   trustee_user_id: str | None = None) -> builtins.list[Trust]:
        """Every trust for whom list_trusts allows; a party's own trusts for whom the
        trustor (or trustee) rule allows, as Keystone decides by the filter given."""
        if trustor_user_id:
            ctx.enforce("identity:list_trusts_for_trustor",
                        {"trust": {"trustor_user_id": trustor_user_id}})
        elif trustee_user_id:
            ctx.enforce("identity:list_trusts_for_trustee",
                        {"trust": {"trustee_user_id": trustee_user_id}})
        else:
            ctx.enforce("identity:list_trusts")
        _refuse_application_credential(ctx)
        q = select(Trust).where(Trust.deleted_at.is_(None))
        if trustor_user_id:
            q = q.where(Trust.trustor_user_id == trustor_user_id)
        if trustee_user_id:
            q = q.where(Trust.trustee_user_id == trustee_user_id)
        async with self.state.db.read() as s:
            return list(await s.scalars(q))

    async def roles(self, ctx: RequestContext, trust_id: str) -> builtins.list[Role]:
        async with self.state.db.read() as s:
            trust = await self._get(s, trust_id)
            ctx.enforce("identity:list_roles_for_trust", _target(trust))
            _refuse_application_credential(ctx)
            return await self._roles(s, trust)

    async def role(self, ctx: RequestContext, trust_id: str, role_id: str) -> Role:
        async with self.state.db.read() as s:
            trust = await self._get(s, trust_id)
            ctx.enforce("identity:get_role_for_trust", _target(trust))
            _refuse_application_credential(ctx)
            role = await s.get(Role, role_id) if role_id in trust.roles else None
        if role is None:
            raise faults.NotFound(f"Could not find role: {role_id}.")
        return role

    async def delete(self, ctx: RequestContext, trust_id: str) -> None:
        async with self.state.write() as s:
            trust = await self._get(s, trust_id)
            ctx.enforce("identity:delete_trust", _target(trust))
            _refuse_application_credential(ctx)
            trust.deleted_at = utcnow()
