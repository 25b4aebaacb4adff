"""The noVNC console proxy (compute/console_proxy/): a console URL's token opens a websocket
joined to the guest's VNC server, and the RFB handshake runs through it; a bad token is
refused. The fake driver's VNC address is pretend, so the token is pointed at a small RFB
server of this test's own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from overcast.common.db import Database
from overcast.compute.console_proxy.app import create_app as proxy_app
from overcast.compute.guest_access_models import ConsoleAuthToken
from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import servers_cloud
from tests.helpers import free_port

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)


async def _rfb_server() -> tuple[asyncio.Server, list[bytes]]:
    """Speaks the first steps of RFB 3.8: version, then one security type (None)."""
    got: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"RFB 003.008\n")
        await writer.drain()
        got.append(await reader.readexactly(12))
        writer.write(b"\x01\x01")
        await writer.drain()
        got.append(await reader.readexactly(1))
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0), got


@contextlib.asynccontextmanager
async def _serving(config: Config) -> AsyncIterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(proxy_app(config), host="127.0.0.1", port=port,
                                           log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
        assert not task.done()
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def test_rfb_handshake_through_the_proxy(compute_config: Config) -> None:
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw") as c:
        r = await c.http.post("/v2.1/servers", headers=mv("2.96", c.alice), json={"server": {
            "name": "vm-vnc", "imageRef": c.image, "flavorRef": "1", "networks": "none"}})
        sid = r.json()["server"]["id"]
        for _ in range(1500):
            r = await c.http.get(f"/v2.1/servers/{sid}", headers=c.alice)
            if r.json()["server"]["status"] == "ACTIVE":
                break
            await asyncio.sleep(0.02)
        rfb, got = await _rfb_server()
        rfb_port = rfb.sockets[0].getsockname()[1]
        async with _serving(compute_config) as port:
            compute_config.novncproxy.port = port
            r = await c.http.post(f"/v2.1/servers/{sid}/remote-consoles",
                                  headers=mv("2.6", c.alice),
                                  json={"remote_console": {"protocol": "vnc", "type": "novnc"}})
            url = r.json()["remote_console"]["url"]
            token = parse_qs(urlparse(parse_qs(urlparse(url).query)["path"][0]).query)["token"][0]
            db = Database(compute_config.database_url("compute"))
            try:
                async with db.transaction() as s:
                    await s.execute(update(ConsoleAuthToken).values(port=rfb_port))
            finally:
                await db.dispose()

            async with connect(f"ws://127.0.0.1:{port}/?token={token}",
                               subprotocols=["binary"]) as ws:  # type: ignore[list-item]
                assert ws.subprotocol == "binary"
                assert await ws.recv() == b"RFB 003.008\n"
                await ws.send(b"RFB 003.008\n")
                assert await ws.recv() == b"\x01\x01"
                await ws.send(b"\x01")
                # The VNC server hung up: the proxy closes the websocket.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await ws.recv()
            assert got == [b"RFB 003.008\n", b"\x01"]

            for bad in ("not-a-token", ""):
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(f"ws://127.0.0.1:{port}/websockify?token={bad}"):
                        pass
                assert refused.value.response.status_code == 403
            # The noVNC pages, from Debian's novnc when it is installed (scripts/apt-packages.txt).
            page = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/vnc_auto.html")
            if await asyncio.to_thread(Path(compute_config.novncproxy.web, "vnc.html").exists):
                assert page.status_code == 200 and b"noVNC" in page.content
            else:
                assert page.status_code == 404
            escape = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/..%2F..%2Fetc/passwd")
            assert escape.status_code == 404
        rfb.close()


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)
