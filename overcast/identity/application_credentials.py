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
from overcast.identity.roles import NULL_DOMAIN, close_over_implications, implication_map
from overcast.identity.state import IdentityState

__all__ = ["PAST_EXPIRY", "AppCredWithRoles", "ApplicationCredentials", "parse_expiry"]


@dataclass(frozen=True)
class AppCredWithRoles:
    cred: ApplicationCredential
    roles: list[Role]
    #: Shown once, in the answer to the create.
    secret: str | None = None


def _owner(user_id: str) -> dict[str, Any]:
    return {"user_id": user_id}


def _refuse_delegated(ctx: RequestContext) -> None:
    """A trust-scoped token manages no application credentials or access rules: one made
    through it would outlive the trust (Keystone's _block_delegated_token_app_creds)."""
    if ctx.creds.trust_id is not None:
        # Keystone's Forbidden("Cannot manage application credentials with a token issued
        # via delegation."), a SecurityError: its reason is not shown
        raise faults.Forbidden("You are not authorized to perform the requested action.")


def _refuse_restricted(ctx: RequestContext) -> None:
    _refuse_delegated(ctx)
    if ctx.creds.app_cred_id is not None and ctx.creds.app_cred_restricted:
        raise forbidden_action("Using method 'application_credential' is not allowed for "
                               "managing additional application credentials.")


#: Keystone's answer to an expiry before now (keystone/common/utils.py parse_expiration_date).
PAST_EXPIRY = ("The 'expires_at' must not be before now. The server could not comply with the "
               "request since it is either malformed or otherwise incorrect. The client is "
               "assumed to be in error.")


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
            raise faults.BadRequest(PAST_EXPIRY)
        hashed = await self.state.hasher.hash(secret)
        async with self.state.write() as s:
            if await s.get(User, user_id) is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
            held = await self._token_roles(ctx, s, user_id, project_id)
            role_ids = await self._delegated(s, body.get("roles"), held)
            if await s.scalar(select(ApplicationCredential.id).where(
                    ApplicationCredential.user_id == user_id, ApplicationCredential.name == name)):
                raise faults.Conflict("Conflict occurred attempting to store "
                                      "application_credential - Duplicate entry found with "
                                      f"name {name}.")
            rules = [await self._access_rule(s, user_id, r) for r in body.get("access_rules") or []]
            unrestricted = body.get("unrestricted")
            cred = ApplicationCredential(
                name=name, secret_hash=hashed, description=body.get("description"),
                user_id=user_id, project_id=project_id, expires_at=expires_at,
                # kept as given, null when not given (restricted), as Keystone shows it
                unrestricted=None if unrestricted is None else bool(unrestricted),
                roles=sorted(role_ids), access_rules=rules)
            s.add(cred)
            await s.flush()
            return AppCredWithRoles(cred, await self._roles(s, cred), secret)

    async def _token_roles(self, ctx: RequestContext, s: AsyncSession, user_id: str,
                           project_id: str) -> set[str]:
        """The roles of the caller's token: the user's effective roles on the project, less
        those a delegated token (an application credential's) does not carry. Keystone
        delegates from the token, so a delegation never widens another (keystone/api/users.py
        _get_roles)."""
        effective = await self.assignments.effective_role_ids(s, user_id, project_id=project_id)
        if not effective:
            return set()
        names = {r.id: r.name for r in await s.scalars(select(Role).where(Role.id.in_(effective)))}
        return {rid for rid in effective if names.get(rid, "").lower() in ctx.creds.roles}

    @staticmethod
    async def _delegated(s: AsyncSession, wanted: object, held: set[str]) -> set[str]:
        """The roles an application credential gets: those asked for and every role they imply
        (Keystone 30 stores the implied ones too), each held by the token; all the token's
        roles when none are asked for."""
        if not wanted:
            return set(held)
        if not isinstance(wanted, list):
            raise faults.BadRequest("Invalid role reference.")
        role_ids: set[str] = set()
        for ref in wanted:
            if not isinstance(ref, dict):
                raise faults.BadRequest("Invalid role reference.")
            if ref.get("id"):
                role_ids.add(str(ref["id"]))
                continue
            # by name: a global role (Keystone's get_unique_role_by_name)
            rid = await s.scalar(select(Role.id).where(Role.name == ref.get("name"),
                                                        Role.domain_id == NULL_DOMAIN))
            if rid is None:
                raise faults.NotFound(f"Role {ref.get('name')} is not defined")
            role_ids.add(rid)
        role_ids = close_over_implications(role_ids, await implication_map(s))
        if not role_ids <= held:
            raise faults.BadRequest("Invalid application credential: Cannot create an "
                                    "application credential with unassigned role")
        return role_ids

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
        _refuse_delegated(ctx)
        async with self.state.db.read() as s:
            if await s.get(User, user_id) is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
            return list(await s.scalars(self.state.capped(select(AccessRule).where(
                AccessRule.user_id == user_id).order_by(AccessRule.id))))

    async def show_access_rule(self, ctx: RequestContext, user_id: str,
                               rule_id: str) -> AccessRule:
        ctx.enforce("identity:get_access_rule", _owner(user_id))
        _refuse_delegated(ctx)
        async with self.state.db.read() as s:
            rule = await s.get(AccessRule, rule_id)
        if rule is None or rule.user_id != user_id:
            raise faults.NotFound(f"Could not find access rule: {rule_id}.")
        return rule

    async def delete_access_rule(self, ctx: RequestContext, user_id: str, rule_id: str) -> None:
        ctx.enforce("identity:delete_access_rule", _owner(user_id))
        _refuse_delegated(ctx)
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
        _refuse_delegated(ctx)
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
        _refuse_delegated(ctx)
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
