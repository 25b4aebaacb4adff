"""OS-DCF:diskConfig (Nova's disk config extension) through the API with the fake driver:
given on create, update, rebuild and resize, kept on the server and echoed as Nova does
(MANUAL by default); anything but AUTO or MANUAL is Nova's 400, and so is AUTO on an image
whose auto_disk_config property is "disabled". Also the server's
os-security-groups without Networking: no ports, so an empty list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)

DCF = "OS-DCF:diskConfig"


@pytest.fixture
async def cloud(compute_config: Config) -> AsyncIterator[Cloud]:
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw") as c:
        yield c


async def _wait(c: Cloud, sid: str, status: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(1500):
        r = await c.http.get(f"/v2.1/servers/{sid}", headers=mv("2.96", c.alice))
        body = r.json().get("server", {})
        if body.get("status") == status and body.get("OS-EXT-STS:task_state") is None:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"{sid} did not reach {status}: {body}")


async def _create(c: Cloud, status: int = 202, **extra: Any) -> Any:
    r = await c.http.post("/v2.1/servers", headers=mv("2.96", c.alice), json={"server": {
        "name": "vm", "imageRef": c.image, "flavorRef": "1", "networks": "none", **extra}})
    assert r.status_code == status, r.text
    return r.json()


async def _act(c: Cloud, sid: str, body: dict[str, Any], status: int = 202) -> Any:
    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=mv("2.96", c.alice),
                          json=body)
    assert r.status_code == status, r.text
    return r.json() if r.content else None


async def test_disk_config_on_create_update_rebuild_and_resize(cloud: Cloud) -> None:
    c = cloud
    # Nova's default is MANUAL; AUTO is kept and shown everywhere the server is.
    plain = (await _create(c))["server"]
    assert plain[DCF] == "MANUAL"
    created = (await _create(c, **{DCF: "AUTO"}))["server"]
    assert created[DCF] == "AUTO"
    sid = created["id"]
    assert (await _wait(c, sid, "ACTIVE"))[DCF] == "AUTO"
    assert (await _wait(c, plain["id"], "ACTIVE"))[DCF] == "MANUAL"
    r = await c.http.get("/v2.1/servers/detail", headers=c.alice)
    assert {s["id"]: s[DCF] for s in r.json()["servers"]} == {sid: "AUTO",
                                                              plain["id"]: "MANUAL"}
    # Update (tempest test_update_server_from_auto_to_manual).
    r = await c.http.put(f"/v2.1/servers/{sid}", headers=c.alice,
                         json={"server": {DCF: "MANUAL"}})
    assert r.status_code == 200, r.text
    assert r.json()["server"][DCF] == "MANUAL"
    assert (await _wait(c, sid, "ACTIVE"))[DCF] == "MANUAL"
    # Rebuild (test_rebuild_server_with_auto_disk_config): the answer and the server.
    rebuilt = (await _act(c, sid, {"rebuild": {"imageRef": c.image, DCF: "AUTO"}}))["server"]
    assert rebuilt[DCF] == "AUTO"
    assert (await _wait(c, sid, "ACTIVE"))[DCF] == "AUTO"
    # A rebuild without it keeps what the server has.
    await _act(c, sid, {"rebuild": {"imageRef": c.image}})
    assert (await _wait(c, sid, "ACTIVE"))[DCF] == "AUTO"
    # Resize to MANUAL, then confirm.
    await _act(c, sid, {"resize": {"flavorRef": "2", DCF: "MANUAL"}})
    assert (await _wait(c, sid, "VERIFY_RESIZE"))[DCF] == "MANUAL"
    await _act(c, sid, {"confirmResize": None}, status=204)
    assert (await _wait(c, sid, "ACTIVE"))[DCF] == "MANUAL"


async def test_bad_disk_config_is_a_400_and_no_networking_means_no_groups(cloud: Cloud
                                                                          ) -> None:
    c = cloud
    body = await _create(c, status=400, **{DCF: "auto"})
    assert "OS-DCF:diskConfig" in body["badRequest"]["message"]
    sid = (await _create(c))["server"]["id"]
    await _wait(c, sid, "ACTIVE")
    r = await c.http.put(f"/v2.1/servers/{sid}", headers=c.alice,
                         json={"server": {DCF: "SOMETIMES"}})
    assert r.status_code == 400, r.text
    await _act(c, sid, {"rebuild": {"imageRef": c.image, DCF: ""}}, status=400)
    await _act(c, sid, {"resize": {"flavorRef": "2", DCF: 1}}, status=400)
    # Nothing was changed by the refused requests.
    body = await _wait(c, sid, "ACTIVE")
    assert body[DCF] == "MANUAL" and body["flavor"]["original_name"] == "m1.tiny"
    # An image that disables it refuses AUTO on create, rebuild and resize (Nova's
    # AutoDiskConfigDisabledByImage); MANUAL still boots.
    r = await c.glance.patch(f"/v2/images/{c.image}", json=[
        {"op": "add", "path": "/auto_disk_config", "value": "Disabled"}], headers={
        **c.admin, "Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert r.status_code == 200, r.text
    body = await _create(c, status=400, **{DCF: "AUTO"})
    assert "automatic disk resize disabled" in body["badRequest"]["message"]
    await _act(c, sid, {"rebuild": {"imageRef": c.image, DCF: "AUTO"}}, status=400)
    other = (await _create(c, **{DCF: "MANUAL"}))["server"]["id"]
    await _wait(c, other, "ACTIVE")
    await _act(c, other, {"resize": {"flavorRef": "2", DCF: "AUTO"}}, status=400)
    # os-security-groups: no Networking, no ports, no groups; other projects get a 404.
    r = await c.http.get(f"/v2.1/servers/{sid}/os-security-groups", headers=c.alice)
    assert r.status_code == 200, r.text
    assert r.json() == {"security_groups": []}
    r = await c.http.get(f"/v2.1/servers/{sid}/os-security-groups", headers=c.bob)
    assert r.status_code == 404, r.text
    assert "itemNotFound" in r.json()
