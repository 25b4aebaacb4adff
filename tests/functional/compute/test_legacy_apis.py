"""The deprecated and fixed compute APIs tempest still calls: os-hosts (to 2.42),
os-instance_usage_audit_log and /extensions; and a trailing slash, which OpenStack's routers
never redirect to the collection (404), except Keystone's, which strips it (and Swift's after an
account, tests/functional/object/test_trailing_slash.py)."""

from __future__ import annotations

import pytest

from overcast.compute.hosts import Hosts
from tests.functional.compute.conftest import Nova

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)


async def _two_hosts(conductor: Hosts) -> None:
    for host in ("cmp1", "cmp2"):
        await conductor.register_host(host, hypervisor_type="QEMU", vcpus=8, memory_mb=16384,
                                      local_gb=100)
    await conductor.update_resources("cmp1", vcpus_used=2, memory_mb_used=1024,
                                     local_gb_used=10, running_vms=1)
    await conductor.register_service("ctl", "nova-scheduler")


async def test_os_hosts(nova: Nova, conductor: Hosts) -> None:
    await _two_hosts(conductor)
    hosts = (await nova.ok("GET", "/v2.1/os-hosts", nova.admin))["hosts"]
    assert hosts == [{"host_name": "cmp1", "service": "compute", "zone": "nova"},
                     {"host_name": "cmp2", "service": "compute", "zone": "nova"},
                     {"host_name": "ctl", "service": "scheduler", "zone": "internal"}]
    assert (await nova.ok("GET", "/v2.1/os-hosts?zone=", nova.admin))["hosts"] == hosts
    internal = await nova.ok("GET", "/v2.1/os-hosts?zone=internal", nova.admin)
    assert [h["host_name"] for h in internal["hosts"]] == ["ctl"]
    assert (await nova.ok("GET", "/v2.1/os-hosts?zone=xxx", nova.admin))["hosts"] == []
    shown = (await nova.ok("GET", "/v2.1/os-hosts/cmp1", nova.admin))["host"]
    assert [r["resource"]["project"] for r in shown] == ["(total)", "(used_now)", "(used_max)"]
    assert shown[0]["resource"] == {"host": "cmp1", "project": "(total)", "cpu": 8,
                                    "memory_mb": 16384, "disk_gb": 100}
    assert shown[1]["resource"]["cpu"] == 2
    await nova.fault("GET", "/v2.1/os-hosts/nowhere", nova.admin, 404)

    # disabling a host is its compute service's switch: it leaves the (enabled) host list
    r = await nova.ok("PUT", "/v2.1/os-hosts/cmp2", nova.admin, json={"status": "disable"})
    assert r == {"host": "cmp2", "status": "disabled"}
    services = (await nova.ok("GET", "/v2.1/os-services?host=cmp2", nova.admin))["services"]
    assert services[0]["status"] == "disabled"
    listed = (await nova.ok("GET", "/v2.1/os-hosts", nova.admin))["hosts"]
    assert "cmp2" not in [h["host_name"] for h in listed]
    r = await nova.ok("PUT", "/v2.1/os-hosts/cmp2", nova.admin, json={"status": "ENABLE"})
    assert r["status"] == "enabled"
    for body in ({"status": "invalid"}, {"maintenance_mode": "invalid"}, {}, {"x": "y"}):
        await nova.fault("PUT", "/v2.1/os-hosts/cmp1", nova.admin, 400, json=body)
    await nova.fault("PUT", "/v2.1/os-hosts/nowhere", nova.admin, 404,
                     json={"status": "enable"})
    # maintenance and power actions: no driver here has them (Nova's libvirt answer), and a
    # status asked for with maintenance is not applied half-way
    await nova.fault("PUT", "/v2.1/os-hosts/cmp1", nova.admin, 501,
                     json={"status": "disable", "maintenance_mode": "enable"})
    services = (await nova.ok("GET", "/v2.1/os-services?host=cmp1", nova.admin))["services"]
    assert services[0]["status"] == "enabled"
    for action in ("startup", "shutdown", "reboot"):
        await nova.fault("GET", f"/v2.1/os-hosts/cmp1/{action}", nova.admin, 501)
        await nova.fault("GET", f"/v2.1/os-hosts/nowhere/{action}", nova.admin, 404)
        await nova.fault("GET", f"/v2.1/os-hosts/cmp1/{action}", nova.alice, 403)
    await nova.fault("GET", "/v2.1/os-hosts", nova.alice, 403)
    await nova.fault("PUT", "/v2.1/os-hosts/cmp1", nova.alice, 403, json={"status": "enable"})
    # gone from 2.43
    await nova.fault("GET", "/v2.1/os-hosts", nova.admin, 404, version="2.43")


async def test_instance_usage_audit_log(nova: Nova, conductor: Hosts) -> None:
    await _two_hosts(conductor)
    log = (await nova.ok("GET", "/v2.1/os-instance_usage_audit_log", nova.admin)
           )["instance_usage_audit_logs"]
    # the audit does not run (Nova's default): every compute host has not run it
    assert log["num_hosts"] == 2 and log["hosts_not_run"] == ["cmp1", "cmp2"]
    assert log["overall_status"] == "0 of 2 hosts done. 0 errors." and log["log"] == {}
    shown = (await nova.ok("GET", "/v2.1/os-instance_usage_audit_log/2012-07-15%2010:00:00",
                           nova.admin))["instance_usage_audit_log"]
    assert (shown["period_beginning"], shown["period_ending"]) == (
        "2012-06-01 00:00:00", "2012-07-01 00:00:00")
    jan = (await nova.ok("GET", "/v2.1/os-instance_usage_audit_log/2013-01-02%2000:00:00.5",
                         nova.admin))["instance_usage_audit_log"]
    assert jan["period_beginning"] == "2012-12-01 00:00:00"
    msg = await nova.fault("GET", "/v2.1/os-instance_usage_audit_log/2012-13-45", nova.admin,
                           400)
    assert "Invalid timestamp" in msg
    await nova.fault("GET", "/v2.1/os-instance_usage_audit_log", nova.alice, 403)


async def test_extensions(nova: Nova) -> None:
    listed = (await nova.ok("GET", "/v2.1/extensions", nova.alice))["extensions"]
    assert "Hosts" in [e["name"] for e in listed]
    aliases = [e["alias"] for e in listed]
    assert aliases == sorted(aliases) and len(aliases) == len(set(aliases))
    shown = (await nova.ok("GET", "/v2.1/extensions/os-consoles", nova.reader))["extension"]
    assert shown["alias"] == "os-consoles" and shown["links"] == []
    assert set(shown) == {"alias", "description", "links", "name", "namespace", "updated"}
    await nova.fault("GET", "/v2.1/extensions/os-nothing", nova.alice, 404)


async def test_a_trailing_slash_is_not_the_collection(nova: Nova) -> None:
    await nova.fault("GET", "/v2.1/os-simple-tenant-usage/", nova.admin, 404)
    await nova.fault("DELETE", "/v2.1/images/", nova.alice, 404)
    await nova.fault("GET", "/v2.1/flavors/", nova.alice, 404)
    assert (await nova.ok("GET", "/v2.1/flavors", nova.alice))["flavors"] is not None
    # Keystone normalizes the URL instead
    r = await nova.ks.http.get("/v3/users/", headers=nova.admin)
    assert r.status_code == 200 and "users" in r.json()
