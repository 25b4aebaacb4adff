"""Proving who one is: the `password` and `totp` auth methods, with security compliance.

Keystone's order for a password (keystone/auth/plugins/core.py, identity/backends/sql.py):
the user is looked up (none: the generic 401), must be enabled (an inactive user counts as
disabled: the generic 401), must not be locked out ("The account is locked for user: <id>."),
the password must match (else the failure is counted and the generic 401), and must not have
expired ("The password is expired and needs to be changed for user: <id>."). A success clears
the failure count and notes the day of the login.

Costs, so that timing tells nothing and a lockout cannot be used to burn CPU: a login for a
user that does not exist (or is disabled) pays a full bcrypt against a decoy hash, as a wrong
password does; a locked account pays none. A login reads the user and its domain in one query
and writes only when there is something to write (a failure to count, a lockout or an earlier
failure to clear, a first login of the day when inactivity is tracked).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.identity.compliance import PasswordPolicy, account_locked, password_expired
from overcast.identity.credentials import BlobCipher
from overcast.identity.directory import AuthFailed, Directory
from overcast.identity.models import Credential, Domain, User
from overcast.identity.state import REVISION, REVISION_COLUMN, IdentityState

__all__ = ["AUTH_FAILED", "LdapAuthenticated", "Logins"]

AUTH_FAILED = "The request you have made requires authentication."
#: Appended to the reason of an authentication failure with insecure_debug (Keystone's).
INSECURE_DEBUG = "(Disable insecure_debug mode to suppress these details.)"

# RFC 6238 as Keystone runs it (keystone/auth/plugins/totp.py): 6 digits, 30 s, HMAC-SHA1.
PASSCODE_LENGTH = 6
PASSCODE_PERIOD = 30


def totp_passcodes(secret: str, at: float, previous_windows: int) -> list[str]:
    """The passcodes a base32 `secret` gives at time `at` and in the windows before it."""
    raw = secret.encode()
    raw += b"=" * (-len(raw) % 8)
    key = base64.b32decode(raw)
    totp = TOTP(key, PASSCODE_LENGTH, hashes.SHA1(), PASSCODE_PERIOD)
    return [totp.generate(at - i * PASSCODE_PERIOD).decode() for i in range(previous_windows + 1)]


# A user and its domain, by how the request names the user; built once (made per login,
# building a statement and its cache key costs more CPU than the database takes to answer).
_USER = select(User, Domain).join(Domain, Domain.id == User.domain_id)
_FIND = {
    "id": _USER.where(User.id == bindparam("id")),
    "domain_id": _USER.where(User.name == bindparam("name"), Domain.id == bindparam("domain")),
    "domain_name": _USER.where(User.name == bindparam("name"),
                               Domain.name == bindparam("domain")),
}
#: The same with the caches' revision as a third column (state.py observe).
_FIND_CHECKED: dict[str, Select[User, Domain, int]] = {
    by: q.add_columns(REVISION_COLUMN) for by, q in _FIND.items()}


class LdapAuthenticated(Exception):
    """LDAP authenticated the password (and may have written the user's row and group
    memberships): the login goes on in a session that begins after those writes."""

    def __init__(self, user_id: str):
        super().__init__(user_id)
        self.user_id = user_id


class Logins:
    """The password and totp methods over one user row, in the caller's session."""

    def __init__(self, state: IdentityState, directory: Directory):
        self.state = state
        self.directory = directory
        self.policy = PasswordPolicy(state.config.security_compliance)
        self.cipher = BlobCipher(state.credential_keys)

    def refused(self, why: str) -> faults.Unauthorized:
        """Keystone's one generic 401, unless `[DEFAULT] insecure_debug` asks to say why."""
        if self.state.config.default.insecure_debug:
            return faults.Unauthorized(f"{why} {INSECURE_DEBUG}")
        return faults.Unauthorized(AUTH_FAILED)

    async def find(self, s: AsyncSession, ref: dict[str, Any], *,
                   since: int | None = None) -> tuple[User, Domain] | None:
        """The user a method's `user` object names (id, or name and domain by id or name) and
        its domain: one query. `since` (the state's generation before it): this is the first
        query of the caller's session, and the caches' revision check rides on it when due
        (state.py observe), so that a login needs no session of its own for it."""
        if ref.get("id"):
            by, params = "id", {"id": str(ref["id"])}
        else:
            name, domain = ref.get("name"), ref.get("domain")
            if not isinstance(name, str) or not isinstance(domain, dict):
                raise faults.BadRequest("A user is named by id, or by name and domain.")
            if domain.get("id"):
                by, params = "domain_id", {"name": name, "domain": str(domain["id"])}
            elif domain.get("name"):
                by, params = "domain_name", {"name": name, "domain": domain["name"]}
            else:
                raise faults.BadRequest("A domain is named by id or name.")
        if since is None or not self.state.due():
            row = (await s.execute(_FIND[by], params)).first()
            return None if row is None else (row[0], row[1])
        at = time.monotonic()
        checked = (await s.execute(_FIND_CHECKED[by], params)).first()
        # No such user: no row to carry the revision (a failed login, which pays a hash anyway)
        current = checked[2] if checked is not None else await s.scalar(REVISION)
        await self.state.observe(s, current, since=since, at=at)
        return None if checked is None else (checked[0], checked[1])

    async def _usable(self, found: tuple[User, Domain] | None, ref: dict[str, Any],
                      secret: str, now: datetime) -> tuple[User, Domain]:
        """The user found if it may log in at all; otherwise the generic 401 after a decoy
        hash (the user is missing, disabled, inactive or in a disabled domain)."""
        if found is None:
            await self.state.hasher.decoy(secret)
            raise self.refused(f"Could not find user: {ref.get('id') or ref.get('name')}.")
        user, domain = found
        if not domain.enabled:
            await self.state.hasher.decoy(secret)
            raise self.refused(f"The user's domain {domain.id} is disabled.")
        if not user.enabled or self.policy.inactive(user, now):
            await self.state.hasher.decoy(secret)
            raise self.refused(f"The account is disabled for user: {user.id}.")
        return user, domain

    async def password(self, s: AsyncSession, method: dict[str, Any], *,
                       allow_expired: bool = False, since: int | None = None,
                       ldap_user: str | None = None) -> tuple[User, Domain]:
        """The `password` method: the user whose password this is (and its domain), or a 401.

        `since`: as for `find` (the login's first query carries the revision check). The
        user's row is read before LDAP is asked, so that the check (which may drop the cache
        of LDAP-backed domains) comes first; a user LDAP authenticates raises LdapAuthenticated
        instead, since `s` may not see the rows LDAP's login just wrote (its snapshot began
        before them): the caller reads on in a new session, passing `ldap_user`."""
        ref = method.get("user")
        if not isinstance(ref, dict):
            raise faults.BadRequest("Expecting to find user in password.")
        secret = ref.get("password")
        if not isinstance(secret, str):
            raise faults.BadRequest("Expecting to find password in user.")
        now = utcnow()
        if ldap_user is not None:
            by_id = {"id": ldap_user}
            return await self._usable(await self.find(s, by_id), by_id, secret, now)
        found = await self.find(s, ref, since=since)
        # A user of an LDAP-backed domain: LDAP checks the password (directory.py).
        try:
            ldap_user = await self.directory.password_user(ref, secret)
        except AuthFailed as e:
            raise self.refused(str(e)) from e
        if ldap_user is not None:
            raise LdapAuthenticated(ldap_user)
        user, domain = await self._usable(found, ref, secret, now)
        await self.check_password(user, secret, now, allow_expired=allow_expired)
        return user, domain

    async def check_password(self, user: User, secret: str, now: datetime, *,
                             allow_expired: bool = False) -> None:
        """Lockout, the password itself and its expiry, for a user that may log in."""
        if self.policy.locked(user, now):
            raise account_locked(user.id)
        if not await self.state.hasher.verify(user.id, secret, user.password_hash):
            if self.policy.counts_failures(user):
                await self._record(user.id, failed=True)
            raise self.refused(f"Invalid password for user {user.id}.")
        if not allow_expired and self.policy.expired(user, now):
            raise password_expired(user.id)
        await self.succeeded(user, now)

    async def totp(self, s: AsyncSession, method: dict[str, Any]) -> tuple[User, Domain]:
        """The `totp` method: a passcode from one of the user's TOTP credentials."""
        ref = method.get("user")
        if not isinstance(ref, dict):
            raise faults.BadRequest("Expecting to find user in totp.")
        passcode = ref.get("passcode")
        if not isinstance(passcode, str):
            raise faults.BadRequest("Expecting to find passcode in user.")
        now = utcnow()
        user, domain = await self._usable(await self.find(s, ref), ref, passcode, now)
        windows = self.state.config.identity.totp_included_previous_windows
        at = now.timestamp()
        for cred in await s.scalars(select(Credential).where(Credential.user_id == user.id,
                                                             Credential.type == "totp")):
            try:
                codes = totp_passcodes(self.cipher.open(cred).strip(), at, windows)
            except (faults.Fault, ValueError, binascii.Error):
                continue  # a seed that is not base32 (or that no key opens) matches nothing
            if any(hmac.compare_digest(passcode, c) for c in codes):
                await self.succeeded(user, now)
                return user, domain
        raise self.refused(f"Invalid username or TOTP passcode for user {user.id}.")

    async def succeeded(self, user: User, now: datetime) -> None:
        """Clear earlier failures and note the day, when either needs a write (in a write
        transaction of its own: `user` may belong to a read-only session, never changed)."""
        stale_day = self.policy.tracks_activity() and user.last_active_at != now.date()
        if user.failed_auth_count or stale_day:
            await self._record(user.id, failed=False)

    async def _record(self, user_id: str, *, failed: bool) -> None:
        """A failed login counted, or a success noted, on the user row (its own transaction:
        the login's read session stays read-only)."""
        async with self.state.write() as w:
            row = await w.get(User, user_id)
            if row is None:
                return
            now = utcnow()
            if failed:
                self.policy.fail(row, now)
            else:
                self.policy.forgive(row)
                if self.policy.tracks_activity():
                    row.last_active_at = now.date()


def mfa_rules(user: User) -> Sequence[Sequence[str]]:
    """The user's multi-factor rules in effect (Keystone's UserMFARulesValidator): none when
    `multi_factor_auth_enabled` is false or the rules are not a list of lists of strings."""
    options = user.options or {}
    if options.get("multi_factor_auth_enabled", True) is False:
        return []
    rules = options.get("multi_factor_auth_rules") or []
    if not isinstance(rules, list):
        return []
    return [r for r in rules if isinstance(r, list) and r and all(isinstance(m, str) for m in r)]
