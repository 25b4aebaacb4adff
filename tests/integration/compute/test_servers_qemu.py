"""A real QEMU (TCG) guest booted through the Compute API: in-process Identity, Image and
Compute with the QEMU driver; the guest image uploaded to the Image service and fetched by the
agent into its cache; ACTIVE, the console log shows the guest's banner, stop/start/reboot and
delete drive the real VM. Bounded: each wait has a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from overcast.cli import bootstrap, db_upgrade
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud
from tests.functional.conftest import ADMIN_PASSWORD, make_config

pytestmark = pytest.mark.integration

BANNER = "overcast-guest ready"


@pytest.fixture
async def qemu_cloud(tmp_path: Path, guest: dict[str, Path]) -> AsyncIterator[Cloud]:
    config = make_config(tmp_path, OVERCAST_COMPUTE__ENABLED="true",
                         OVERCAST_COMPUTE__SHUTDOWN_TIMEOUT="30")
    await db_upgrade(config, ["identity", "compute"])
    await bootstrap(config, ADMIN_PASSWORD)
    async with servers_cloud(config, driver="qemu", hosts=0,
                             image=guest["qcow2"].read_bytes(), disk_format="qcow2") as c:
        yield c


async def _wait(c: Cloud, sid: str, status: str, seconds: float) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    body: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        r = await c.http.get(f"/v2.1/servers/{sid}", headers=mv("2.96", c.alice))
        if r.status_code == 404 and status == "DELETED":
            return {}
        body = r.json()["server"]
        if body["status"] == "ERROR":
            raise AssertionError(f"server went to ERROR: {body.get('fault')}")
        if body["status"] == status and body["OS-EXT-STS:task_state"] is None:
            return body
        await asyncio.sleep(0.5)
    raise AssertionError(f"server {sid} not {status} in {seconds} s: {body}")


async def _console(c: Cloud, sid: str) -> str:
    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=c.alice,
                          json={"os-getConsoleOutput": {"length": -1}})
    assert r.status_code == 200, r.text
    return str(r.json()["output"])


async def _banner(c: Cloud, sid: str, seconds: float, count: int = 1) -> str:
    deadline = asyncio.get_running_loop().time() + seconds
    out = ""
    while asyncio.get_running_loop().time() < deadline:
        out = await _console(c, sid)
        if out.count(BANNER) >= count:
            return out
        await asyncio.sleep(1.0)
    raise AssertionError(f"no guest banner #{count} in {seconds} s; console:\n{out[-2000:]}")


async def test_a_qemu_guest_boots_through_the_api(qemu_cloud: Cloud) -> None:
    c = qemu_cloud
    r = await c.http.post("/v2.1/servers", headers=mv("2.96", c.alice), json={"server": {
        "name": "vm1", "imageRef": c.image, "flavorRef": "1", "networks": "none",
        "config_drive": True}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    body = await _wait(c, sid, "ACTIVE", 180)
    assert body["OS-EXT-STS:power_state"] == 1
    out = await _banner(c, sid, 120)
    assert "hostname: vm1" in out or "vm1" in out

    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=c.alice, json={"os-stop": None})
    assert r.status_code == 202
    body = await _wait(c, sid, "SHUTOFF", 90)
    assert body["OS-EXT-STS:power_state"] == 4

    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=c.alice,
                          json={"os-start": None})
    assert r.status_code == 202
    await _wait(c, sid, "ACTIVE", 90)
    await _banner(c, sid, 120, count=1)

    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=c.alice,
                          json={"reboot": {"type": "HARD"}})
    assert r.status_code == 202
    await _wait(c, sid, "ACTIVE", 90)

    r = await c.http.delete(f"/v2.1/servers/{sid}", headers=c.alice)
    assert r.status_code == 204
    await _wait(c, sid, "DELETED", 60)
