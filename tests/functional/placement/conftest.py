"""The placement service in-process beside Identity, on each database kind, with tokens of
the admin, of the `placement` service user bootstrap made, and of a project member."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url

from overcast.cli import bootstrap, db_upgrade
from overcast.common import service_users
from overcast.config import Config
from overcast.identity.app import create_app as identity_app
from overcast.placement.app import create_app as placement_app
from tests.functional.conftest import ADMIN_PASSWORD, _drop_database, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


@dataclass
class Placement:
    """A client of the in-process placement service; `mv` is the default microversion."""

    http: httpx.AsyncClient
    ks: Keystone
    tokens: dict[str, str]  # admin, service, member
    project_id: str  # the member's project
    mv: str = "latest"

    def headers(self, who: str = "admin", mv: str | None = None) -> dict[str, str]:
        h = {"X-Auth-Token": self.tokens[who]}
        version = mv or self.mv
        if version != "none":
            h["OpenStack-API-Version"] = f"placement {version}"
        return h

    async def req(self, method: str, path: str, *, who: str = "admin", mv: str | None = None,
                  **kw: Any) -> httpx.Response:
        return await self.http.request(method, path, headers=self.headers(who, mv), **kw)

    async def provider(self, name: str, parent: str | None = None, **inventory: int | dict[str, Any]
                       ) -> str:
        """A provider with `inventory` (class -> total, or class -> fields); its uuid."""
        body: dict[str, Any] = {"name": name}
        if parent:
            body["parent_provider_uuid"] = parent
        r = await self.req("POST", "/resource_providers", json=body)
        assert r.status_code == 200, r.text
        rp = r.json()["uuid"]
        if inventory:
            inv = {rc: (v if isinstance(v, dict) else {"total": v}) for rc, v in inventory.items()}
            r = await self.req("PUT", f"/resource_providers/{rp}/inventories", json={
                "resource_provider_generation": r.json()["generation"], "inventories": inv})
            assert r.status_code == 200, r.text
        return str(rp)

    async def generation(self, rp: str) -> int:
        r = await self.req("GET", f"/resource_providers/{rp}")
        assert r.status_code == 200, r.text
        return int(r.json()["generation"])

    async def claim(self, consumer: str, allocations: dict[str, dict[str, int]],
                    generation: int | None = None, consumer_type: str = "INSTANCE",
                    project_id: str | None = None) -> httpx.Response:
        return await self.req("PUT", f"/allocations/{consumer}", json={
            "allocations": {rp: {"resources": r} for rp, r in allocations.items()},
            "project_id": project_id or self.project_id, "user_id": "u1",
            "consumer_generation": generation, "consumer_type": consumer_type})


def error_code(r: httpx.Response) -> str:
    errors = r.json()["errors"]
    assert errors[0]["status"] == r.status_code
    return str(errors[0]["code"])


@pytest.fixture
async def placement_config(cloud_config: Config) -> AsyncIterator[Config]:
    identity_url = cloud_config.identity.database_url
    url = None
    if identity_url:
        url = make_url(identity_url).set(database=f"oc_pl_{uuid.uuid4().hex[:12]}")
        cloud_config.placement.database_url = url.render_as_string(hide_password=False)
    cloud_config.placement.enabled = True
    await db_upgrade(cloud_config, ["placement"])
    await bootstrap(cloud_config, ADMIN_PASSWORD)  # again, now with placement: its user
    try:
        yield cloud_config
    finally:
        if url is not None:
            await _drop_database(cloud_config.placement.database_url)


@pytest.fixture
async def placement(placement_config: Config) -> AsyncIterator[Placement]:
    ident = identity_app(placement_config)
    async with running(ident) as ks_http:
        r = await ks_http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        assert r.status_code == 201, r.text
        ks = Keystone(ks_http, r.headers["X-Subject-Token"])
        project_id = (await ks.make_user("alice", "alice-pw", "alpha", role="reader"))["project_id"]
        service_pw = service_users.password(placement_config.state_dir, "placement")
        tokens = {"admin": ks.admin_token,
                  "service": await ks.token("placement", service_pw, "service"),
                  "member": await ks.token("alice", "alice-pw", "alpha")}
        app = placement_app(placement_config, lambda: getattr(ident.state, "identity", None))
        async with running(app) as http:
            yield Placement(http, ks, tokens, project_id)
