"""The Block Storage API over HTTP: versions and microversions, Cinder's fault bodies, volumes
through the fake driver's agent, snapshots, types, quotas, limits, zones, services, isolation."""

from __future__ import annotations

from tests.functional.volume.conftest import Cinder


async def test_version_documents_and_microversions(cinder: Cinder) -> None:
    r = await cinder.http.get("/")
    assert r.status_code == 300
    (v3,) = r.json()["versions"]
    assert (v3["id"], v3["min_version"], v3["version"]) == ("v3.0", "3.0", "3.60")
    assert (await cinder.http.get("/v3/")).json()["versions"][0]["status"] == "CURRENT"
    r = await cinder.req("GET", "volumes", cinder.alice, version="3.59")
    assert r.status_code == 200 and r.headers["OpenStack-API-Version"] == "volume 3.59"
    r = await cinder.req("GET", "volumes", cinder.alice, version="latest")
    assert r.headers["OpenStack-API-Version"] == "volume 3.60"
    r = await cinder.req("GET", "volumes", cinder.alice)
    assert r.headers["OpenStack-API-Version"] == "volume 3.0"
    r = await cinder.req("GET", "volumes", cinder.alice, version="3.99")
    assert r.status_code == 406 and r.json()["notAcceptable"]["code"] == 406
    r = await cinder.req("GET", "volumes", cinder.alice, version="3.x")
    assert r.status_code == 400 and "badRequest" in r.json()
    # /volumes/summary came in 3.12
    await cinder.fault("GET", "volumes/summary", cinder.alice, 404)
    s = await cinder.ok("GET", "volumes/summary", cinder.alice, version="3.12")
    assert s["volume-summary"] == {"total_count": 0, "total_size": 0}


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


async def test_bad_input_is_a_cinder_400(cinder: Cinder) -> None:
    for body in ({"volume": {"size": 0}}, {"volume": {"size": "x"}}, {"volume": {}},
                 {"nothing": 1}, {"volume": {"size": 1, "volume_type": "nope"}}):
        r = await cinder.req("POST", "volumes", cinder.alice, body)
        assert r.status_code in (400, 404), r.text
        assert set(r.json()) <= {"badRequest", "itemNotFound"}
    r = await cinder.http.post(cinder.url(cinder.alice, "volumes"), headers={
        **cinder.alice, "Content-Type": "application/json"}, content=b"{")
    assert r.status_code == 400 and "badRequest" in r.json()
    v = await cinder.volume(cinder.alice, 1)
    await cinder.fault("POST", f"volumes/{v['id']}/action", cinder.alice, 400, {"os-nope": {}})
    await cinder.fault("POST", f"volumes/{v['id']}/action", cinder.alice, 501,
                       {"os-attach": {"mountpoint": "/dev/vdb"}})


async def test_types_quotas_limits_zones_services(cinder: Cinder) -> None:
    t = await cinder.ok("POST", "types", cinder.admin, {"volume_type": {
        "name": "fast", "extra_specs": {"volume_backend_name": "fake"}}})
    tid = t["volume_type"]["id"]
    assert t["volume_type"]["extra_specs"] == {"volume_backend_name": "fake"}
    await cinder.fault("POST", "types", cinder.alice, 403, {"volume_type": {"name": "x"}})
    await cinder.fault("POST", "types", cinder.admin, 409, {"volume_type": {"name": "fast"}})
    names = {x["name"] for x in (await cinder.ok("GET", "types", cinder.alice))["volume_types"]}
    assert names == {"__DEFAULT__", "fast"}
    default = await cinder.ok("GET", "types/default", cinder.alice)
    assert default["volume_type"]["name"] == "__DEFAULT__"
    v = await cinder.volume(cinder.alice, 1, volume_type="fast")
    assert v["volume_type"] == "fast"
    await cinder.fault("DELETE", f"types/{tid}", cinder.admin, 400)
    # a private type is invisible until the project is given access
    p = await cinder.ok("POST", "types", cinder.admin, {"volume_type": {
        "name": "private", "os-volume-type-access:is_public": False}})
    pid = p["volume_type"]["id"]
    await cinder.fault("GET", f"types/{pid}", cinder.bob, 404)
    await cinder.ok("POST", f"types/{pid}/action", cinder.admin,
                    {"addProjectAccess": {"project": cinder.beta}}, 202)
    assert (await cinder.ok("GET", f"types/{pid}", cinder.bob))["volume_type"]["name"] == \
        "private"
    # quotas with usage, limits
    q = await cinder.ok("GET", f"os-quota-sets/{cinder.alpha}?usage=true", cinder.alice)
    assert q["quota_set"]["volumes"] == {"limit": 10, "in_use": 1, "reserved": 0,
                                         "allocated": 0}
    await cinder.fault("PUT", f"os-quota-sets/{cinder.alpha}", cinder.alice, 403,
                       {"quota_set": {"volumes": 1}})
    await cinder.ok("PUT", f"os-quota-sets/{cinder.alpha}", cinder.admin,
                    {"quota_set": {"volumes": 1}})
    msg = await cinder.fault("POST", "volumes", cinder.alice, 413, {"volume": {"size": 1}})
    assert "Maximum number of volumes allowed (1) exceeded" in msg
    limits = await cinder.ok("GET", "limits", cinder.alice)
    assert limits["limits"]["absolute"]["maxTotalVolumes"] == 1
    assert limits["limits"]["absolute"]["totalVolumesUsed"] == 1
    zones = await cinder.ok("GET", "os-availability-zone", cinder.alice)
    assert zones["availabilityZoneInfo"] == [{"zoneName": "nova",
                                              "zoneState": {"available": True}}]
    services = (await cinder.ok("GET", "os-services", cinder.admin))["services"]
    assert {(s["binary"], s["host"], s["state"]) for s in services} == {
        ("cinder-scheduler", "testhost", "up"), ("cinder-volume", "testhost@fake", "up")}
    await cinder.fault("GET", "os-services", cinder.alice, 403)
    d = await cinder.ok("PUT", "os-services/disable", cinder.admin,
                        {"host": "testhost@fake", "binary": "cinder-volume"})
    assert d["status"] == "disabled"
    # no enabled backend: the volume ends in error (No valid backend)
    await cinder.ok("PUT", f"os-quota-sets/{cinder.alpha}", cinder.admin,
                    {"quota_set": {"volumes": 10}})
    r = await cinder.ok("POST", "volumes", cinder.alice, {"volume": {"size": 1}}, 202)
    assert r["volume"]["status"] == "error"
