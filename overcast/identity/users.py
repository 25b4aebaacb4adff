"""Users: their attributes, passwords, and the groups they belong to."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.identity.compliance import BOOLEAN_OPTIONS, MFA_RULES
from overcast.identity.directory import Directory
from overcast.identity.domains import Domains
from overcast.identity.logins import Logins
from overcast.identity.models import (
    ApplicationCredential,
    Assignment,
    Group,
    IdMapping,
    Membership,
    Trust,
    User,
)
from overcast.identity.state import IdentityState

__all__ = ["Users", "user_target"]

_OWN = ("name", "domain_id", "enabled", "default_project_id", "options")

#: Keystone's resource-option validator message (keystone/identity/backends/resource_options.py).
_BAD_MFA_RULES = ("Invalid data type, must be a list of lists comprised of strings. Sub-lists may "
                  "not be duplicated. Strings in sub-lists may not be duplicated.")


def merged_options(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The user's options after an update: Keystone's registered options only, each checked;
    a null removes an option (keystone/common/resource_options)."""
    out = dict(current)
    for name, value in given.items():
        if name not in (*BOOLEAN_OPTIONS, MFA_RULES):
            raise faults.BadRequest(f"Invalid input for field 'options': Additional properties "
                                    f"are not allowed ('{name}' was unexpected)")
        if value is None:
            out.pop(name, None)
            continue
        if name in BOOLEAN_OPTIONS and not isinstance(value, bool):
            # Keystone's jsonschema message (every option is nullable)
            raise faults.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                                    f"{value!r} is not of type 'boolean', 'null'")
        if name == MFA_RULES and not _mfa_rules_ok(value):
            raise faults.BadRequest(_BAD_MFA_RULES)
        out[name] = value
    return out


def _mfa_rules_ok(value: object) -> bool:
    if not isinstance(value, list):
        return False
    seen: list[list[str]] = []
    for rule in value:
        if (not isinstance(rule, list) or not rule or rule in seen
                or not all(isinstance(m, str) for m in rule) or len(set(rule)) != len(rule)):
            return False
        seen.append(rule)
    return True


def user_target(u: User) -> dict[str, Any]:
    return {"user_id": u.id, "user": {"id": u.id, "domain_id": u.domain_id}}


def _split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    own = {k: v for k, v in body.items() if k in _OWN}
    if "options" in own and own["options"] is None:
        own["options"] = {}
    extra = {k: v for k, v in body.items()
             if k not in _OWN and k not in ("id", "links", "password")}
    return own, extra


