"""Compute hosts as the admin APIs show them: os-services, os-hypervisors, availability zones
and aggregates, fed by the conductor's `register_host`/`update_resources`."""

from __future__ import annotations

import uuid

from overcast.compute.hosts import Hosts
from tests.functional.compute.conftest import Nova


async def _two_hosts(conductor: Hosts) -> None:
    for host in ("cmp1", "cmp2"):
        await conductor.register_host(host, hypervisor_type="QEMU", hypervisor_version=8002000,
                                      host_ip="192.0.2.1", vcpus=8, memory_mb=16384,
                                      local_gb=100, cpu_info={"arch": "x86_64"})
    await conductor.update_resources("cmp1", vcpus_used=2, memory_mb_used=1024,
                                     local_gb_used=10, running_vms=1, uptime="up 3 days")
    await conductor.register_service("ctl", "nova-scheduler")


async def test_register_host_is_idempotent(conductor: Hosts) -> None:
    first = await conductor.register_host("cmp1", vcpus=4)
    again = await conductor.register_host("cmp1", vcpus=8)
    assert first == again
    (view,) = await conductor.compute_hosts()
    assert view.up and view.zone == "nova"


async def test_services_per_microversion(nova: Nova, conductor: Hosts) -> None:
    await _two_hosts(conductor)
    old = (await nova.ok("GET", "/v2.1/os-services", nova.admin))["services"]
    assert [(s["host"], s["binary"], s["zone"], s["state"], s["status"]) for s in old] == [
        ("cmp1", "nova-compute", "nova", "up", "enabled"),
        ("cmp2", "nova-compute", "nova", "up", "enabled"),
        ("ctl", "nova-scheduler", "internal", "up", "enabled")]
    assert isinstance(old[0]["id"], int) and "forced_down" not in old[0]
    await nova.fault("GET", "/v2.1/os-services", nova.alice, 403)
    only = await nova.ok("GET", "/v2.1/os-services?binary=nova-compute&host=cmp2", nova.admin)
    assert [s["host"] for s in only["services"]] == ["cmp2"]

    # before 2.53: by host and binary
    r = await nova.ok("PUT", "/v2.1/os-services/disable-log-reason", nova.admin,
                      json={"host": "cmp1", "binary": "nova-compute",
                            "disabled_reason": "maintenance"})
    assert r["service"] == {"host": "cmp1", "binary": "nova-compute", "status": "disabled",
                            "disabled_reason": "maintenance"}
    r = await nova.ok("PUT", "/v2.1/os-services/enable", nova.admin,
                      json={"host": "cmp1", "binary": "nova-compute"})
    assert r["service"]["status"] == "enabled"
    await nova.fault("PUT", "/v2.1/os-services/force-down", nova.admin, 404,
                     json={"host": "cmp1", "binary": "nova-compute", "forced_down": True})
    r = await nova.ok("PUT", "/v2.1/os-services/force-down", nova.admin, version="2.11",
                      json={"host": "cmp1", "binary": "nova-compute", "forced_down": True})
    assert r["service"] == {"host": "cmp1", "binary": "nova-compute", "forced_down": True}
    await nova.fault("PUT", "/v2.1/os-services/enable", nova.admin, 404,
                     json={"host": "nowhere", "binary": "nova-compute"})

    # from 2.53: by uuid
    new = (await nova.ok("GET", "/v2.1/os-services", nova.admin, version="2.53"))["services"]
    cmp1 = next(s for s in new if s["host"] == "cmp1")
    assert str(uuid.UUID(cmp1["id"])) == cmp1["id"]
    assert cmp1["forced_down"] is True and cmp1["state"] == "down"
    r = await nova.ok("PUT", f"/v2.1/os-services/{cmp1['id']}", nova.admin, version="2.53",
                      json={"status": "disabled", "disabled_reason": "r", "forced_down": False})
    assert r["service"]["status"] == "disabled" and r["service"]["state"] == "up"
    assert r["service"]["id"] == cmp1["id"] and r["service"]["zone"] == "nova"
    await nova.fault("PUT", f"/v2.1/os-services/{cmp1['id']}", nova.admin, 400, version="2.53",
                     json={"status": "enabled", "disabled_reason": "r"})
    await nova.fault("PUT", f"/v2.1/os-services/{cmp1['id']}", nova.admin, 400, version="2.53",
                     json={})
    await nova.fault("PUT", "/v2.1/os-services/not-a-uuid", nova.admin, 400, version="2.53",
                     json={"status": "enabled"})
    ctl = next(s for s in new if s["host"] == "ctl")
    await nova.fault("PUT", f"/v2.1/os-services/{ctl['id']}", nova.admin, 400, version="2.53",
                     json={"status": "disabled"})
    r = await nova.http.delete(f"/v2.1/os-services/{cmp1['id']}",
                               headers={**nova.admin, "OpenStack-API-Version": "compute 2.53"})
    assert r.status_code == 204
    left = (await nova.ok("GET", "/v2.1/os-hypervisors", nova.admin))["hypervisors"]
    assert [h["hypervisor_hostname"] for h in left] == ["cmp2"]


