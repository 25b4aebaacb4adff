"""An in-process cloud for the servers tests: Identity, Image and Compute apps (ASGI, no
sockets), the memory bus, the conductor, the scheduler and the compute agents of the chosen
driver; alice (project alpha) and bob (project beta) as members, one active image of alice's.
With `network=True` the Networking app runs too and Compute reaches it (and Identity, as the
nova service user) through ASGI transports: servers get ports.
Used by tests/functional/compute/test_servers.py (fake driver) and
tests/integration/compute/test_servers_qemu.py (the QEMU driver, the real guest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from overcast.cli import bootstrap, db_upgrade
from overcast.compute.app import create_app as compute_app
from overcast.config import Config
from overcast.identity.app import create_app as identity_app
from overcast.image.app import create_app as image_app
from overcast.network.app import create_app as network_app
from tests.functional.conftest import ADMIN_PASSWORD, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


@dataclass
class Cloud:
    http: httpx.AsyncClient
    alice: dict[str, str]
    bob: dict[str, str]
    admin: dict[str, str]
    image: str
    glance: httpx.AsyncClient
    neutron: httpx.AsyncClient | None = None


def _with_state(app: FastAPI, state: Any) -> Any:
    async def call(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "state": dict(state or {})}, receive, send)
    return call


async def _flavors(config: Config) -> None:
    from overcast.compute.manage import bootstrap_flavors

    await bootstrap_flavors(config)


@asynccontextmanager
async def servers_cloud(config: Config, *, driver: str, hosts: int, image: bytes,
                        disk_format: str, network: bool = False) -> AsyncIterator[Cloud]:
    config.compute.driver = driver
    config.compute.simulated_hosts = hosts
    config.compute.run_agents = True
    config.compute.resync_interval = 0.5
    # No Placement runs in this cloud: the scheduler keeps its own ledger (no failed detour).
    config.placement.enabled = False
    config.network.enabled = network
    await db_upgrade(config, ["image", *(["network"] if network else [])])
    if network:
        await bootstrap(config, ADMIN_PASSWORD)  # the nova user, now that compute is on
    ident = identity_app(config)

    def local() -> Any:
        return getattr(ident.state, "identity", None)

    img = image_app(config, local)
    net = network_app(config, local)
    async with ident.router.lifespan_context(ident) as ident_state, \
            img.router.lifespan_context(img) as img_state, AsyncExitStack() as stack:
        net_state = await stack.enter_async_context(net.router.lifespan_context(net)) \
            if network else None
        ks_http = httpx.AsyncClient(transport=httpx.ASGITransport(_with_state(ident, ident_state)),
                                    base_url="http://testserver")
        r = await ks_http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        ks = Keystone(ks_http, r.headers["X-Subject-Token"])
        await ks.make_user("alice", "alice-pw", "alpha")
        await ks.make_user("bob", "bob-pw", "beta")
        alice = {"X-Auth-Token": await ks.token("alice", "alice-pw", "alpha")}
        bob = {"X-Auth-Token": await ks.token("bob", "bob-pw", "beta")}
        glance = httpx.AsyncClient(transport=httpx.ASGITransport(_with_state(img, img_state)),
                                   base_url="http://testserver")
        r = await glance.post("/v2/images", headers=alice, json={
            "name": "cirros", "disk_format": disk_format, "container_format": "bare",
            "min_ram": 64})
        assert r.status_code == 201, r.text
        image_id = r.json()["id"]
        r = await glance.put(f"/v2/images/{image_id}/file", content=image, headers={
            **alice, "Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text
        await _flavors(config)
        app = compute_app(config, local)
        app.state.image_transport = httpx.ASGITransport(_with_state(img, img_state))
        neutron = None
        if network:
            app.state.network_transport = httpx.ASGITransport(_with_state(net, net_state))
            app.state.identity_transport = httpx.ASGITransport(_with_state(ident, ident_state))
            neutron = httpx.AsyncClient(transport=httpx.ASGITransport(
                _with_state(net, net_state)), base_url="http://testserver")
        async with running(app) as http:
            yield Cloud(http, alice, bob, ks.admin, image_id, glance, neutron)
        if neutron is not None:
            await neutron.aclose()
        await glance.aclose()
        await ks_http.aclose()
