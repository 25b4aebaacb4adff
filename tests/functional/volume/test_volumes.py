"""Volumes over HTTP through the fake driver's agent: lifecycle, extend, metadata, snapshots and
volumes from them, clones, volumes from an image, lists, and isolation between projects."""

from __future__ import annotations

from tests.functional.volume.conftest import Cinder


async def test_volume_lifecycle(cinder: Cinder) -> None:
    v = await cinder.volume(cinder.alice, 1, name="myVolume", metadata={"a": "1"})
    assert (v["size"], v["name"], v["bootable"], v["volume_type"], v["metadata"]) == (
        1, "myVolume", "false", "__DEFAULT__", {"a": "1"})
    assert v["availability_zone"] == "nova" and "os-vol-host-attr:host" not in v
    shown = await cinder.ok("GET", f"volumes/{v['id']}", cinder.admin)
    assert shown["volume"]["os-vol-host-attr:host"] == "testhost@fake#fake"
    # extend through the agent
    await cinder.ok("POST", f"volumes/{v['id']}/action", cinder.alice,
                    {"os-extend": {"new_size": 2}}, 202)
    v = await cinder.wait(cinder.alice, f"volumes/{v['id']}", "available")
    assert v is not None and v["size"] == 2
    msg = await cinder.fault("POST", f"volumes/{v['id']}/action", cinder.alice, 400,
                             {"os-extend": {"new_size": 1}})
    assert "greater than current size" in msg
    # update, metadata, bootable
    up = await cinder.ok("PUT", f"volumes/{v['id']}", cinder.alice,
                         {"volume": {"name": "renamed", "description": "d"}})
    assert (up["volume"]["name"], up["volume"]["description"]) == ("renamed", "d")
    meta = await cinder.ok("POST", f"volumes/{v['id']}/metadata", cinder.alice,
                           {"metadata": {"b": "2"}})
    assert meta["metadata"] == {"a": "1", "b": "2"}
    await cinder.ok("POST", f"volumes/{v['id']}/action", cinder.alice,
                    {"os-set_bootable": {"bootable": True}})
    assert (await cinder.ok("GET", f"volumes/{v['id']}", cinder.alice))["volume"][
        "bootable"] == "true"
    # reset-status is for admins
    await cinder.fault("POST", f"volumes/{v['id']}/action", cinder.alice, 403,
                       {"os-reset_status": {"status": "error"}})
    await cinder.ok("POST", f"volumes/{v['id']}/action", cinder.admin,
                    {"os-reset_status": {"status": "in-use"}}, 202)
    msg = await cinder.fault("DELETE", f"volumes/{v['id']}", cinder.alice, 400)
    assert "Volume status must be available" in msg
    await cinder.ok("POST", f"volumes/{v['id']}/action", cinder.admin,
                    {"os-reset_status": {"status": "available"}}, 202)
    await cinder.ok("DELETE", f"volumes/{v['id']}", cinder.alice, status=202)
    await cinder.wait(cinder.alice, f"volumes/{v['id']}", None)


async def test_snapshots_and_volumes_from_them(cinder: Cinder) -> None:
    v = await cinder.volume(cinder.alice, 1)
    s = await cinder.ok("POST", "snapshots", cinder.alice,
                        {"snapshot": {"volume_id": v["id"], "name": "snap"}}, 202)
    snap = await cinder.wait(cinder.alice, f"snapshots/{s['snapshot']['id']}", "available",
                             key="snapshot")
    assert snap is not None and (snap["size"], snap["volume_id"]) == (1, v["id"])
    # a volume with snapshots is not deleted without cascade
    msg = await cinder.fault("DELETE", f"volumes/{v['id']}", cinder.alice, 400)
    assert "dependent snapshots" in msg
    fromsnap = await cinder.volume(cinder.alice, 2, snapshot_id=snap["id"])
    assert fromsnap["snapshot_id"] == snap["id"] and fromsnap["size"] == 2
    clone = await cinder.volume(cinder.alice, 1, source_volid=v["id"])
    assert clone["source_volid"] == v["id"]
    meta = await cinder.ok("PUT", f"snapshots/{snap['id']}/metadata", cinder.alice,
                           {"metadata": {"k": "v"}})
    assert meta["metadata"] == {"k": "v"}
    listed = await cinder.ok("GET", "snapshots/detail", cinder.alice)
    assert [x["id"] for x in listed["snapshots"]] == [snap["id"]]
    await cinder.ok("DELETE", f"volumes/{v['id']}?cascade=true", cinder.alice, status=202)
    await cinder.wait(cinder.alice, f"volumes/{v['id']}", None)
    await cinder.wait(cinder.alice, f"snapshots/{snap['id']}", None, key="snapshot")


