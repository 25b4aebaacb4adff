"""Swift's v1.0 auth, in front of Keystone: `GET /auth/v1.0` with X-Auth-User
`project:user` and X-Auth-Key `password` answers a Keystone token and the account's storage
URL, so `swift -A http://HOST:8080/auth/v1.0 -U project:user -K password` works (users and
projects of the Default domain)."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response

from overcast.common import faults

__all__ = ["AuthV1"]


class AuthV1:
    def __init__(self, identity_url: str, reseller_prefix: str):
        self.identity_url = identity_url.rstrip("/")
        self.prefix = reseller_prefix

    async def login(self, request: Request) -> Response:
        user = request.headers.get("x-auth-user") or request.headers.get("x-storage-user")
        key = request.headers.get("x-auth-key") or request.headers.get("x-storage-pass")
        if not user or not key or ":" not in user:
            raise faults.Unauthorized()
        project, _, name = user.partition(":")
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"id": "default"}, "password": key}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                r = await client.post(f"{self.identity_url}/v3/auth/tokens", json=body)
        except httpx.HTTPError as e:
            raise faults.ServiceUnavailable() from e
        if r.status_code != 201:
            raise faults.Unauthorized()
        token = r.headers["X-Subject-Token"]
        project_id = r.json()["token"]["project"]["id"]
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        url = f"{base}/v1/{self.prefix}{project_id}"
        return Response(b"", status_code=200, headers={
            "x-auth-token": token, "x-storage-token": token, "x-storage-url": url,
            "x-auth-token-expires": "3600", "content-type": "text/plain; charset=utf-8"})
