"""Nova's image proxy (/v2.1/images, deprecated up to 2.35) over the in-process Image service,
with the caller's token: Nova's view, filters, paging, metadata, delete, snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)

V = "2.35"


@pytest.fixture
async def cloud(compute_config: Config) -> AsyncIterator[Cloud]:
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw") as c:
        yield c


async def test_list_detail_show_filters_and_paging(cloud: Cloud) -> None:
    a, http = cloud.alice, cloud.http
    r = await cloud.glance.post("/v2/images", headers=a, json={
        "name": "empty", "disk_format": "raw", "container_format": "bare", "min_disk": 5,
        "purpose": "test"})
    queued = r.json()["id"]

    r = await http.get("/v2.1/images", headers=mv(V, a))
    assert r.status_code == 200, r.text
    basic = {i["id"]: i for i in r.json()["images"]}
    assert set(basic) == {cloud.image, queued}
    assert set(basic[cloud.image]) == {"id", "name", "links"}
    assert [lk["rel"] for lk in basic[cloud.image]["links"]] == ["self", "bookmark", "alternate"]

    r = await http.get(f"/v2.1/images/{cloud.image}", headers=mv(V, a))
    img = r.json()["image"]
    assert img["status"] == "ACTIVE" and img["progress"] == 100
    assert img["minRam"] == 64 and img["minDisk"] == 0 and img["metadata"] == {}
    assert img["OS-EXT-IMG-SIZE:size"] == 4096 and img["name"] == "cirros"
    assert img["created"].endswith("Z") and "server" not in img
    r = await http.get(f"/v2.1/images/{queued}", headers=mv(V, a))
    img = r.json()["image"]
    assert (img["status"], img["progress"], img["minDisk"]) == ("SAVING", 25, 5)
    assert img["metadata"] == {"purpose": "test"}

    async def ids(query: str) -> list[str]:
        r = await http.get(f"/v2.1/images/detail?{query}", headers=mv(V, a))
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["images"]]

    assert await ids("status=ACTIVE") == [cloud.image]
    assert await ids("status=SAVING") == [queued]
    assert await ids("name=empty") == [queued]
    assert await ids("minRam=64") == [cloud.image]
    assert await ids("minDisk=1") == [queued]
    assert await ids("changes-since=2999-01-01T00:00:00Z") == []
    first = await ids("limit=1")
    r = await http.get("/v2.1/images/detail?limit=1", headers=mv(V, a))
    nxt = r.json()["images_links"][0]["href"]
    assert "marker=" + first[0] in nxt
    second = await ids(f"limit=1&marker={first[0]}")
    assert sorted(first + second) == sorted([cloud.image, queued])
    r = await http.get("/v2.1/images?marker=nope", headers=mv(V, a))
    assert r.status_code == 400

    # Glance decides visibility: bob does not see alice's private image.
    r = await http.get(f"/v2.1/images/{cloud.image}", headers=mv(V, cloud.bob))
    assert r.status_code == 404 and "itemNotFound" in r.json()
    r = await http.get("/v2.1/images", headers=mv(V, cloud.bob))
    assert r.json()["images"] == []
    # Deprecated: gone from 2.36 on.
    r = await http.get("/v2.1/images", headers=mv("2.36", a))
    assert r.status_code == 404


async def test_metadata_and_delete(cloud: Cloud) -> None:
    a, http, base = cloud.alice, cloud.http, f"/v2.1/images/{cloud.image}"
    r = await http.post(f"{base}/metadata", headers=mv(V, a),
                        json={"metadata": {"os_distro": "cirros", "k": "1"}})
    assert r.status_code == 200, r.text
    assert r.json()["metadata"] == {"os_distro": "cirros", "k": "1"}
    r = await http.put(f"{base}/metadata/k", headers=mv(V, a), json={"meta": {"k": "2"}})
    assert r.json() == {"meta": {"k": "2"}}
    r = await http.get(f"{base}/metadata/k", headers=mv(V, a))
    assert r.json() == {"meta": {"k": "2"}}
    r = await http.put(f"{base}/metadata/k", headers=mv(V, a), json={"meta": {"x": "2"}})
    assert r.status_code == 400
    r = await http.put(f"{base}/metadata", headers=mv(V, a), json={"metadata": {"new": "v"}})
    assert r.json()["metadata"] == {"new": "v"}
    img = (await cloud.glance.get(f"/v2/images/{cloud.image}", headers=a)).json()
    assert img["new"] == "v" and "os_distro" not in img and "k" not in img
    r = await http.delete(f"{base}/metadata/new", headers=mv(V, a))
    assert r.status_code == 204
    r = await http.get(f"{base}/metadata", headers=mv(V, a))
    assert r.json() == {"metadata": {}}
    r = await http.delete(f"{base}/metadata/new", headers=mv(V, a))
    assert r.status_code == 404
    # bob may not touch alice's image.
    r = await http.post(f"{base}/metadata", headers=mv(V, cloud.bob),
                        json={"metadata": {"a": "b"}})
    assert r.status_code == 404

    r = await http.delete(base, headers=mv(V, a))
    assert r.status_code == 204
    assert (await cloud.glance.get(f"/v2/images/{cloud.image}", headers=a)).status_code == 404
    r = await http.delete(base, headers=mv(V, a))
    assert r.status_code == 404


async def test_snapshot_names_its_server(cloud: Cloud) -> None:
    a, http = cloud.alice, cloud.http
    r = await http.post("/v2.1/servers", headers=mv("2.96", a), json={"server": {
        "name": "vm", "imageRef": cloud.image, "flavorRef": "1", "networks": "none"}})
    sid = r.json()["server"]["id"]
    for _ in range(500):
        body = (await http.get(f"/v2.1/servers/{sid}", headers=mv("2.96", a))).json()["server"]
        if body["status"] == "ACTIVE" and body["OS-EXT-STS:task_state"] is None:
            break
        await asyncio.sleep(0.02)
    r = await http.post(f"/v2.1/servers/{sid}/action", headers=mv("2.96", a),
                        json={"createImage": {"name": "snap"}})
    snap = r.json()["image_id"]
    r = await http.get(f"/v2.1/images/detail?server={sid}", headers=mv(V, a))
    images = r.json()["images"]
    assert [i["id"] for i in images] == [snap]
    assert images[0]["server"]["id"] == sid
    r = await http.get("/v2.1/images/detail?type=snapshot", headers=mv(V, a))
    assert [i["id"] for i in r.json()["images"]] == [snap]


async def test_the_proxy_reads_every_page_glance_gives(cloud: Cloud,
                                                       compute_config: Config) -> None:
    """Glance caps a page at api_limit_max; Nova's list follows Glance's `next` links."""
    for i in range(3):
        r = await cloud.glance.post("/v2/images", headers=cloud.alice, json={
            "name": f"extra-{i}", "disk_format": "raw", "container_format": "bare"})
        assert r.status_code == 201
    compute_config.image.api_limit_max = 2
    r = await cloud.glance.get("/v2/images", headers=cloud.alice)
    assert len(r.json()["images"]) == 2  # the cap holds
    r = await cloud.http.get("/v2.1/images", headers=mv(V, cloud.alice))
    assert len(r.json()["images"]) == 4
