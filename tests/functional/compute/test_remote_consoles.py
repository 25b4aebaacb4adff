"""Remote consoles through the API with the fake driver: POST /servers/{id}/remote-consoles
(2.6+), the pre-2.6 os-get*Console actions, console tokens shown to admins
(os-console-auth-tokens, 2.31+), and Nova's 400 / 404 / 409 / 501 where a console cannot be."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)


@pytest.fixture
async def cloud(compute_config: Config) -> AsyncIterator[Cloud]:
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw") as c:
        yield c


async def _server(c: Cloud) -> str:
    r = await c.http.post("/v2.1/servers", headers=mv("2.96", c.alice), json={"server": {
        "name": "vm-console", "imageRef": c.image, "flavorRef": "1", "networks": "none"}})
    assert r.status_code == 202, r.text
    sid = str(r.json()["server"]["id"])
    await _wait(c, sid, "ACTIVE")
    return sid


async def _wait(c: Cloud, sid: str, status: str) -> None:
    for _ in range(1500):
        r = await c.http.get(f"/v2.1/servers/{sid}", headers=mv("2.96", c.alice))
        body = r.json()["server"]
        if body["status"] == status and body["OS-EXT-STS:task_state"] is None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{sid} never reached {status}")


async def _console(c: Cloud, sid: str, protocol: str, kind: str, version: str = "2.6",
                   who: dict[str, str] | None = None) -> httpx.Response:
    return await c.http.post(f"/v2.1/servers/{sid}/remote-consoles",
                             headers=mv(version, who or c.alice),
                             json={"remote_console": {"protocol": protocol, "type": kind}})


def _token(url: str) -> str:
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    if "path" in query:  # noVNC: ?path=%3Ftoken%3D...
        query = parse_qs(urlparse(query["path"][0]).query)
    return query["token"][0]


async def _fault(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    (inner,) = r.json().values()
    return str(inner["message"])


async def test_novnc_and_serial_urls_carry_tokens_admins_can_show(cloud: Cloud) -> None:
    c = cloud
    sid = await _server(c)
    r = await _console(c, sid, "vnc", "novnc")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["remote_console"]
    assert body["protocol"] == "vnc" and body["type"] == "novnc"
    assert body["url"].startswith("http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3D")
    token = _token(body["url"])
    r = await c.http.get(f"/v2.1/os-console-auth-tokens/{token}", headers=mv("2.31", c.admin))
    assert r.status_code == 200, r.text
    assert r.json()["console"] == {"instance_uuid": sid, "host": "127.0.0.1", "port": 5900,
                                   "internal_access_path": None}
    # Admin only; before 2.31 only RDP tokens could be shown (Nova: 400); unknown: 404.
    r = await c.http.get(f"/v2.1/os-console-auth-tokens/{token}", headers=mv("2.31", c.alice))
    assert r.status_code == 403
    r = await c.http.get(f"/v2.1/os-console-auth-tokens/{token}", headers=mv("2.30", c.admin))
    assert r.status_code == 400
    r = await c.http.get("/v2.1/os-console-auth-tokens/not-a-token", headers=mv("2.31", c.admin))
    assert await _fault(r, 404) == "Token not found"

    r = await _console(c, sid, "serial", "serial")
    assert r.status_code == 200, r.text
    url = r.json()["remote_console"]["url"]
    assert url.startswith("ws://127.0.0.1:6083/?token=")
    r = await c.http.get(f"/v2.1/os-console-auth-tokens/{_token(url)}",
                         headers=mv("2.96", c.admin))
    assert r.json()["console"]["port"] == 10000

    # Two consoles, two tokens; a deleted server's tokens stop working.
    assert _token((await _console(c, sid, "vnc", "novnc")).json()["remote_console"]["url"]) \
        != token
    r = await c.http.delete(f"/v2.1/servers/{sid}", headers=c.alice)
    assert r.status_code == 204
    for _ in range(500):
        r = await c.http.get(f"/v2.1/os-console-auth-tokens/{token}", headers=mv("2.31", c.admin))
        if r.status_code == 404:
            break
        await asyncio.sleep(0.02)
    assert r.status_code == 404


async def test_the_pre_2_6_actions(cloud: Cloud) -> None:
    c = cloud
    sid = await _server(c)
    act = f"/v2.1/servers/{sid}/action"
    r = await c.http.post(act, headers=mv("2.5", c.alice),
                          json={"os-getVNCConsole": {"type": "novnc"}})
    assert r.status_code == 200, r.text
    assert r.json()["console"]["type"] == "novnc" and "token" in r.json()["console"]["url"]
    r = await c.http.post(act, headers=mv("2.1", c.alice),
                          json={"os-getSerialConsole": {"type": "serial"}})
    assert r.status_code == 200 and r.json()["console"]["url"].startswith("ws://")
    r = await c.http.post(act, headers=mv("2.1", c.alice),
                          json={"os-getVNCConsole": {"type": "spice-html5"}})
    assert r.status_code == 400
    r = await c.http.post(act, headers=mv("2.1", c.alice),
                          json={"os-getSPICEConsole": {"type": "spice-html5"}})
    assert await _fault(r, 400) == "Unavailable console type spice-html5."
    r = await c.http.post(act, headers=mv("2.1", c.alice), json={"os-getRDPConsole": {
        "type": "rdp-html5"}})
    assert r.status_code == 400
    # The actions end at 2.5, the resource begins at 2.6.
    r = await c.http.post(act, headers=mv("2.6", c.alice),
                          json={"os-getVNCConsole": {"type": "novnc"}})
    assert r.status_code == 404
    assert (await _console(c, sid, "vnc", "novnc", version="2.5")).status_code == 404


async def test_what_a_console_cannot_be(cloud: Cloud) -> None:
    c = cloud
    sid = await _server(c)
    assert await _fault(await _console(c, sid, "spice", "spice-html5"), 400) == \
        "Unavailable console type spice-html5."
    assert await _fault(await _console(c, sid, "rdp", "rdp-html5"), 400) == \
        "Unavailable console type rdp."
    assert await _fault(await _console(c, sid, "vnc", "serial"), 400) == \
        "Invalid console type serial"
    assert await _fault(await _console(c, sid, "vnc", "xvpvnc"), 400) == \
        "Invalid console type xvpvnc"
    assert (await _console(c, sid, "mks", "webmks", version="2.6")).status_code == 400
    assert (await _console(c, sid, "mks", "webmks", version="2.8")).status_code == 400
    assert (await _console(c, sid, "telnet", "novnc")).status_code == 400
    r = await c.http.post(f"/v2.1/servers/{sid}/remote-consoles", headers=mv("2.6", c.alice),
                          json={"remote_console": {"protocol": "vnc", "type": "novnc",
                                                   "extra": 1}})
    assert r.status_code == 400
    # Another project's server does not exist for bob.
    assert (await _console(c, sid, "vnc", "novnc", who=c.bob)).status_code == 404
    assert (await _console(c, "b6c8f3a2-1c1e-4d6e-9a59-0a4f7a1c2d3e", "vnc",
                           "novnc")).status_code == 404
    # A stopped guest has no console to give (the driver refuses): 409.
    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=mv("2.96", c.alice),
                          json={"os-stop": None})
    assert r.status_code == 202, r.text
    await _wait(c, sid, "SHUTOFF")
    msg = await _fault(await _console(c, sid, "vnc", "novnc"), 409)
    assert msg == f"Cannot 'get_vnc_console' instance {sid} while it is in vm_state stopped"
