"""The compute API in-process beside Identity, on each database kind."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url

from overcast.cli import db_upgrade
from overcast.common.db import Database
from overcast.compute.app import create_app as compute_app
from overcast.compute.hosts import Hosts
from overcast.config import Config
from overcast.identity.app import create_app as identity_app
from tests.functional.conftest import ADMIN_PASSWORD, _drop_database, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


def mv(version: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """`headers` asking for compute microversion `version` (as openstacksdk sends it)."""
    return {**(headers or {}), "OpenStack-API-Version": f"compute {version}"}


@dataclass
class Nova:
    """Clients of the in-process identity and compute services, and tokens of personas."""

    http: httpx.AsyncClient
    ks: Keystone
    admin: dict[str, str]
    alice: dict[str, str]  # member of project "alpha"
    bob: dict[str, str]  # member of project "beta"
    reader: dict[str, str]  # reader of project "alpha"
    alpha: str
    beta: str
    alice_id: str
    bob_id: str
    admin_project: str

    async def ok(self, method: str, path: str, who: dict[str, str], status: int = 200,
                 version: str | None = None, **kwargs: Any) -> Any:
        """The JSON answer of a request that must succeed with `status`."""
        headers = mv(version, who) if version else who
        r = await self.http.request(method, path, headers=headers, **kwargs)
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    async def fault(self, method: str, path: str, who: dict[str, str], status: int,
                    version: str | None = None, **kwargs: Any) -> str:
        """The message of a request that must fail with `status` in Nova's fault shape."""
        headers = mv(version, who) if version else who
        r = await self.http.request(method, path, headers=headers, **kwargs)
        assert r.status_code == status, r.text
        body = r.json()
        assert len(body) == 1, body
        (inner,) = body.values()
        assert inner["code"] == status, body
        return str(inner["message"])


@pytest.fixture
async def compute_config(cloud_config: Config) -> AsyncIterator[Config]:
    identity_url = cloud_config.identity.database_url
    url = None
    if identity_url:
        url = make_url(identity_url).set(database=f"oc_cmp_{uuid.uuid4().hex[:12]}")
        cloud_config.compute.database_url = url.render_as_string(hide_password=False)
    cloud_config.compute.enabled = True
    # The API tests register their own hosts; an agent named after this machine would join them.
    cloud_config.compute.run_agents = False
    await db_upgrade(cloud_config, ["compute"])
    try:
        yield cloud_config
    finally:
        if url is not None:
            await _drop_database(cloud_config.compute.database_url)


@pytest.fixture
async def nova(compute_config: Config) -> AsyncIterator[Nova]:
    ident = identity_app(compute_config)
    async with running(ident) as ks_http:
        r = await ks_http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        assert r.status_code == 201, r.text
        ks = Keystone(ks_http, r.headers["X-Subject-Token"])
        admin_project = r.json()["token"]["project"]["id"]
        alice = await ks.make_user("alice", "alice-pw", "alpha")
        bob = await ks.make_user("bob", "bob-pw", "beta")
        carol = await ks.make_user("carol", "carol-pw")
        r = await ks_http.get("/v3/roles?name=reader", headers=ks.admin)
        reader_role = r.json()["roles"][0]["id"]
        r = await ks_http.put(f"/v3/projects/{alice['project_id']}/users/{carol['user_id']}"
                              f"/roles/{reader_role}", headers=ks.admin)
        assert r.status_code == 204, r.text
        tokens = {"alice": await ks.token("alice", "alice-pw", "alpha"),
                  "bob": await ks.token("bob", "bob-pw", "beta"),
                  "carol": await ks.token("carol", "carol-pw", "alpha")}
        app = compute_app(compute_config, lambda: getattr(ident.state, "identity", None))
        async with running(app) as http:
            yield Nova(http, ks, ks.admin, {"X-Auth-Token": tokens["alice"]},
                       {"X-Auth-Token": tokens["bob"]}, {"X-Auth-Token": tokens["carol"]},
                       alice["project_id"], bob["project_id"], alice["user_id"],
                       bob["user_id"], admin_project)


@pytest.fixture
async def conductor(compute_config: Config) -> AsyncIterator[Hosts]:
    """The host registry on the compute database, as the conductor uses it for the agents."""
    db = Database(compute_config.database_url("compute"))
    try:
        yield Hosts(db, compute_config.compute)
    finally:
        await db.dispose()