async def test_hypervisors_per_microversion(nova: Nova, conductor: Hosts) -> None:
    await _two_hosts(conductor)
    listed = (await nova.ok("GET", "/v2.1/os-hypervisors", nova.admin))["hypervisors"]
    assert listed[0]["hypervisor_hostname"] == "cmp1" and isinstance(listed[0]["id"], int)
    assert set(listed[0]) == {"id", "hypervisor_hostname", "state", "status"}
    hid = listed[0]["id"]
    old = (await nova.ok("GET", f"/v2.1/os-hypervisors/{hid}", nova.admin))["hypervisor"]
    assert old["cpu_info"] == '{"arch": "x86_64"}'
    assert (old["vcpus"], old["vcpus_used"], old["free_ram_mb"], old["free_disk_gb"]) == (
        8, 2, 15360, 90)
    assert old["service"]["host"] == "cmp1" and old["running_vms"] == 1
    v228 = (await nova.ok("GET", f"/v2.1/os-hypervisors/{hid}", nova.admin, version="2.28"))
    assert v228["hypervisor"]["cpu_info"] == {"arch": "x86_64"}
    stats = (await nova.ok("GET", "/v2.1/os-hypervisors/statistics", nova.admin)
             )["hypervisor_statistics"]
    assert (stats["count"], stats["vcpus"], stats["vcpus_used"]) == (2, 16, 2)
    up = await nova.ok("GET", f"/v2.1/os-hypervisors/{hid}/uptime", nova.admin)
    assert up["hypervisor"]["uptime"] == "up 3 days"
    found = await nova.ok("GET", "/v2.1/os-hypervisors/cmp/search", nova.admin)
    assert len(found["hypervisors"]) == 2
    await nova.fault("GET", "/v2.1/os-hypervisors/zzz/search", nova.admin, 404)
    await nova.fault("GET", "/v2.1/os-hypervisors/cmp/search", nova.admin, 404, version="2.53")

    page = await nova.ok("GET", "/v2.1/os-hypervisors?limit=1", nova.admin, version="2.53")
    (h,) = page["hypervisors"]
    assert str(uuid.UUID(h["id"])) == h["id"]
    assert page["hypervisors_links"][0]["href"].endswith(f"limit=1&marker={h['id']}")
    pattern = await nova.ok("GET", "/v2.1/os-hypervisors/detail?hypervisor_hostname_pattern=2",
                            nova.admin, version="2.53")
    assert [x["hypervisor_hostname"] for x in pattern["hypervisors"]] == ["cmp2"]
    await nova.fault("GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=cmp&limit=1",
                     nova.admin, 400, version="2.53")
    with_servers = await nova.ok("GET", "/v2.1/os-hypervisors?with_servers=true", nova.admin,
                                 version="2.75")
    assert with_servers["hypervisors"][0]["servers"] == []
    await nova.fault("GET", f"/v2.1/os-hypervisors/{hid}", nova.admin, 400, version="2.53")
    await nova.fault("GET", f"/v2.1/os-hypervisors/{uuid.uuid4()}", nova.admin, 404,
                     version="2.53")

    v288 = (await nova.ok("GET", f"/v2.1/os-hypervisors/{h['id']}", nova.admin,
                          version="2.88"))["hypervisor"]
    assert "vcpus" not in v288 and "cpu_info" not in v288 and v288["uptime"] == "up 3 days"
    await nova.fault("GET", "/v2.1/os-hypervisors/statistics", nova.admin, 404, version="2.88")
    await nova.fault("GET", "/v2.1/os-hypervisors", nova.alice, 403)


