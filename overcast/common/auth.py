"""Tokens as every service sees them: one Credentials builder, access rules, remote validation.

- `credentials_from_token(body)`: the caller's Credentials from a Keystone v3 token body. The
  identity service builds its own callers' credentials with it too, so local (`overcast up`)
  and remote (a service run alone) validation cannot disagree.
- `access_allowed`: an application credential's access rules, checked as keystonemiddleware
  does (`validate_allowed_request`): a rule names a service type, a method and a path pattern
  where `*` or `{name}` is one path segment and `**` any number of them.
- `RemoteValidator`: a service started alone (`overcast serve image`) asks Keystone. It needs
  no service account, because Keystone lets a token validate itself (`GET /v3/auth/tokens` with
  the token as both X-Auth-Token and X-Subject-Token). Answers are cached for `cache_seconds`,
  never past the token's expiry, so a revoked token keeps working here for at most that long.
"""

from __future__ import annotations

import hashlib
import re
import time
from functools import lru_cache
from typing import Any

import httpx

from overcast.common import faults
from overcast.common.clock import epoch, parse_iso
from overcast.common.policy import AccessRule, Credentials

__all__ = ["ACCESS_RULES_HEADER", "RemoteValidator", "access_allowed", "credentials_from_token"]

#: Sent by a validator that enforces access rules; Keystone refuses to validate a token that
#: has rules for one that does not (keystone/token/provider.py, ACCESS_RULES_MIN_VERSION 1.0).
ACCESS_RULES_HEADER = "OpenStack-Identity-Access-Rules"
ACCESS_RULES_VERSION = "1.0"


def _expires(token: dict[str, Any]) -> float | None:
    raw = token.get("expires_at")
    if not isinstance(raw, str):
        return None
    try:
        return epoch(parse_iso(raw))
    except ValueError:
        return None


def credentials_from_token(token: dict[str, Any]) -> Credentials:
    """Credentials from a Keystone v3 token body (the value of its "token" key)."""
    user = token.get("user") or {}
    project = token.get("project") or {}
    domain = token.get("domain") or {}
    system = token.get("system") or {}
    app_cred = token.get("application_credential") or {}
    rules = app_cred.get("access_rules")
    trust = token.get("OS-TRUST:trust") or {}
    return Credentials(
        user_id=user.get("id"),
        user_domain_id=(user.get("domain") or {}).get("id"),
        project_id=project.get("id"),
        project_domain_id=(project.get("domain") or {}).get("id"),
        domain_id=domain.get("id"),
        system_scope="all" if system.get("all") else None,
        roles=frozenset(r["name"] for r in token.get("roles") or []),
        is_admin_project=bool(token.get("is_admin_project", False)),
        token_audit_id=(token.get("audit_ids") or [None])[0],
        expires_at=_expires(token),
        app_cred_id=app_cred.get("id"),
        app_cred_restricted=bool(app_cred.get("restricted", False)),
        access_rules=None if rules is None else tuple(
            AccessRule(service=str(r.get("service", "")), method=str(r.get("method", "")),
                       path=str(r.get("path", ""))) for r in rules),
        trust_id=trust.get("id"),
    )


@lru_cache(maxsize=1024)
def _path_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for m in re.finditer(r"(?P<tag>\{[^}]*\})|(?P<wild>\*(?=$|[^*]))|(?P<rec>\*\*)|(?P<lit>[^{}*])",
                         pattern):
        if m.group("tag") or m.group("wild"):
            out.append(r"[^/]+")
        elif m.group("rec"):
            out.append(".*")
        else:
            out.append(re.escape(m.group("lit")))
    return re.compile("^" + "".join(out) + "$")


def access_allowed(creds: Credentials, service_type: str, method: str, path: str) -> bool:
    """Whether the credentials' access rules (if any) let this request through."""
    rules = creds.access_rules
    if rules is None:
        return True
    # A token can always be validated, whatever its rules (keystonemiddleware's exception).
    if service_type == "identity" and method == "GET" and path.endswith("/v3/auth/tokens"):
        return True
    return any(r.service == service_type and r.method == method
               and _path_regex(r.path).match(path) is not None for r in rules)


class RemoteValidator:
    """A TokenValidator that asks Keystone over HTTP and remembers the answers."""

    def __init__(self, auth_url: str, *, cache_seconds: float = 60.0, max_entries: int = 10_000):
        self.auth_url = auth_url.rstrip("/")
        self.cache_seconds = cache_seconds
        self.max_entries = max_entries
        # sha256(token) -> (wall-clock time the entry dies, credentials)
        self._cache: dict[str, tuple[float, Credentials]] = {}
        self._client = httpx.AsyncClient(timeout=10)

    def auth_uri(self) -> str:
        return self.auth_url

    async def validate(self, token: str) -> Credentials:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.time()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            resp = await self._client.get(
                f"{self.auth_url}/auth/tokens",
                headers={"X-Auth-Token": token, "X-Subject-Token": token,
                         ACCESS_RULES_HEADER: ACCESS_RULES_VERSION},
                params={"nocatalog": "1"})
        except httpx.HTTPError as e:
            raise faults.ServiceUnavailable("The identity service cannot be reached.") from e
        if resp.status_code in (401, 403, 404):
            raise faults.Unauthorized("The request you have made requires authentication.")
        if resp.status_code != 200:
            raise faults.ServiceUnavailable("The identity service did not validate the token.")
        creds = credentials_from_token(resp.json()["token"])
        dies = now + self.cache_seconds
        if creds.expires_at is not None:
            dies = min(dies, creds.expires_at)
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[key] = (dies, creds)
        return creds

    async def close(self) -> None:
        await self._client.aclose()
