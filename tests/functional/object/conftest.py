"""Object storage in-process beside Identity: the proxy, its three-device storage node in the
same process (the all-in-one), and tokens of three personas."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from overcast.cli import bootstrap, db_upgrade
from overcast.config import Config
from overcast.identity.app import create_app as identity_app
from overcast.object.app import create_app as object_app
from tests.functional.conftest import ADMIN_PASSWORD, make_config, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


@dataclass
class Swift:
    """A client of the in-process proxy; `alice` owns AUTH_<alpha>, `bob` AUTH_<beta>."""

    http: httpx.AsyncClient
    ks: Keystone
    config: Config
    app: object
    alice: dict[str, str]
    bob: dict[str, str]
    admin: dict[str, str]
    alpha: str
    beta: str
    alice_id: str
    bob_id: str

    @property
    def a(self) -> str:
        """Alice's account URL path."""
        return f"/v1/AUTH_{self.alpha}"

    @property
    def b(self) -> str:
        return f"/v1/AUTH_{self.beta}"

    async def account_settled(self, account: str, who: dict[str, str], header: str,
                              value: str, seconds: float = 15.0) -> None:
        """Wait until the account's HEAD shows `header: value`: containers report their counts
        to the account shortly after a change (asynchronously, as Swift), later on a busy
        machine. Fails with what the account last said."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            r = await self.http.head(account, headers=who)
            if r.headers.get(header) == value:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{header}: {r.headers.get(header)!r}, not {value!r}")
            await asyncio.sleep(0.1)

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[str]:
        """The same proxy on a loopback socket (an ephemeral port), for clients that speak
        HTTP themselves (python-swiftclient, the `swift` CLI); yields its base URL."""
        transport = self.http._transport
        assert isinstance(transport, httpx.ASGITransport)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(transport.app, lifespan="off",
                                               log_level="warning"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, no event
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task
            sock.close()

    async def put(self, path: str, data: bytes = b"", who: dict[str, str] | None = None, /,
                  **headers: str) -> httpx.Response:
        return await self.http.put(path, content=data, headers={**(who or self.alice),
                                                                 **headers})


async def object_config(tmp_path: Path, **overrides: str) -> Config:
    config = make_config(tmp_path, OVERCAST_OBJECT__ENABLED="true",
                         OVERCAST_OBJECT__DAEMONS="false", **overrides)
    await db_upgrade(config, ["identity"])
    await bootstrap(config, ADMIN_PASSWORD)
    return config


@pytest.fixture
async def swift(tmp_path: Path) -> AsyncIterator[Swift]:
    config = await object_config(tmp_path)
    ident = identity_app(config)
    async with running(ident) as ks_http:
        r = await ks_http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        assert r.status_code == 201, r.text
        ks = Keystone(ks_http, r.headers["X-Subject-Token"])
        alice = await ks.make_user("alice", "alice-pw", "alpha")
        bob = await ks.make_user("bob", "bob-pw", "beta")
        tokens = {"alice": await ks.token("alice", "alice-pw", "alpha"),
                  "bob": await ks.token("bob", "bob-pw", "beta")}
        app = object_app(config, lambda: getattr(ident.state, "identity", None))
        async with running(app) as http:
            yield Swift(http, ks, config, app, {"X-Auth-Token": tokens["alice"]},
                        {"X-Auth-Token": tokens["bob"]}, ks.admin, alice["project_id"],
                        bob["project_id"], alice["user_id"], bob["user_id"])
