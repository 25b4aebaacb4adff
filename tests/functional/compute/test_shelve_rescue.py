"""Shelve, shelveOffload, unshelve, rescue and unrescue through the API, with the fake driver
on two simulated hosts: Nova's states (SHELVED, SHELVED_OFFLOADED, RESCUE), the shelved image
in the Image service, the host freed by an offload and taken again by the unshelve, the
instance actions, and the 409s of actions the state does not allow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)


@pytest.fixture
async def cloud(compute_config: Config) -> AsyncIterator[Cloud]:
    async with servers_cloud(compute_config, driver="fake", hosts=2, image=b"x" * 4096,
                             disk_format="raw") as c:
        yield c


async def _wait(c: Cloud, server_id: str, status: str, who: dict[str, str] | None = None
                ) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(1500):
        r = await c.http.get(f"/v2.1/servers/{server_id}", headers=mv("2.96", who or c.admin))
        body = r.json()["server"]
        if body["status"] == status and body["OS-EXT-STS:task_state"] is None:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"{server_id} did not reach {status}: {body}")


async def _act(c: Cloud, sid: str, body: dict[str, Any], status: int = 202,
               who: dict[str, str] | None = None) -> Any:
    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=who or c.alice, json=body)
    assert r.status_code == status, r.text
    return r.json() if r.content else None


async def _server(c: Cloud) -> str:
    r = await c.http.post("/v2.1/servers", headers=c.alice, json={"server": {
        "name": "vm1", "imageRef": c.image, "flavorRef": "1", "networks": "none"}})
    assert r.status_code == 202, r.text
    sid = str(r.json()["server"]["id"])
    await _wait(c, sid, "ACTIVE")
    return sid


async def _shelved_images(c: Cloud) -> list[dict[str, Any]]:
    r = await c.glance.get("/v2/images?name=vm1-shelved", headers=c.alice)
    return list(r.json()["images"])


async def test_shelve_offloads_and_unshelve_boots_from_the_shelved_image(cloud: Cloud) -> None:
    c = cloud
    sid = await _server(c)
    await _act(c, sid, {"pause": {}})
    await _wait(c, sid, "PAUSED")
    await _act(c, sid, {"shelve": {}})
    # [compute] shelved_offload_time = 0 (Nova's default): off its host at once
    body = await _wait(c, sid, "SHELVED_OFFLOADED")
    assert body["OS-EXT-STS:vm_state"] == "shelved_offloaded"
    assert body["OS-EXT-SRV-ATTR:host"] is None and body["OS-EXT-STS:power_state"] == 0
    (image,) = await _shelved_images(c)
    assert image["status"] == "active" and image["instance_uuid"] == sid
    # nothing but unshelve (and delete) from here
    err = await _act(c, sid, {"os-start": None}, status=409)
    assert "shelved_offloaded" in err["conflictingRequest"]["message"]
    await _act(c, sid, {"shelve": {}}, status=409)
    await _act(c, sid, {"unshelve": None})
    body = await _wait(c, sid, "ACTIVE")
    assert body["OS-EXT-SRV-ATTR:host"] and body["OS-EXT-STS:power_state"] == 1
    assert await _shelved_images(c) == []  # deleted once the server runs again
    r = await c.http.get(f"/v2.1/servers/{sid}/os-instance-actions", headers=c.alice)
    actions = [a["action"] for a in r.json()["instanceActions"]]
    assert actions[:2] == ["unshelve", "shelve"]


async def test_a_shelved_server_stays_until_offloaded(compute_config: Config) -> None:
    # an operator who keeps shelved servers on their host until asked
    compute_config.compute.shelved_offload_time = -1
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw") as c:
        sid = await _server(c)
        await _act(c, sid, {"shelve": None})
        body = await _wait(c, sid, "SHELVED")
        assert body["OS-EXT-SRV-ATTR:host"] and body["OS-EXT-STS:power_state"] == 4
        await _act(c, sid, {"shelveOffload": None}, status=403)  # admins only
        await _act(c, sid, {"shelveOffload": None}, who=c.admin)
        body = await _wait(c, sid, "SHELVED_OFFLOADED")
        assert body["OS-EXT-SRV-ATTR:host"] is None
        await _act(c, sid, {"unshelve": None})
        await _wait(c, sid, "ACTIVE")
        # the same from SHELVED: it powers on where it is
        await _act(c, sid, {"shelve": None})
        await _wait(c, sid, "SHELVED")
        await _act(c, sid, {"unshelve": None})
        body = await _wait(c, sid, "ACTIVE")
        assert body["OS-EXT-STS:power_state"] == 1


async def test_rescue_and_unrescue(cloud: Cloud) -> None:
    c = cloud
    sid = await _server(c)
    out = await _act(c, sid, {"rescue": {"adminPass": "s3cret-Pass"}}, status=200)
    assert out == {"adminPass": "s3cret-Pass"}
    body = await _wait(c, sid, "RESCUE")
    assert body["OS-EXT-STS:vm_state"] == "rescued"
    # a rescued server refuses what Nova refuses (reboot, rebuild, pause, rescue)
    for refused in ({"reboot": {"type": "HARD"}}, {"pause": None}, {"rescue": None},
                    {"rebuild": {"imageRef": c.image}}):
        err = await _act(c, sid, refused, status=409)
        assert "rescued" in err["conflictingRequest"]["message"]
    await _act(c, sid, {"unrescue": None})
    await _wait(c, sid, "ACTIVE")
    await _act(c, sid, {"unrescue": None}, status=409)
    err = await _act(c, "00000000-0000-0000-0000-000000000000", {"rescue": None}, status=404)
    assert "could not be found" in err["itemNotFound"]["message"]
    await _act(c, sid, {"pause": None})
    await _wait(c, sid, "PAUSED")
    await _act(c, sid, {"rescue": None}, status=409)  # a paused server cannot be rescued
    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=c.bob, json={"rescue": None})
    assert r.status_code == 404  # another project's server

