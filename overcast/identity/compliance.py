"""Security compliance: Keystone's `[security_compliance]` rules for passwords and logins.

Lockout after failed logins, password expiry, password history, minimum password age, a
password pattern, a forced change after an administrator sets a password, and disabling users
who stopped logging in; each with Keystone's per-user exemptions (user `options`) and its
error messages (keystone/exception.py). No HTTP and no transactions here: the callers (users.py,
authentication.py) own the rows and the sessions.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from overcast.common import faults
from overcast.common.clock import as_utc, utcnow
from overcast.config import SecurityComplianceSection
from overcast.identity.models import User

__all__ = ["PasswordPolicy", "account_locked", "password_expired", "user_option"]

#: User options Keystone registers (keystone/identity/backends/resource_options.py).
IGNORE_CHANGE_PASSWORD = "ignore_change_password_upon_first_use"
IGNORE_PASSWORD_EXPIRY = "ignore_password_expiry"
IGNORE_LOCKOUT = "ignore_lockout_failure_attempts"
LOCK_PASSWORD = "lock_password"
IGNORE_INACTIVITY = "ignore_user_inactivity"
MFA_RULES = "multi_factor_auth_rules"
MFA_ENABLED = "multi_factor_auth_enabled"
BOOLEAN_OPTIONS = (IGNORE_CHANGE_PASSWORD, IGNORE_PASSWORD_EXPIRY, IGNORE_LOCKOUT, LOCK_PASSWORD,
                   IGNORE_INACTIVITY, MFA_ENABLED)


def account_locked(user_id: str) -> faults.Unauthorized:
    return faults.Unauthorized(f"The account is locked for user: {user_id}.")


def password_expired(user_id: str) -> faults.Unauthorized:
    return faults.Unauthorized(
        f"The password is expired and needs to be changed for user: {user_id}.")


def user_option(user: User, name: str) -> bool:
    """A boolean user option; True only when set to true."""
    return (user.options or {}).get(name) is True


class PasswordPolicy:
    """The `[security_compliance]` options applied to one user row at a time."""

    def __init__(self, config: SecurityComplianceSection):
        self.config = config
        self._regex = re.compile(config.password_regex) if config.password_regex else None

    # -- logins --
    def locked(self, user: User, now: datetime) -> bool:
        """Whether too many failed logins lock the user out now (Keystone's
        _is_account_locked). A lockout that has run its course is cleared by the next success
        (in the caller's write: this row may belong to a read-only session)."""
        limit = self.config.lockout_failure_attempts
        if not limit or user_option(user, IGNORE_LOCKOUT) or (user.failed_auth_count or 0) < limit:
            return False
        last = user.failed_auth_at
        return last is not None and \
            as_utc(last) + timedelta(seconds=self.config.lockout_duration) > now

    def counts_failures(self, user: User) -> bool:
        """Whether a failed login must be recorded on the row (a write): only when lockout is on."""
        return bool(self.config.lockout_failure_attempts) and not user_option(user, IGNORE_LOCKOUT)

    def fail(self, user: User, now: datetime) -> None:
        """Count a failed login; a lockout that had run its course starts counting afresh."""
        count = user.failed_auth_count or 0
        if count and not self.locked(user, now) and count >= (self.config.lockout_failure_attempts or 0):
            count = 0
        user.failed_auth_count = count + 1
        user.failed_auth_at = now

    @staticmethod
    def forgive(user: User) -> None:
        user.failed_auth_count = 0
        user.failed_auth_at = None

    def inactive(self, user: User, now: datetime) -> bool:
        """Whether the user has not logged in for disable_user_account_days_inactive days
        (Keystone then counts the user as disabled)."""
        days = self.config.disable_user_account_days_inactive
        if not days or user_option(user, IGNORE_INACTIVITY):
            return False
        last = user.last_active_at or as_utc(user.created_at).date()
        return (now.date() - last).days >= days

    def tracks_activity(self) -> bool:
        return bool(self.config.disable_user_account_days_inactive)

    @staticmethod
    def expired(user: User, now: datetime) -> bool:
        return (user.password_expires_at is not None and not user_option(user, IGNORE_PASSWORD_EXPIRY)
                and now >= as_utc(user.password_expires_at))

    # -- setting a password --
    def check_pattern(self, password: str) -> None:
        """password_regex (Keystone's validators.validate_password)."""
        if self._regex is not None and not self._regex.match(password):
            raise faults.BadRequest("The password does not match the requirements: "
                                    f"{self.config.password_regex_description}.")

    def check_self_service(self, user: User, now: datetime) -> None:
        """What a user's own password change must pass before its history is checked:
        lock_password, then minimum_password_age (only for a password they set themselves)."""
        if user_option(user, LOCK_PASSWORD):
            raise faults.BadRequest(
                "You cannot change your password at this time due to password policy "
                "disallowing password changes. Please contact your administrator to reset your "
                "password.")
        days = self.config.minimum_password_age
        if user.password_self_service and user.password_created_at is not None:
            allowed = as_utc(user.password_created_at) + timedelta(days=days)
            if now < allowed:
                raise faults.BadRequest(
                    "You cannot change your password at this time due to the minimum password "
                    f"age. Once you change your password, it must be used for {days} day(s) "
                    f"before it can be changed. Please try again in {(allowed - now).days} "
                    "day(s) or contact your administrator to reset your password.")

    def history(self, user: User) -> list[str]:
        """The hashes a new own password must differ from: the last unique_last_password_count
        passwords, the current one included (Keystone's _validate_password_history)."""
        count = self.config.unique_last_password_count
        if count <= 0:
            return []
        hashes = [*(user.password_history or []), *([user.password_hash] if user.password_hash else [])]
        return hashes[-count:]

    def history_error(self) -> faults.BadRequest:
        return faults.BadRequest(
            "The new password cannot be identical to a previous password. The total number "
            "which includes the new password must be unique is "
            f"{self.config.unique_last_password_count}.")

    def set_password(self, user: User, hashed: str, *, self_service: bool) -> None:
        """Make `hashed` the user's password: keep the old one in the history, and set its
        expiry (password_expires_days; at once when an administrator set it and
        change_password_upon_first_use asks so)."""
        now = utcnow()
        if user.password_hash:
            keep = max(self.config.unique_last_password_count - 1, 0)
            user.password_history = [*(user.password_history or []), user.password_hash][-keep:] \
                if keep else []
        user.password_hash = hashed
        user.password_created_at = now
        user.password_self_service = self_service
        expires: datetime | None = None
        if self.config.password_expires_days and not user_option(user, IGNORE_PASSWORD_EXPIRY):
            expires = (now + timedelta(days=self.config.password_expires_days)).replace(microsecond=0)
        if (not self_service and self.config.change_password_upon_first_use
                and not user_option(user, IGNORE_CHANGE_PASSWORD)):
            expires = now
        user.password_expires_at = expires
