"""OS-TRUST trusts: a trustor delegates some of its roles on a project to a trustee.

Created, listed, shown and deleted, with their roles. Authenticating with a trust
(trust-scoped tokens) is not supported yet: the token API answers 501 for that scope.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.identity.app_creds import _parse_time
from overcast.identity.assignments import Assignments
from overcast.identity.models import Project, Role, Trust, User
from overcast.identity.state import IdentityState

__all__ = ["Trusts"]


class Trusts:
    def __init__(self, state: IdentityState, assignments: Assignments):
        self.state = state
        self.assignments = assignments

    async def create(self, body: dict[str, Any]) -> Trust:
        for key in ("trustor_user_id", "trustee_user_id"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise faults.BadRequest(f"Invalid input for field '{key}'.")
        if not isinstance(body.get("impersonation"), bool):
            raise faults.BadRequest("Invalid input for field 'impersonation': a boolean.")
        expires_at = _parse_time(body.get("expires_at"))
        if expires_at is not None and expires_at < utcnow():
            raise faults.BadRequest("The trust's expiration time is in the past.")
        uses = body.get("remaining_uses")
        if uses is not None and (not isinstance(uses, int) or uses <= 0):
            raise faults.BadRequest("remaining_uses must be a positive integer or null.")
        project_id = body.get("project_id")
        async with self.state.write() as s:
            for key in ("trustor_user_id", "trustee_user_id"):
                if await s.get(User, body[key]) is None:
                    raise faults.NotFound(f"Could not find user: {body[key]}.")
            role_ids: list[str] = []
            if project_id:
                if await s.get(Project, project_id) is None:
                    raise faults.NotFound(f"Could not find project: {project_id}.")
                held = await self.assignments.effective_role_ids(
                    s, body["trustor_user_id"], project_id=project_id)
                for ref in body.get("roles") or []:
                    if not isinstance(ref, dict):
                        raise faults.BadRequest("Invalid role reference.")
                    if ref.get("id"):
                        role = await s.get(Role, ref["id"])
                    else:
                        role = await s.scalar(select(Role).where(Role.name == ref.get("name")))
                    if role is None or role.id not in held:
                        raise faults.Forbidden("The trustor does not hold a delegated role.")
                    role_ids.append(role.id)
            elif body.get("roles"):
                raise faults.BadRequest("Roles can only be delegated on a project.")
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
        return trust

    async def show(self, trust_id: str) -> Trust:
        async with self.state.db.read() as s:
            trust = await s.get(Trust, trust_id)
        if trust is None or trust.deleted_at is not None:
            raise faults.NotFound(f"Could not find trust: {trust_id}.")
        return trust

    async def list(self, trustor_user_id: str | None = None,
                   trustee_user_id: str | None = None) -> list[Trust]:
        q = select(Trust).where(Trust.deleted_at.is_(None))
        if trustor_user_id:
            q = q.where(Trust.trustor_user_id == trustor_user_id)
        if trustee_user_id:
            q = q.where(Trust.trustee_user_id == trustee_user_id)
        async with self.state.db.read() as s:
            return list(await s.scalars(q))

    async def roles(self, trust: Trust) -> list[Role]:
        async with self.state.db.read() as s:
            return list(await s.scalars(select(Role).where(Role.id.in_(trust.roles))))

    async def delete(self, trust_id: str) -> None:
        async with self.state.write() as s:
            trust = await s.get(Trust, trust_id)
            if trust is None or trust.deleted_at is not None:
                raise faults.NotFound(f"Could not find trust: {trust_id}.")
            trust.deleted_at = utcnow()
