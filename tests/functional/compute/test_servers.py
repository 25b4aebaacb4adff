"""Servers through the API with the fake driver: in-process compute beside Identity and
Image, the memory bus, the conductor, the scheduler and one simulated host."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud

# Every test runs on SQLite; the representative ones (create, list, delete, resize, the power
# actions) run on MariaDB and PostgreSQL too. The whole file takes about 45 s on SQLite and
# 85-95 s on each server database on a loaded 2-core machine: all of it on all three would
# cost the suite three minutes for little more coverage.
SQLITE_ONLY = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)


@pytest.fixture
async def cloud(compute_config: Config) -> AsyncIterator[Cloud]:
    """Identity, Image and Compute in-process; compute with two simulated hosts."""
    async with servers_cloud(compute_config, driver="fake", hosts=2, image=b"x" * 4096,
                             disk_format="raw") as c:
        yield c


async def _wait(c: Cloud, who: dict[str, str], server_id: str, status: str,
                seconds: float = 60.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    body: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        r = await c.http.get(f"/v2.1/servers/{server_id}", headers=mv("2.96", who))
        if r.status_code == 404 and status == "DELETED":
            return {}
        body = r.json().get("server", {})
        if body.get("status") == status and body.get("OS-EXT-STS:task_state") is None:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"server {server_id} did not reach {status}: {body}")


def _boot(c: Cloud, **extra: Any) -> dict[str, Any]:
    return {"server": {"name": "vm1", "imageRef": c.image, "flavorRef": "1",
                       "networks": "none", **extra}}


async def _create(c: Cloud, who: dict[str, str], version: str = "2.96", **extra: Any) -> str:
    r = await c.http.post("/v2.1/servers", headers=mv(version, who), json=_boot(c, **extra))
    assert r.status_code == 202, r.text
    return str(r.json()["server"]["id"])


async def _act(c: Cloud, who: dict[str, str], sid: str, body: dict[str, Any],
               status: int = 202, version: str = "2.96") -> httpx.Response:
    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=mv(version, who), json=body)
    assert r.status_code == status, r.text
    return r


async def test_a_server_boots_to_active_with_nova_states(cloud: Cloud) -> None:
    sid = await _create(cloud, cloud.alice, metadata={"k": "v"}, description="d")
    r = await cloud.http.get(f"/v2.1/servers/{sid}", headers=mv("2.96", cloud.alice))
    assert r.json()["server"]["status"] in ("BUILD", "ACTIVE")
    body = await _wait(cloud, cloud.alice, sid, "ACTIVE")
    assert body["OS-EXT-STS:vm_state"] == "active"
    assert body["OS-EXT-STS:power_state"] == 1
    assert body["metadata"] == {"k": "v"} and body["description"] == "d"
    assert body["addresses"] == {} and body["hostId"]
    assert "OS-EXT-SRV-ATTR:host" not in body  # admin-only
    admin = (await cloud.http.get(f"/v2.1/servers/{sid}", headers=mv("2.96", cloud.admin))
             ).json()["server"]
    assert admin["OS-EXT-SRV-ATTR:host"].startswith(admin["OS-EXT-SRV-ATTR:hypervisor_hostname"])
    # At 2.1 the flavor is a link and the later attributes are absent.
    old = (await cloud.http.get(f"/v2.1/servers/{sid}", headers=cloud.alice)).json()["server"]
    assert old["flavor"]["id"] == "1" and "locked" not in old and "tags" not in old


@SQLITE_ONLY
async def test_other_projects_do_not_see_the_server(cloud: Cloud) -> None:
    sid = await _create(cloud, cloud.alice)
    r = await cloud.http.get(f"/v2.1/servers/{sid}", headers=cloud.bob)
    assert r.status_code == 404
    assert "itemNotFound" in r.json()
    r = await cloud.http.get("/v2.1/servers", headers=cloud.bob)
    assert r.json()["servers"] == []


async def test_stop_start_reboot_pause_suspend_follow_the_state_machine(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    await _act(cloud, a, sid, {"os-stop": None})
    body = await _wait(cloud, a, sid, "SHUTOFF")
    assert body["OS-EXT-STS:power_state"] == 4
    r = await _act(cloud, a, sid, {"os-stop": None}, status=409)
    assert "vm_state stopped" in r.json()["conflictingRequest"]["message"]
    await _act(cloud, a, sid, {"os-start": None})
    await _wait(cloud, a, sid, "ACTIVE")
    await _act(cloud, a, sid, {"reboot": {"type": "HARD"}})
    await _wait(cloud, a, sid, "ACTIVE")
    await _act(cloud, a, sid, {"pause": None})
    await _wait(cloud, a, sid, "PAUSED")
    await _act(cloud, a, sid, {"unpause": None})
    await _wait(cloud, a, sid, "ACTIVE")
    await _act(cloud, a, sid, {"suspend": None})
    await _wait(cloud, a, sid, "SUSPENDED")
    await _act(cloud, a, sid, {"resume": None})
    await _wait(cloud, a, sid, "ACTIVE")
    r = await cloud.http.get(f"/v2.1/servers/{sid}/os-instance-actions", headers=a)
    actions = [x["action"] for x in r.json()["instanceActions"]]
    assert actions[0] == "resume" and actions[-1] == "create"
    rid = r.json()["instanceActions"][-1]["request_id"]
    r = await cloud.http.get(f"/v2.1/servers/{sid}/os-instance-actions/{rid}",
                             headers=mv("2.96", a))
    assert r.status_code == 200, (rid, r.text)
    events = r.json()["instanceAction"]["events"]
    assert {e["event"] for e in events} >= {"compute__do_build_and_run_instance"}


async def test_resize_confirm_and_revert(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    await _act(cloud, a, sid, {"resize": {"flavorRef": "2"}})
    body = await _wait(cloud, a, sid, "VERIFY_RESIZE")
    assert body["flavor"]["original_name"] == "m1.small"
    await _act(cloud, a, sid, {"revertResize": None})
    body = await _wait(cloud, a, sid, "ACTIVE")
    assert body["flavor"]["original_name"] == "m1.tiny"
    await _act(cloud, a, sid, {"resize": {"flavorRef": "2"}})
    await _wait(cloud, a, sid, "VERIFY_RESIZE")
    await _act(cloud, a, sid, {"confirmResize": None}, status=204)
    body = await _wait(cloud, a, sid, "ACTIVE")
    assert body["flavor"]["original_name"] == "m1.small"


@SQLITE_ONLY
async def test_lock_refuses_actions_and_reports_the_reason(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    await _act(cloud, a, sid, {"lock": {"locked_reason": "maintenance"}})
    body = await _wait(cloud, a, sid, "ACTIVE")
    assert body["locked"] is True and body["locked_reason"] == "maintenance"
    r = await _act(cloud, a, sid, {"os-stop": None}, status=409)
    assert "locked" in r.json()["conflictingRequest"]["message"]
    await _act(cloud, a, sid, {"unlock": None})
    await _act(cloud, a, sid, {"os-stop": None})
    await _wait(cloud, a, sid, "SHUTOFF")


@SQLITE_ONLY
async def test_console_output_is_the_guests_serial_log(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    r = await _act(cloud, a, sid, {"os-getConsoleOutput": {"length": 10}}, status=200)
    assert "Overcast guest" in r.json()["output"]


@SQLITE_ONLY
async def test_snapshot_goes_to_the_image_service(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    r = await _act(cloud, a, sid, {"createImage": {"name": "snap", "metadata": {"x": "1"}}})
    image_id = r.json()["image_id"]
    await _wait(cloud, a, sid, "ACTIVE")
    for _ in range(100):
        img = (await cloud.glance.get(f"/v2/images/{image_id}", headers=a)).json()
        if img["status"] == "active":
            break
        await asyncio.sleep(0.05)
    assert img["status"] == "active" and img["image_type"] == "snapshot"
    assert img["instance_uuid"] == sid and img["x"] == "1"
    # The request's metadata wins over the snapshot's own properties, as in Nova (tempest's
    # interop test_create_delete_image sends image_type "test").
    r = await _act(cloud, a, sid, {"createImage": {"name": "snap2",
                                                   "metadata": {"image_type": "test"}}})
    img = (await cloud.glance.get(f"/v2/images/{r.json()['image_id']}", headers=a)).json()
    assert img["image_type"] == "test" and img["name"] == "snap2"
    await _wait(cloud, a, sid, "ACTIVE")


async def test_multi_create_list_filters_and_paging(cloud: Cloud) -> None:
    a = cloud.alice
    r = await cloud.http.post("/v2.1/servers", headers=mv("2.96", a), json=_boot(
        cloud, name="web", min_count=3, max_count=3, return_reservation_id=True))
    assert r.status_code == 202, r.text
    rid = r.json()["reservation_id"]
    r = await cloud.http.get(f"/v2.1/servers?reservation_id={rid}", headers=a)
    names = sorted(s["name"] for s in r.json()["servers"])
    assert names == ["web-1", "web-2", "web-3"]
    for s in r.json()["servers"]:
        await _wait(cloud, a, s["id"], "ACTIVE")
    r = await cloud.http.get("/v2.1/servers/detail?limit=2&name=^web", headers=a)
    page = r.json()
    assert len(page["servers"]) == 2 and page["servers_links"][0]["rel"] == "next"
    nxt = page["servers_links"][0]["href"].split("testserver", 1)[1]
    r = await cloud.http.get(nxt, headers=a)
    assert len(r.json()["servers"]) == 1
    r = await cloud.http.get("/v2.1/servers?status=ACTIVE&sort_key=display_name&sort_dir=asc",
                             headers=a)
    assert [s["name"] for s in r.json()["servers"]] == ["web-1", "web-2", "web-3"]
    r = await cloud.http.get("/v2.1/servers?status=SHUTOFF", headers=a)
    assert r.json()["servers"] == []


async def test_delete_and_changes_since_shows_deleted(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    r = await cloud.http.delete(f"/v2.1/servers/{sid}", headers=a)
    assert r.status_code == 204
    await _wait(cloud, a, sid, "DELETED")
    r = await cloud.http.get("/v2.1/servers/detail?changes-since=2000-01-01T00:00:00Z",
                             headers=a)
    gone = [s for s in r.json()["servers"] if s["id"] == sid]
    assert gone and gone[0]["status"] == "DELETED"


@SQLITE_ONLY
async def test_bad_requests_are_nova_faults(cloud: Cloud) -> None:
    a = cloud.alice
    r = await cloud.http.post("/v2.1/servers", headers=mv("2.96", a),
                              json=_boot(cloud, flavorRef="nope"))
    assert r.status_code == 400 and "Flavor nope could not be found" in r.text
    r = await cloud.http.post("/v2.1/servers", headers=mv("2.96", a),
                              json=_boot(cloud, imageRef="00000000-0000-0000-0000-000000000000"))
    assert r.status_code == 400 and "could not be found" in r.text
    r = await cloud.http.post("/v2.1/servers", headers=mv("2.96", a),
                              json=_boot(cloud, key_name="missing"))
    assert r.status_code == 400 and "Invalid key_name" in r.text
    r = await cloud.http.post("/v2.1/servers", headers=mv("2.96", a),
                              json={"server": {"name": "x", "imageRef": cloud.image,
                                               "flavorRef": "1"}})
    assert r.status_code == 400  # networks is required from 2.37
    r = await cloud.http.post("/v2.1/servers", headers=mv("2.96", a),
                              json=_boot(cloud, bogus=1))
    assert r.status_code == 400


@SQLITE_ONLY
async def test_no_valid_host_is_an_error_with_a_fault(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a, availability_zone="nova")
    await _wait(cloud, a, sid, "ACTIVE")
    r = await cloud.http.post("/v2.1/servers", headers=mv("2.96", cloud.admin),
                              json=_boot(cloud, availability_zone="nova:no-such-host"))
    assert r.status_code == 202, r.text
    body = await _wait(cloud, cloud.admin, r.json()["server"]["id"], "ERROR")
    assert body["fault"]["message"].startswith("No valid host was found")


@SQLITE_ONLY
async def test_metadata_and_tags(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    r = await cloud.http.put(f"/v2.1/servers/{sid}/metadata", headers=a,
                             json={"metadata": {"a": "1", "b": "2"}})
    assert r.json() == {"metadata": {"a": "1", "b": "2"}}
    r = await cloud.http.put(f"/v2.1/servers/{sid}/metadata/a", headers=a,
                             json={"meta": {"a": "9"}})
    assert r.json() == {"meta": {"a": "9"}}
    r = await cloud.http.delete(f"/v2.1/servers/{sid}/metadata/b", headers=a)
    assert r.status_code == 204
    r = await cloud.http.get(f"/v2.1/servers/{sid}/metadata", headers=a)
    assert r.json() == {"metadata": {"a": "9"}}
    r = await cloud.http.put(f"/v2.1/servers/{sid}/tags/t1", headers=mv("2.26", a))
    assert r.status_code == 201
    r = await cloud.http.get(f"/v2.1/servers/{sid}/tags", headers=mv("2.26", a))
    assert r.json() == {"tags": ["t1"]}
    r = await cloud.http.get("/v2.1/servers?tags=t1", headers=mv("2.26", a))
    assert [s["id"] for s in r.json()["servers"]] == [sid]
    r = await cloud.http.get(f"/v2.1/servers/{sid}/tags", headers=mv("2.25", a))
    assert r.status_code == 404


@SQLITE_ONLY
async def test_admin_reset_state_and_action_errors(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    r = await cloud.http.post("/v2.1/servers/00000000-0000-0000-0000-000000000000/action",
                              headers=cloud.admin, json={"migrate": None})
    assert r.status_code == 404
    r = await cloud.http.post(f"/v2.1/servers/{sid}/action", headers=a, json={"bogus": None})
    assert r.status_code == 400
    r = await cloud.http.post(f"/v2.1/servers/{sid}/action", headers=a,
                              json={"os-resetState": {"state": "error"}})
    assert r.status_code == 403
    await _act(cloud, cloud.admin, sid, {"os-resetState": {"state": "error"}})
    body = await _wait(cloud, a, sid, "ERROR")
    assert body["OS-EXT-STS:vm_state"] == "error"
    r = await _act(cloud, a, sid, {"restore": None}, status=409)
    r = await cloud.http.delete(f"/v2.1/servers/{sid}", headers=a)
    assert r.status_code == 204
    await _wait(cloud, a, sid, "DELETED")