async def test_lists_filters_sort_and_paging(cinder: Cinder) -> None:
    ids = [(await cinder.volume(cinder.alice, size, name=f"v{size}"))["id"] for size in (1, 2, 3)]
    listed = await cinder.ok("GET", "volumes/detail?sort=size:asc", cinder.alice)
    assert [v["id"] for v in listed["volumes"]] == ids
    page = await cinder.ok("GET", "volumes?sort=size:asc&limit=2", cinder.alice)
    assert [v["id"] for v in page["volumes"]] == ids[:2]
    assert "marker=" in page["volumes_links"][0]["href"]
    rest = await cinder.ok("GET", f"volumes?sort=size:asc&limit=2&marker={ids[1]}",
                           cinder.alice)
    assert [v["id"] for v in rest["volumes"]] == ids[2:]
    named = await cinder.ok("GET", "volumes?name=v2", cinder.alice)
    assert [v["id"] for v in named["volumes"]] == [ids[1]]
    counted = await cinder.ok("GET", "volumes?with_count=true", cinder.alice, version="3.45")
    assert counted["count"] == 3
    await cinder.fault("GET", "volumes?sort=nope:asc", cinder.alice, 400)
    await cinder.fault("GET", "volumes?limit=x", cinder.alice, 400)
    # all_tenants: admins see every project's volumes, members only their own
    everyone = await cinder.ok("GET", "volumes?all_tenants=1", cinder.admin)
    assert set(ids) <= {v["id"] for v in everyone["volumes"]}
    bobs = await cinder.ok("GET", "volumes?all_tenants=1", cinder.bob)
    assert bobs["volumes"] == []


async def test_other_projects_volumes_are_not_found(cinder: Cinder) -> None:
    v = await cinder.volume(cinder.alice, 1)
    for method, path, body in (("GET", f"volumes/{v['id']}", None),
                               ("PUT", f"volumes/{v['id']}", {"volume": {"name": "x"}}),
                               ("DELETE", f"volumes/{v['id']}", None),
                               ("POST", f"volumes/{v['id']}/action",
                                {"os-extend": {"new_size": 5}}),
                               ("GET", f"volumes/{v['id']}/metadata", None)):
        r = await cinder.req(method, path, cinder.bob, body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["itemNotFound"]["code"] == 404
    r = await cinder.req("POST", "snapshots", cinder.bob, {"snapshot": {"volume_id": v["id"]}})
    assert r.status_code == 404
    r = await cinder.req("POST", "volumes", cinder.bob,
                         {"volume": {"size": 1, "source_volid": v["id"]}})
    assert r.status_code == 404


async def test_volume_from_an_image(cinder: Cinder) -> None:
    r = await cinder.glance.post("/v2/images", headers=cinder.alice, json={
        "name": "cirros", "disk_format": "raw", "container_format": "bare", "min_disk": 2})
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    r = await cinder.glance.put(f"/v2/images/{image_id}/file", content=b"\0" * 4096, headers={
        **cinder.alice, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    # min_disk decides the size when none is given, and a smaller one is refused
    msg = await cinder.fault("POST", "volumes", cinder.alice, 400,
                             {"volume": {"size": 1, "imageRef": image_id}})
    assert "larger than volume size" in msg
    v = await cinder.ok("POST", "volumes", cinder.alice, {"volume": {"imageRef": image_id}}, 202)
    done = await cinder.wait(cinder.alice, f"volumes/{v['volume']['id']}", "available")
    assert done is not None
    assert (done["size"], done["bootable"]) == (2, "true")
    assert done["volume_image_metadata"]["image_id"] == image_id
    assert done["volume_image_metadata"]["disk_format"] == "raw"
    # another project's private image is not found
    r = await cinder.req("POST", "volumes", cinder.bob, {"volume": {"imageRef": image_id}})
    assert r.status_code in (400, 404) and set(r.json()) <= {"badRequest", "itemNotFound"}