class Users:
    def __init__(self, state: IdentityState, logins: Logins, directory: Directory):
        self.state = state
        self.logins = logins
        self.policy = logins.policy
        self.directory = directory

    @staticmethod
    async def get(s: AsyncSession, user_id: str) -> User:
        user = await s.get(User, user_id)
        if user is None:
            raise faults.NotFound(f"Could not find user: {user_id}.")
        return user

    async def list(self, ctx: RequestContext, *, name: str | None = None,
                   domain_id: str | None = None, enabled: bool | None = None) -> builtins.list[User]:
        ctx.enforce("identity:list_users", {"domain_id": domain_id})
        ldap = await self.directory.of(domain_id)
        if ldap is not None and domain_id is not None:
            return self.state.cap(await self.directory.list_users(ldap, domain_id, name=name,
                                                                  enabled=enabled))
        q = select(User).order_by(User.name, User.id)
        if domain_id is None and await self.directory.ldap_domain_ids():
            # As Keystone's: without a domain, the SQL backend's users (LDAP's are listed
            # per domain).
            q = q.where(User.id.not_in(select(IdMapping.public_id)))
        if name is not None:
            q = q.where(User.name == name)
        if domain_id is not None:
            q = q.where(User.domain_id == domain_id)
        if enabled is not None:
            q = q.where(User.enabled.is_(enabled))
        async with self.state.db.read() as s:
            return list(await s.scalars(self.state.capped(q)))

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> User:
        body = dict(body)
        if not body.get("domain_id"):
            # Keystone puts a user in the caller's domain when none is named.
            body["domain_id"] = ctx.creds.domain_id or ctx.creds.project_domain_id or "default"
        ctx.enforce("identity:create_user", {"user": {k: v for k, v in body.items()
                                                      if k != "password"}})
        password = body.get("password")
        own, extra = _split(body)
        own["options"] = merged_options({}, own.get("options") or {})
        if password:
            self.policy.check_pattern(password)
        hashed = await self.state.hasher.hash(password) if password else None
        await self.directory.refuse_writes(own["domain_id"])
        async with self.state.write() as s:
            await Domains.get(s, own["domain_id"])
            if await s.scalar(select(User.id).where(User.name == own["name"],
                                                    User.domain_id == own["domain_id"])):
                raise faults.Conflict(
                    f"Conflict occurred attempting to store user - Duplicate entry found with "
                    f"name {own['name']} at domain ID {own['domain_id']}.")
            user = User(**own, extra=extra, password_history=[], failed_auth_count=0)
            if hashed:
                self.policy.set_password(user, hashed, self_service=False)
            if self.policy.tracks_activity():
                user.last_active_at = utcnow().date()
            s.add(user)
        return user

    async def show(self, ctx: RequestContext, user_id: str) -> User:
        async with self.state.db.read() as s:
            user = await self.get(s, user_id)
        ctx.enforce("identity:get_user", user_target(user))
        if await self.directory.of(user.domain_id) is not None:
            return await self.directory.refresh_user(user)
        return user

    async def update(self, ctx: RequestContext, user_id: str, body: dict[str, Any]) -> User:
        password = body.get("password")
        own, extra = _split(body)
        if password:
            self.policy.check_pattern(password)
        hashed = await self.state.hasher.hash(password) if password else None
        async with self.state.write() as s:
            user = await self.get(s, user_id)
            ctx.enforce("identity:update_user", user_target(user))
            await self.directory.refuse_writes(user.domain_id)
            if "options" in own:
                own["options"] = merged_options(user.options or {}, own["options"])
            if own.get("enabled") is True:
                # Enabling a user clears its lockout and restarts its inactivity clock
                # (Keystone's User.enabled setter).
                self.policy.forgive(user)
                if self.policy.tracks_activity():
                    user.last_active_at = utcnow().date()
            if "domain_id" in own and own["domain_id"] != user.domain_id:
                raise faults.BadRequest("Cannot change the domain of a user.")
            if "name" in own and own["name"] != user.name and await s.scalar(
                    select(User.id).where(User.name == own["name"],
                                          User.domain_id == user.domain_id)):
                raise faults.Conflict(
                    f"Conflict occurred attempting to store user - Duplicate entry found with "
                    f"name {own['name']} at domain ID {user.domain_id}.")
            for k, v in own.items():
                setattr(user, k, v)
            if extra:
                user.extra = {**user.extra, **extra}
            if hashed:
                # An administrator's reset: no history check (tempest's
                # test_password_history_not_enforced_in_admin_reset), but it is kept.
                self.policy.set_password(user, hashed, self_service=False)
            if hashed or own.get("enabled") is False:
                await self.state.revoke(s, user_id=user_id)
        if hashed or own.get("enabled") is False:
            self.state.hasher.forget(user_id)
        return user

    async def change_password(self, user_id: str, original: str, new: str) -> None:
        """A user's own password change, as Keystone's: the original password is a login
        (lockout counts, an expired password is let through), then the new one must match
        password_regex, the account must not lock_password, the current password must be
        minimum_password_age days old (when its user set it) and the new one unlike the last
        unique_last_password_count. No token is needed (Keystone's route is unenforced): the
        original password is the proof, and the generic 401 answers an unknown user as a
        wrong password does. Two transactions on purpose: bcrypt (~0.25 s a hash) must not
        hold the write transaction (SQLite's one writer); the write re-reads the row."""
        async with self.state.db.read() as s:
            user = await s.get(User, user_id)
        now = utcnow()
        if user is None or not user.enabled:
            await self.state.hasher.decoy(original)
            raise self.logins.refused(f"Could not find user: {user_id}.")
        # An LDAP-backed domain's users change their password in LDAP (the 403 first: Overcast
        # holds no password of theirs to check).
        await self.directory.refuse_writes(user.domain_id)
        await self.logins.check_password(user, original, now, allow_expired=True)
        if not new:
            raise faults.BadRequest("The new password must not be empty.")
        self.policy.check_pattern(new)
        self.policy.check_self_service(user, now)
        if await self.state.hasher.matches_any(new, self.policy.history(user)):
            raise self.policy.history_error()
        hashed = await self.state.hasher.hash(new)
        async with self.state.write() as s:
            user = await self.get(s, user_id)
            self.policy.set_password(user, hashed, self_service=True)
            await self.state.revoke(s, user_id=user_id)
        self.state.hasher.forget(user_id)

    async def delete(self, ctx: RequestContext, user_id: str) -> None:
        async with self.state.write() as s:
            user = await self.get(s, user_id)
            ctx.enforce("identity:delete_user", user_target(user))
            await self.directory.refuse_writes(user.domain_id)
            await s.execute(delete(Membership).where(Membership.user_id == user_id))
            await s.execute(delete(Assignment).where(Assignment.actor_id == user_id))
            await s.execute(delete(ApplicationCredential).where(
                ApplicationCredential.user_id == user_id))
            # Keystone deletes the trusts a user gave or was given (_on_user_delete)
            for trust in await s.scalars(select(Trust).where(
                    or_(Trust.trustor_user_id == user_id, Trust.trustee_user_id == user_id),
                    Trust.deleted_at.is_(None))):
                trust.deleted_at = utcnow()
            await self.state.revoke(s, user_id=user_id)
            await s.delete(user)
        self.state.hasher.forget(user_id)

    async def groups(self, ctx: RequestContext, user_id: str) -> builtins.list[Group]:
        async with self.state.db.read() as s:
            user = await self.get(s, user_id)
            ctx.enforce("identity:list_groups_for_user", user_target(user))
            ldap = await self.directory.of(user.domain_id)
            if ldap is None:
                return list(await s.scalars(self.state.capped(
                    select(Group).where(Group.id.in_(select(Membership.group_id).where(
                        Membership.user_id == user_id))).order_by(Group.name, Group.id))))
        return self.state.cap(await self.directory.groups_of_user(ldap, user))
