"""The networking service in-process beside Identity, on each database kind."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url

from overcast.cli import db_upgrade
from overcast.config import Config
from overcast.identity.app import create_app as identity_app
from overcast.network.app import create_app as network_app
from tests.functional.conftest import ADMIN_PASSWORD, _drop_database, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


@dataclass
class Neutron:
    """A client of the in-process networking API, and tokens of three personas."""

    http: httpx.AsyncClient
    ks: Keystone
    admin: dict[str, str]
    alice: dict[str, str]  # member of project "alpha"
    bob: dict[str, str]  # member of project "beta"
    alpha: str
    beta: str

    async def req(self, method: str, path: str, who: dict[str, str], body: Any = None,
                  **kw: Any) -> httpx.Response:
        return await self.http.request(method, f"/v2.0/{path}", headers=who, json=body, **kw)

    async def make(self, who: dict[str, str], resource: str, path: str,
                   **attrs: Any) -> dict[str, Any]:
        r = await self.req("POST", path, who, {resource: attrs})
        assert r.status_code == 201, r.text
        return r.json()[resource]  # type: ignore[no-any-return]

    async def net(self, who: dict[str, str], **attrs: Any) -> dict[str, Any]:
        return await self.make(who, "network", "networks", **{"name": "n", **attrs})

    async def subnet(self, who: dict[str, str], network_id: str, cidr: str,
                     **attrs: Any) -> dict[str, Any]:
        return await self.make(who, "subnet", "subnets", network_id=network_id, cidr=cidr,
                               ip_version=6 if ":" in cidr else 4, **attrs)

    async def port(self, who: dict[str, str], network_id: str, **attrs: Any) -> dict[str, Any]:
        return await self.make(who, "port", "ports", network_id=network_id, **attrs)


@pytest.fixture
async def network_config(cloud_config: Config) -> AsyncIterator[Config]:
    identity_url = cloud_config.identity.database_url
    url = None
    if identity_url:
        url = make_url(identity_url).set(database=f"oc_net_{uuid.uuid4().hex[:12]}")
        cloud_config.network.database_url = url.render_as_string(hide_password=False)
    await db_upgrade(cloud_config, ["network"])
    try:
        yield cloud_config
    finally:
        if url is not None:
            await _drop_database(cloud_config.network.database_url)


@pytest.fixture
async def neutron(network_config: Config) -> AsyncIterator[Neutron]:
    ident = identity_app(network_config)
    async with running(ident) as ks_http:
        r = await ks_http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        assert r.status_code == 201, r.text
        ks = Keystone(ks_http, r.headers["X-Subject-Token"])
        alpha = (await ks.make_user("alice", "alice-pw", "alpha"))["project_id"]
        beta = (await ks.make_user("bob", "bob-pw", "beta"))["project_id"]
        tokens = {"alice": await ks.token("alice", "alice-pw", "alpha"),
                  "bob": await ks.token("bob", "bob-pw", "beta")}
        app = network_app(network_config, lambda: getattr(ident.state, "identity", None))
        async with running(app) as http:
            yield Neutron(http, ks, ks.admin, {"X-Auth-Token": tokens["alice"]},
                          {"X-Auth-Token": tokens["bob"]}, alpha, beta)
