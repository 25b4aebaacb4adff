"""Application credentials: a user's delegated, project-bound, optionally role-limited secret,
and the access rules that can narrow one to some API calls.

A token made from a restricted application credential may not create or delete application
credentials (Keystone's _check_unrestricted_application_credential)."""

from __future__ import annotations

import builtins
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import parse_iso, utcnow
from overcast.common.context import RequestContext
from overcast.identity.assignments import Assignments
from overcast.identity.models import AccessRule, ApplicationCredential, Role, User
from overcast.identity.policy import forbidden_action
from overcast.identity.state import IdentityState

__all__ = ["AppCredWithRoles", "ApplicationCredentials", "parse_expiry"]


@dataclass(frozen=True)
class AppCredWithRoles:
    cred: ApplicationCredential
    roles: list[Role]
    #: Shown once, in the answer to the create.
    secret: str | None = None


def _owner(user_id: str) -> dict[str, Any]:
    return {"user_id": user_id}


def _refuse_restricted(ctx: RequestContext) -> None:
    if ctx.creds.app_cred_id is not None and ctx.creds.app_cred_restricted:
        raise forbidden_action("Using method 'application_credential' is not allowed for "
                               "managing additional application credentials.")


def parse_expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as e:
        raise faults.BadRequest(f"Invalid expires_at: {value!r}.") from e


