"""Token validation for a service that runs apart from Identity: ask Keystone, cache the answer.

In `overcast up` every service shares the Identity object in-process (no network hop). A
service started alone (`overcast serve image`) validates a token the way keystonemiddleware
does, with one difference: it needs no service account, because Keystone lets a token
validate itself (`GET /v3/auth/tokens` with the token as both X-Auth-Token and
X-Subject-Token; policy identity:validate_token allows the token's subject). Answers are
cached for `cache_seconds` (keystonemiddleware's token_cache_time is 300), so a revoked token
keeps working here for at most that long.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx

from overcast.common import faults
from overcast.common.policy import Credentials

__all__ = ["RemoteValidator", "credentials_from_token"]


def credentials_from_token(token: dict[str, Any]) -> Credentials:
    """Credentials from a Keystone v3 token body (the value of its "token" key)."""
    user = token.get("user") or {}
    project = token.get("project") or {}
    domain = token.get("domain") or {}
    system = token.get("system") or {}
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
    )


class RemoteValidator:
    """A TokenValidator that asks Keystone over HTTP and remembers the answers."""

    def __init__(self, auth_url: str, *, cache_seconds: float = 60.0, max_entries: int = 10_000):
        self.auth_url = auth_url.rstrip("/")
        self.cache_seconds = cache_seconds
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, Credentials]] = {}
        self._client = httpx.AsyncClient(timeout=10)

    def auth_uri(self) -> str:
        return self.auth_url

    async def validate(self, token: str) -> Credentials:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            resp = await self._client.get(
                f"{self.auth_url}/auth/tokens",
                headers={"X-Auth-Token": token, "X-Subject-Token": token},
                params={"nocatalog": "1"})
        except httpx.HTTPError as e:
            raise faults.ServiceUnavailable("The identity service cannot be reached.") from e
        if resp.status_code in (401, 403, 404):
            raise faults.Unauthorized("The request you have made requires authentication.")
        if resp.status_code != 200:
            raise faults.ServiceUnavailable("The identity service did not validate the token.")
        creds = credentials_from_token(resp.json()["token"])
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[key] = (now + self.cache_seconds, creds)
        return creds

    async def close(self) -> None:
        await self._client.aclose()
