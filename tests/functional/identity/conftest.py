from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from overcast.config import Config
from overcast.identity.app import create_app
from tests.functional.conftest import ADMIN_PASSWORD, running
from tests.helpers import password_auth


@dataclass
class Keystone:
    """A client of the in-process identity service, with an admin token at hand."""

    http: httpx.AsyncClient
    admin_token: str

    def as_(self, token: str) -> dict[str, str]:
        return {"X-Auth-Token": token}

    @property
    def admin(self) -> dict[str, str]:
        return self.as_(self.admin_token)

    async def token(self, user: str, password: str, project: str | None = None,
                    domain: str = "Default") -> str:
        r = await self.http.post("/v3/auth/tokens", json=password_auth(user, password, project,
                                                                         domain))
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"]

    async def app_credential(self, token: str, user_id: str, name: str,
                             **fields: object) -> tuple[dict[str, object], str]:
        """An application credential made with `token`, and a token made from it."""
        r = await self.http.post(f"/v3/users/{user_id}/application_credentials",
                                 headers=self.as_(token),
                                 json={"application_credential": {"name": name, **fields}})
        assert r.status_code == 201, r.text
        cred = r.json()["application_credential"]
        r = await self.http.post("/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
        assert r.status_code == 201, r.text
        return cred, r.headers["X-Subject-Token"]

    async def make_user(self, name: str, password: str, project: str | None = None,
                        role: str = "member") -> dict[str, str]:
        """A user (and project) with `role` on it; returns their ids."""
        out: dict[str, str] = {}
        if project:
            r = await self.http.post("/v3/projects", headers=self.admin,
                                     json={"project": {"name": project}})
            assert r.status_code == 201, r.text
            out["project_id"] = r.json()["project"]["id"]
        r = await self.http.post("/v3/users", headers=self.admin,
                                 json={"user": {"name": name, "password": password}})
        assert r.status_code == 201, r.text
        out["user_id"] = r.json()["user"]["id"]
        if project:
            r = await self.http.get(f"/v3/roles?name={role}", headers=self.admin)
            role_id = r.json()["roles"][0]["id"]
            r = await self.http.put(
                f"/v3/projects/{out['project_id']}/users/{out['user_id']}/roles/{role_id}",
                headers=self.admin)
            assert r.status_code == 204, r.text
        return out


@pytest.fixture
async def keystone(cloud_config: Config) -> AsyncIterator[Keystone]:
    async with running(create_app(cloud_config)) as http:
        r = await http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        assert r.status_code == 201, r.text
        yield Keystone(http, r.headers["X-Subject-Token"])