class ApplicationCredentials:
    def __init__(self, state: IdentityState, assignments: Assignments):
        self.state = state
        self.assignments = assignments

    @staticmethod
    async def _roles(s: AsyncSession, cred: ApplicationCredential) -> list[Role]:
        return list(await s.scalars(select(Role).where(Role.id.in_(cred.roles))
                                    .order_by(Role.name)))

    async def create(self, ctx: RequestContext, user_id: str,
                     body: dict[str, Any]) -> AppCredWithRoles:
        """Create one on the caller's project; its secret is shown once, stored as a hash."""
        ctx.enforce("identity:create_application_credential", _owner(user_id))
        _refuse_restricted(ctx)
        project_id = ctx.project_id
        if project_id is None:
            raise faults.Forbidden("Application credentials need a project-scoped token.")
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise faults.BadRequest("Invalid input for field 'name'.")
        secret = body.get("secret") or secrets.token_urlsafe(64)
        expires_at = parse_expiry(body.get("expires_at"))
        if expires_at is not None and expires_at < utcnow():
            raise faults.BadRequest("The expiration time is in the past.")
        hashed = await self.state.hasher.hash(secret)
        async with self.state.write() as s:
            if await s.get(User, user_id) is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
            held = await self.assignments.effective_role_ids(s, user_id, project_id=project_id)
            wanted = body.get("roles")
            if wanted:
                role_ids = set()
                for ref in wanted:
                    if not isinstance(ref, dict):
                        raise faults.BadRequest("Invalid role reference.")
                    if ref.get("id"):
                        role = await s.get(Role, ref["id"])
                    else:
                        role = await s.scalar(select(Role).where(Role.name == ref.get("name")))
                    if role is None or role.id not in held:
                        raise faults.NotFound(f"Could not find role: {ref.get('id') or ref.get('name')}.")
                    role_ids.add(role.id)
            else:
                role_ids = held
            if await s.scalar(select(ApplicationCredential.id).where(
                    ApplicationCredential.user_id == user_id, ApplicationCredential.name == name)):
                raise faults.Conflict(f"An application credential named {name} already exists.")
            rules = [await self._access_rule(s, user_id, r) for r in body.get("access_rules") or []]
            cred = ApplicationCredential(
                name=name, secret_hash=hashed, description=body.get("description"),
                user_id=user_id, project_id=project_id, expires_at=expires_at,
                unrestricted=bool(body.get("unrestricted", False)), roles=sorted(role_ids),
                access_rules=rules)
            s.add(cred)
            await s.flush()
            return AppCredWithRoles(cred, await self._roles(s, cred), secret)

    @staticmethod
    async def _access_rule(s: AsyncSession, user_id: str, ref: object) -> dict[str, str]:
        """The user's rule with this id, or the same (service, path, method), or a new one."""
        if not isinstance(ref, dict):
            raise faults.BadRequest("Invalid access rule.")
        if ref.get("id"):
            rule = await s.get(AccessRule, ref["id"])
            if rule is None or rule.user_id != user_id:
                raise faults.NotFound(f"Could not find access rule: {ref['id']}.")
        else:
            for key in ("service", "path", "method"):
                if not isinstance(ref.get(key), str) or not ref[key]:
                    raise faults.BadRequest(f"An access rule needs a {key}.")
            rule = await s.scalar(select(AccessRule).where(
                AccessRule.user_id == user_id, AccessRule.service == ref["service"],
                AccessRule.path == ref["path"], AccessRule.method == ref["method"]))
            if rule is None:
                rule = AccessRule(user_id=user_id, service=ref["service"], path=ref["path"],
                                  method=ref["method"])
                s.add(rule)
                await s.flush()
        return {"id": rule.id, "service": rule.service, "path": rule.path, "method": rule.method}

    async def list_access_rules(self, ctx: RequestContext, user_id: str) -> list[AccessRule]:
        ctx.enforce("identity:list_access_rules", _owner(user_id))
        async with self.state.db.read() as s:
            if await s.get(User, user_id) is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
            return list(await s.scalars(self.state.capped(select(AccessRule).where(
                AccessRule.user_id == user_id).order_by(AccessRule.id))))

    async def show_access_rule(self, ctx: RequestContext, user_id: str,
                               rule_id: str) -> AccessRule:
        ctx.enforce("identity:get_access_rule", _owner(user_id))
        async with self.state.db.read() as s:
            rule = await s.get(AccessRule, rule_id)
        if rule is None or rule.user_id != user_id:
            raise faults.NotFound(f"Could not find access rule: {rule_id}.")
        return rule

    async def delete_access_rule(self, ctx: RequestContext, user_id: str, rule_id: str) -> None:
        ctx.enforce("identity:delete_access_rule", _owner(user_id))
        async with self.state.write() as s:
            rule = await s.get(AccessRule, rule_id)
            if rule is None or rule.user_id != user_id:
                raise faults.NotFound(f"Could not find access rule: {rule_id}.")
            for cred in await s.scalars(select(ApplicationCredential).where(
                    ApplicationCredential.user_id == user_id)):
                if any(r.get("id") == rule_id for r in cred.access_rules):
                    raise faults.Forbidden("The access rule is in use by an application "
                                           "credential.")
            await s.delete(rule)

    async def list(self, ctx: RequestContext, user_id: str,
                   name: str | None = None) -> builtins.list[AppCredWithRoles]:
        ctx.enforce("identity:list_application_credentials", _owner(user_id))
        q = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)
        if name is not None:
            q = q.where(ApplicationCredential.name == name)
        async with self.state.db.read() as s:
            if await s.get(User, user_id) is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
            creds = list(await s.scalars(self.state.capped(q.order_by(
                ApplicationCredential.name, ApplicationCredential.id))))
            return [AppCredWithRoles(c, await self._roles(s, c)) for c in creds]

    async def show(self, ctx: RequestContext, user_id: str, cred_id: str) -> AppCredWithRoles:
        ctx.enforce("identity:get_application_credential", _owner(user_id))
        async with self.state.db.read() as s:
            cred = await s.get(ApplicationCredential, cred_id)
            if cred is None or cred.user_id != user_id:
                raise faults.NotFound(f"Could not find Application Credential: {cred_id}.")
            return AppCredWithRoles(cred, await self._roles(s, cred))

    async def delete(self, ctx: RequestContext, user_id: str, cred_id: str) -> None:
        ctx.enforce("identity:delete_application_credential", _owner(user_id))
        _refuse_restricted(ctx)
        async with self.state.write() as s:
            cred = await s.get(ApplicationCredential, cred_id)
            if cred is None or cred.user_id != user_id:
                raise faults.NotFound(f"Could not find Application Credential: {cred_id}.")
            # Its tokens die with it: validation finds the credential gone.
            await s.delete(cred)
