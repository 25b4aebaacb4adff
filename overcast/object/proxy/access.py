"""Who may do what: Swift's keystoneauth, as policy plus container ACLs.

- The owner of an account is a user with an operator role (admin, member) in the project
  whose id the account names (`AUTH_<project_id>`), or anyone with the reseller admin role.
  That is the policy rule each route declares (`swift:get_object`, ... -> `rule:swift_owner`),
  so an operator's policy.yaml can change the roles.
- Otherwise the container's ACLs decide (Swift's authorize, called late, once they are known):
  X-Container-Read lets the entries read objects (and list, with `.rlistings`), X-Container-
  Write lets them write objects. An entry is `.r:<referrer>` (`.r:*`: anyone, no token
  needed), `<project_id>:<user_id>` with `*` for either side, or a role name.
- A refusal is 401 for an anonymous caller (so clients know to authenticate) and 403 for an
  authenticated one.
"""

from __future__ import annotations

from urllib.parse import urlparse

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.common.policy import Credentials

__all__ = ["Access", "anonymous_context", "parse_acl", "referrer_allowed", "user_allowed"]

ANONYMOUS = Credentials()


def anonymous_context(ctx: RequestContext) -> RequestContext:
    """Empty credentials for a caller without a token, so policy is checked (and refuses)."""
    if ctx.credentials is None:
        ctx.credentials = ANONYMOUS
    return ctx


def parse_acl(raw: str | None) -> tuple[list[str], list[str]]:
    """(referrers, groups) of an ACL header; `.rlistings` is kept among the referrers."""
    referrers: list[str] = []
    groups: list[str] = []
    for item in (raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith(".r:"):
            referrers.append(item[3:].strip())
        elif item == ".rlistings":
            referrers.append(".rlistings")
        elif item.startswith("."):
            continue
        else:
            groups.append(item)
    return referrers, groups


def referrer_allowed(referer: str | None, referrers: list[str]) -> bool:
    """Swift's referrer_allowed: the last matching entry wins; `-` denies."""
    host = urlparse(referer).hostname if referer else None
    allowed = False
    for entry in referrers:
        if entry == ".rlistings":
            continue
        deny = entry.startswith("-")
        name = entry[1:] if deny else entry
        if name in ("*", ".*"):
            allowed = not deny
        elif host and (host == name or (name.startswith(".") and host.endswith(name))):
            allowed = not deny
    return allowed


def user_allowed(creds: Credentials, groups: list[str]) -> bool:
    if creds.user_id is None:
        return False
    for entry in groups:
        project, sep, user = entry.partition(":")
        if not sep:
            if entry in creds.roles:
                return True
            continue
        if (project in ("*", creds.project_id)) and (user in ("*", creds.user_id)):
            return True
    return False


class Access:
    """The decision for one request, given the rule its route declares."""

    def __init__(self, reseller_prefix: str):
        self.prefix = reseller_prefix

    def project_of(self, account: str) -> str:
        return account[len(self.prefix):] if account.startswith(self.prefix) else ""

    def is_owner(self, ctx: RequestContext, rule: str, account: str) -> bool:
        anonymous_context(ctx)
        if not account.startswith(self.prefix):
            ctx.can(rule, {"project_id": ""})  # checked, and refused but for resellers
            return "ResellerAdmin" in ctx.creds.roles
        return ctx.can(rule, {"project_id": self.project_of(account)})

    def deny(self, ctx: RequestContext) -> faults.Fault:
        if ctx.credentials is None or ctx.credentials.user_id is None:
            return faults.Unauthorized()
        return faults.Forbidden()

    def require_owner(self, ctx: RequestContext, rule: str, account: str) -> None:
        if not self.is_owner(ctx, rule, account):
            raise self.deny(ctx)

    def may_read(self, ctx: RequestContext, read_acl: str | None, referer: str | None, *,
                 listing: bool) -> bool:
        referrers, groups = parse_acl(read_acl)
        if referrer_allowed(referer, referrers) and (not listing or ".rlistings" in referrers):
            return True
        return user_allowed(ctx.creds, groups)

    def may_write(self, ctx: RequestContext, write_acl: str | None) -> bool:
        _referrers, groups = parse_acl(write_acl)
        return user_allowed(ctx.creds, groups)
