"""What the parity tests send: plain HTTP as a client library sends it, and how a test declares
a known difference."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

__all__ = ["Api", "Target", "differs", "password_auth"]


@dataclass
class Target:
    name: str  # overcast | openstack
    identity_url: str
    image_url: str
    admin_password: str
    recorded_against: dict[str, str] = field(default_factory=dict)

    @property
    def urls(self) -> dict[str, str]:
        """What differs between targets by construction -> its placeholder name."""
        return {self.identity_url: "identity-url", self.image_url: "image-url",
                self.admin_password: "admin-password"}


class Api:
    """Plain HTTP to one service, as a client library would send it: JSON bodies, `Accept:
    application/json` unless the test says otherwise, the admin token unless `token=None`."""

    def __init__(self, base_url: str, token: str | None):
        self.base_url = base_url
        self.token = token
        self.client = httpx.Client(base_url=base_url, timeout=60)
        # httpx sends `Accept: */*` by default; here a request has only the Accept it asks for
        del self.client.headers["Accept"]

    def request(self, method: str, path: str, *, json: Any = None, content: bytes | None = None,
                headers: dict[str, str | None] | None = None,
                token: str | bool | None = True) -> httpx.Response:
        h: dict[str, str | None] = {"Accept": "application/json"}
        if json is not None:
            h["Content-Type"] = "application/json"
        tok = self.token if token is True else (token or None)
        if tok:
            h["X-Auth-Token"] = tok
        h.update(headers or {})
        # None in `headers` removes a header the client would send
        sent = {k: v for k, v in h.items() if v is not None}
        body = content if content is not None else (None if json is None else _dumps(json))
        return self.client.request(method, path, content=body, headers=sent)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def head(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("HEAD", path, **kw)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def password_auth(user: str, password: str, project: str | None = "admin",
                  domain: str = "Default") -> dict[str, Any]:
    """The body of `POST /v3/auth/tokens` for a password login, project-scoped by name."""
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"name": domain}, "password": password}}}}
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    return {"auth": auth}


def differs(path: str, reason: str, *, value_only: bool = False) -> pytest.MarkDecorator:
    """Declare that Overcast's answer differs from the recording at `path` (a JSON path below
    one match key: `$.create.body.project.options`), and why."""
    return pytest.mark.known_difference(path, reason, value_only=value_only)
