"""The image service in-process beside Identity, on each database kind."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url

from overcast.cli import db_upgrade
from overcast.config import Config
from overcast.identity.app import create_app as identity_app
from overcast.image.app import create_app as image_app
from tests.functional.conftest import ADMIN_PASSWORD, _drop_database, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


@dataclass
class Glance:
    """Clients of the in-process identity and image services, and tokens of three personas."""

    http: httpx.AsyncClient
    ks: Keystone
    admin: dict[str, str]
    alice: dict[str, str]  # member of project "alpha"
    bob: dict[str, str]  # member of project "beta"
    alpha: str
    beta: str

    async def create(self, who: dict[str, str], **body: Any) -> dict[str, Any]:
        r = await self.http.post("/v2/images", headers=who, json=body)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def patch(self, who: dict[str, str], image_id: str, ops: list[dict[str, Any]]
                    ) -> httpx.Response:
        return await self.http.patch(
            f"/v2/images/{image_id}", headers={
                **who, "Content-Type": "application/openstack-images-v2.1-json-patch"},
            json=ops)

    async def poll(self, path: str, who: dict[str, str], done: Callable[[Any], bool],
                   seconds: float = 10) -> Any:
        """GET `path` until `done(body)` (background imports and copies); the last body."""
        deadline = time.monotonic() + seconds
        while True:
            body = (await self.http.get(path, headers=who)).json()
            if done(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} never got there: {body}")
            await asyncio.sleep(0.05)

    async def upload(self, who: dict[str, str], image_id: str, data: bytes) -> httpx.Response:
        return await self.http.put(f"/v2/images/{image_id}/file", content=data, headers={
            **who, "Content-Type": "application/octet-stream"})


@pytest.fixture
async def image_config(cloud_config: Config) -> AsyncIterator[Config]:
    identity_url = cloud_config.identity.database_url
    url = None
    if identity_url:
        url = make_url(identity_url).set(database=f"oc_img_{uuid.uuid4().hex[:12]}")
        cloud_config.image.database_url = url.render_as_string(hide_password=False)
    await db_upgrade(cloud_config, ["image"])
    try:
        yield cloud_config
    finally:
        if url is not None:
            await _drop_database(cloud_config.image.database_url)


@pytest.fixture
async def glance(image_config: Config, request: pytest.FixtureRequest) -> AsyncIterator[Glance]:
    marker = request.node.get_closest_marker("image_stores")
    if marker is not None:  # more file stores besides "file", in the state directory
        image_config.image.extra_stores = ",".join(
            f"{sid}={image_config.state_dir / ('store-' + sid)}" for sid in marker.args)
    ident = identity_app(image_config)
    async with running(ident) as ks_http:
        r = await ks_http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        assert r.status_code == 201, r.text
        ks = Keystone(ks_http, r.headers["X-Subject-Token"])
        alpha = (await ks.make_user("alice", "alice-pw", "alpha"))["project_id"]
        beta = (await ks.make_user("bob", "bob-pw", "beta"))["project_id"]
        tokens = {"alice": await ks.token("alice", "alice-pw", "alpha"),
                  "bob": await ks.token("bob", "bob-pw", "beta")}
        app = image_app(image_config, lambda: getattr(ident.state, "identity", None))
        async with running(app) as http:
            # openstacksdk and the openstack CLI ask for JSON; glanceclient's */* gets HTML
            # error pages (test_error_pages_follow_accept).
            http.headers["Accept"] = "application/json"
            yield Glance(http, ks, ks.admin, {"X-Auth-Token": tokens["alice"]},
                         {"X-Auth-Token": tokens["bob"]}, alpha, beta)
