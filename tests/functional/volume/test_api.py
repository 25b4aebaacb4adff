"""The Block Storage API over HTTP: version documents and microversions, Cinder's fault bodies
for bad input, volume types, quotas, limits, availability zones and os-services."""

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
    # an action not built yet on a volume that does not exist: 404, as any action
    await cinder.fault("POST", "volumes/nope/action", cinder.alice, 404,
                       {"os-attach": {"mountpoint": "/dev/vdb"}})
    # no backup or group exists yet: naming one is Cinder's 404, not a server fault
    for key in ("backup_id", "group_id", "consistencygroup_id"):
        await cinder.fault("POST", "volumes", cinder.alice, 404,
                           {"volume": {"size": 1, key: "ResellerAdmin"}})


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
    msg = await cinder.fault("POST", "volumes", cinder.alice, 400,
                             {"volume": {"size": 1, "availability_zone": "elsewhere"}})
    assert "Availability zone 'elsewhere' is invalid" in msg
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
