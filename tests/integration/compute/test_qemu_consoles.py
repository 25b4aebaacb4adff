"""Consoles of a real QEMU (TCG) guest booted through the Compute API: `remote-consoles`
novnc gives a token, the noVNC proxy joins a websocket to QEMU's VNC socket and the RFB
handshake comes through; the QEMU driver has no interactive serial port: serial is a 501."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import uvicorn
from websockets.asyncio.client import connect

from overcast.cli import bootstrap, db_upgrade
from overcast.compute.console_proxy.app import create_app as proxy_app
from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud
from tests.functional.conftest import ADMIN_PASSWORD, make_config
from tests.helpers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def qemu_cloud(tmp_path: Path, guest: dict[str, Path]) -> AsyncIterator[tuple[Cloud, Config]]:
    config = make_config(tmp_path, OVERCAST_COMPUTE__ENABLED="true",
                         OVERCAST_NOVNCPROXY__PORT=str(free_port()))
    await db_upgrade(config, ["identity", "compute"])
    await bootstrap(config, ADMIN_PASSWORD)
    async with servers_cloud(config, driver="qemu", hosts=0,
                             image=guest["qcow2"].read_bytes(), disk_format="qcow2") as c:
        yield c, config


async def test_novnc_through_the_proxy_to_qemu(qemu_cloud: tuple[Cloud, Config]) -> None:
    c, config = qemu_cloud
    r = await c.http.post("/v2.1/servers", headers=mv("2.96", c.alice), json={"server": {
        "name": "vm-vnc", "imageRef": c.image, "flavorRef": "1", "networks": "none"}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    for _ in range(360):
        body = (await c.http.get(f"/v2.1/servers/{sid}", headers=c.alice)).json()["server"]
        if body["status"] in ("ACTIVE", "ERROR"):
            break
        await asyncio.sleep(0.5)
    assert body["status"] == "ACTIVE", body

    r = await c.http.post(f"/v2.1/servers/{sid}/remote-consoles", headers=mv("2.6", c.alice),
                          json={"remote_console": {"protocol": "serial", "type": "serial"}})
    assert r.status_code == 501, r.text

    r = await c.http.post(f"/v2.1/servers/{sid}/remote-consoles", headers=mv("2.6", c.alice),
                          json={"remote_console": {"protocol": "vnc", "type": "novnc"}})
    assert r.status_code == 200, r.text
    url = r.json()["remote_console"]["url"]
    assert url.startswith(f"http://127.0.0.1:{config.novncproxy.port}/vnc_auto.html")
    token = parse_qs(urlparse(parse_qs(urlparse(url).query)["path"][0]).query)["token"][0]
    r = await c.http.get(f"/v2.1/os-console-auth-tokens/{token}", headers=mv("2.31", c.admin))
    assert r.json()["console"]["internal_access_path"].endswith("vnc.sock")

    server = uvicorn.Server(uvicorn.Config(proxy_app(config), host="127.0.0.1",
                                           port=config.novncproxy.port, log_config=None))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done()
            await asyncio.sleep(0.05)
        async with connect(f"ws://127.0.0.1:{config.novncproxy.port}/websockify?token={token}",
                           subprotocols=["binary"]) as ws:  # type: ignore[list-item]
            version = await ws.recv()
            assert isinstance(version, bytes) and version.startswith(b"RFB 003.")
            await ws.send(b"RFB 003.008\n")
            types = await ws.recv()
            assert isinstance(types, bytes) and types[0] >= 1  # security types offered
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
    r = await c.http.delete(f"/v2.1/servers/{sid}", headers=c.alice)
    assert r.status_code == 204
    # The delete is asynchronous: wait until the agent has destroyed the guest, or the QEMU
    # process outlives the test (guests survive their agent, on purpose).
    for _ in range(120):
        if (await c.http.get(f"/v2.1/servers/{sid}", headers=c.alice)).status_code == 404:
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError(f"server {sid} not deleted in 60 s")
