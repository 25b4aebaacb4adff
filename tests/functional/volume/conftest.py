"""The block storage service in-process beside Identity, on SQLite, with the fake driver's
agent running in the API process (as `overcast up` runs it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from overcast.cli import bootstrap, db_upgrade
from overcast.identity.app import create_app as identity_app
from overcast.image.app import create_app as image_app
from overcast.volume.app import create_app as volume_app
from tests.functional.conftest import ADMIN_PASSWORD, make_config, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


@dataclass
class Cinder:
    http: httpx.AsyncClient
    admin: dict[str, str]
    alice: dict[str, str]  # member of project "alpha"
    bob: dict[str, str]  # member of project "beta"
    admin_project: str
    alpha: str
    beta: str
    glance: httpx.AsyncClient

    def url(self, who: dict[str, str], path: str) -> str:
        project = {id(self.admin): self.admin_project, id(self.alice): self.alpha,
                   id(self.bob): self.beta}[id(who)]
        return f"/v3/{project}/{path}"

    async def req(self, method: str, path: str, who: dict[str, str], body: Any = None,
                  version: str | None = None) -> httpx.Response:
        headers = dict(who)
        if version:
            headers["OpenStack-API-Version"] = f"volume {version}"
        return await self.http.request(method, self.url(who, path), headers=headers, json=body)

    async def ok(self, method: str, path: str, who: dict[str, str], body: Any = None,
                 status: int = 200, version: str | None = None) -> Any:
        r = await self.req(method, path, who, body, version)
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    async def fault(self, method: str, path: str, who: dict[str, str], status: int,
                    body: Any = None) -> str:
        r = await self.req(method, path, who, body)
        assert r.status_code == status, r.text
        (inner,) = r.json().values()
        assert inner["code"] == status
        return str(inner["message"])

    async def wait(self, who: dict[str, str], path: str, status: str | None,
                   key: str = "volume") -> dict[str, Any] | None:
        """Poll until the resource has `status` (None: until it is gone)."""
        for _ in range(200):
            r = await self.req("GET", path, who)
            if status is None and r.status_code == 404:
                return None
            if r.status_code == 200 and r.json()[key]["status"] == status:
                return r.json()[key]  # type: ignore[no-any-return]
            await asyncio.sleep(0.02)
        raise AssertionError(f"{path} never reached {status}: {r.text}")

    async def volume(self, who: dict[str, str], size: int = 1, **attrs: Any) -> dict[str, Any]:
        v = await self.ok("POST", "volumes", who, {"volume": {"size": size, **attrs}}, 202)
        out = await self.wait(who, f"volumes/{v['volume']['id']}", "available")
        assert out is not None
        return out


@pytest.fixture
async def cinder(tmp_path: Path) -> AsyncIterator[Cinder]:
    config = make_config(tmp_path, OVERCAST_VOLUME__ENABLED="true", OVERCAST_VOLUME__DRIVER="fake",
                         OVERCAST_VOLUME__HOST="testhost", OVERCAST_VOLUME__RESYNC_INTERVAL="0.5")
    await db_upgrade(config, ["identity", "image", "volume"])
    await bootstrap(config, ADMIN_PASSWORD)
    ident = identity_app(config)
    async with running(ident) as ks_http:
        r = await ks_http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        assert r.status_code == 201, r.text
        admin_project = r.json()["token"]["project"]["id"]
        ks = Keystone(ks_http, r.headers["X-Subject-Token"])
        alpha = (await ks.make_user("alice", "alice-pw", "alpha"))["project_id"]
        beta = (await ks.make_user("bob", "bob-pw", "beta"))["project_id"]
        alice = {"X-Auth-Token": await ks.token("alice", "alice-pw", "alpha")}
        bob = {"X-Auth-Token": await ks.token("bob", "bob-pw", "beta")}
        def local() -> Any:
            return getattr(ident.state, "identity", None)

        img = image_app(config, local)
        async with img.router.lifespan_context(img) as img_state:
            transport = httpx.ASGITransport(_with_state(img, dict(img_state or {})))
            app = volume_app(config, local)
            app.state.image_transport = transport
            async with running(app) as http, httpx.AsyncClient(
                    transport=transport, base_url="http://testserver") as glance:
                yield Cinder(http, ks.admin, alice, bob, admin_project, alpha, beta, glance)


def _with_state(app: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    async def call(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    return call