async def test_aggregates_and_availability_zones(nova: Nova, conductor: Hosts) -> None:
    await _two_hosts(conductor)
    zones = await nova.ok("GET", "/v2.1/os-availability-zone", nova.alice)
    assert zones == {"availabilityZoneInfo": [
        {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]}

    made = (await nova.ok("POST", "/v2.1/os-aggregates", nova.admin, version="2.41",
                          json={"aggregate": {"name": "fast", "availability_zone": "az1"}}))
    agg = made["aggregate"]
    assert agg["availability_zone"] == "az1" and "hosts" not in agg and agg["uuid"]
    path = f"/v2.1/os-aggregates/{agg['id']}"
    await nova.fault("POST", "/v2.1/os-aggregates", nova.admin, 409,
                     json={"aggregate": {"name": "fast"}})
    await nova.fault("POST", "/v2.1/os-aggregates", nova.admin, 400,
                     json={"aggregate": {"name": ""}})
    await nova.fault("POST", "/v2.1/os-aggregates", nova.admin, 400,
                     json={"aggregate": {"name": "x", "availability_zone": "internal"}})
    await nova.fault("POST", "/v2.1/os-aggregates", nova.alice, 403,
                     json={"aggregate": {"name": "mine"}})
    shown = await nova.ok("POST", f"{path}/action", nova.admin,
                          json={"add_host": {"host": "cmp1"}})
    assert shown["aggregate"]["hosts"] == ["cmp1"]
    assert shown["aggregate"]["metadata"] == {"availability_zone": "az1"}
    await nova.fault("POST", f"{path}/action", nova.admin, 409,
                     json={"add_host": {"host": "cmp1"}})
    await nova.fault("POST", f"{path}/action", nova.admin, 404,
                     json={"add_host": {"host": "ghost"}})

    zones = await nova.ok("GET", "/v2.1/os-availability-zone", nova.alice)
    assert [z["zoneName"] for z in zones["availabilityZoneInfo"]] == ["az1", "nova"]
    detail = await nova.ok("GET", "/v2.1/os-availability-zone/detail", nova.admin)
    by_zone = {z["zoneName"]: z["hosts"] for z in detail["availabilityZoneInfo"]}
    assert by_zone["az1"]["cmp1"]["nova-compute"]["available"] is True
    assert "nova-scheduler" in by_zone["internal"]["ctl"]
    await nova.fault("GET", "/v2.1/os-availability-zone/detail", nova.alice, 403)
    assert await conductor.availability_zone("cmp1") == "az1"

    # a host sits in one zone: a second aggregate with another zone cannot take it
    other = (await nova.ok("POST", "/v2.1/os-aggregates", nova.admin,
                           json={"aggregate": {"name": "slow", "availability_zone": "az2"}}))
    other_path = f"/v2.1/os-aggregates/{other['aggregate']['id']}"
    await nova.fault("POST", f"{other_path}/action", nova.admin, 400,
                     json={"add_host": {"host": "cmp1"}})

    md = await nova.ok("POST", f"{path}/action", nova.admin,
                       json={"set_metadata": {"metadata": {"ssd": "true", "gpu": None}}})
    assert md["aggregate"]["metadata"] == {"availability_zone": "az1", "ssd": "true"}
    md = await nova.ok("POST", f"{path}/action", nova.admin,
                       json={"set_metadata": {"metadata": {"ssd": None}}})
    assert md["aggregate"]["metadata"] == {"availability_zone": "az1"}
    renamed = await nova.ok("PUT", path, nova.admin,
                            json={"aggregate": {"name": "faster", "availability_zone": "az3"}})
    assert renamed["aggregate"]["name"] == "faster"
    assert renamed["aggregate"]["availability_zone"] == "az3"
    assert renamed["aggregate"]["updated_at"] is not None
    listed = await nova.ok("GET", "/v2.1/os-aggregates", nova.admin)
    assert [a["name"] for a in listed["aggregates"]] == ["faster", "slow"]
    assert "uuid" not in listed["aggregates"][0]

    await nova.fault("DELETE", path, nova.admin, 400)  # it still has a host
    await nova.ok("POST", f"{path}/action", nova.admin, json={"remove_host": {"host": "cmp1"}})
    await nova.fault("POST", f"{path}/action", nova.admin, 404,
                     json={"remove_host": {"host": "cmp1"}})
    await nova.fault("POST", f"{path}/action", nova.admin, 400,
                     json={"add_host": {"host": "cmp1"}, "remove_host": {"host": "cmp1"}})
    r = await nova.http.post(f"{path}/images", headers={
        **nova.admin, "OpenStack-API-Version": "compute 2.81"},
        json={"cache": [{"id": str(uuid.uuid4())}]})
    assert r.status_code == 202
    await nova.fault("POST", f"{path}/images", nova.admin, 404, version="2.80",
                     json={"cache": [{"id": str(uuid.uuid4())}]})
    r = await nova.http.delete(path, headers=nova.admin)
    assert r.status_code == 200
    await nova.fault("GET", path, nova.admin, 404)
    await nova.fault("GET", "/v2.1/os-aggregates/abc", nova.admin, 400)
