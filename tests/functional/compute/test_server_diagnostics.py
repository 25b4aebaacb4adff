"""GET /servers/{id}/diagnostics over the bus from the fake driver's agent: admin only, the
standard format from 2.48, libvirt's flat keys before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)

STANDARD = {"state", "driver", "hypervisor", "hypervisor_os", "uptime", "config_drive",
            "num_cpus", "num_nics", "num_disks", "memory_details", "cpu_details",
            "nic_details", "disk_details"}


@pytest.fixture
async def cloud(compute_config: Config) -> AsyncIterator[Cloud]:
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw") as c:
        yield c


async def test_diagnostics_standard_and_legacy(cloud: Cloud) -> None:
    a, http = cloud.alice, cloud.http
    r = await http.post("/v2.1/servers", headers=mv("2.96", a), json={"server": {
        "name": "vm", "imageRef": cloud.image, "flavorRef": "2", "networks": "none"}})
    sid = r.json()["server"]["id"]
    for _ in range(500):
        body = (await http.get(f"/v2.1/servers/{sid}", headers=mv("2.96", a))).json()["server"]
        if body["status"] == "ACTIVE" and body["OS-EXT-STS:task_state"] is None:
            break
        await asyncio.sleep(0.02)
    assert body["status"] == "ACTIVE"

    r = await http.get(f"/v2.1/servers/{sid}/diagnostics", headers=mv("2.48", a))
    assert r.status_code == 403, r.text
    r = await http.get(f"/v2.1/servers/{sid}/diagnostics", headers=mv("2.48", cloud.admin))
    assert r.status_code == 200, r.text
    d = r.json()
    assert set(d) == STANDARD
    assert (d["state"], d["driver"], d["num_cpus"]) == ("running", "libvirt", 1)
    assert d["memory_details"]["maximum"] == 2048 and d["num_disks"] == len(d["disk_details"])
    assert len(d["cpu_details"]) == 1 and d["config_drive"] is False
    assert set(d["disk_details"][0]) == {"read_bytes", "read_requests", "write_bytes",
                                         "write_requests", "errors_count"}

    r = await http.get(f"/v2.1/servers/{sid}/diagnostics", headers=mv("2.47", cloud.admin))
    old = r.json()
    assert old["memory"] == 2048 and "cpu0_time" in old and "vda_read" in old
    assert "state" not in old

    r = await http.post(f"/v2.1/servers/{sid}/action", headers=mv("2.96", a),
                        json={"os-stop": None})
    assert r.status_code == 202
    for _ in range(500):
        r = await http.get(f"/v2.1/servers/{sid}/diagnostics", headers=mv("2.48", cloud.admin))
        if r.json().get("state") == "shutdown":
            break
        await asyncio.sleep(0.02)
    assert r.json()["state"] == "shutdown"
    r = await http.get("/v2.1/servers/nope/diagnostics", headers=mv("2.48", cloud.admin))
    assert r.status_code == 404
