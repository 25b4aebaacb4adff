"""Servers on Networking: Compute and Networking in-process, Compute reaching Neutron's API
through its NetworkClient (the user's token, the nova service user for bindings). Ports made
and bound at boot, addresses from ports and floating IPs, validation as Nova answers it,
rollback of ports on a failed build, os-interface and os-server-external-events."""

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
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw", network=True) as c:
        r = await c.glance.patch(f"/v2/images/{c.image}", json=[
            {"op": "replace", "path": "/visibility", "value": "public"}], headers={
            **c.admin, "Content-Type": "application/openstack-images-v2.1-json-patch"})
        assert r.status_code == 200, r.text  # bob boots it too
        yield c


async def _neutron(c: Cloud, method: str, path: str, who: dict[str, str], status: int,
                   body: Any = None, **kw: Any) -> Any:
    assert c.neutron is not None
    r = await c.neutron.request(method, f"/v2.0/{path}", headers=who, json=body, **kw)
    assert r.status_code == status, r.text
    return r.json() if r.content else None


async def _net(c: Cloud, who: dict[str, str], name: str, cidr: str, **attrs: Any) -> str:
    net = (await _neutron(c, "POST", "networks", who, 201,
                          {"network": {"name": name, **attrs}}))["network"]
    await _neutron(c, "POST", "subnets", who, 201, {"subnet": {
        "network_id": net["id"], "cidr": cidr, "ip_version": 4}})
    return str(net["id"])


async def _boot(c: Cloud, who: dict[str, str], networks: Any, status: int = 202,
                **extra: Any) -> Any:
    r = await c.http.post("/v2.1/servers", headers=mv("2.96", who), json={"server": {
        "name": "vm", "imageRef": c.image, "flavorRef": "1", "networks": networks, **extra}})
    assert r.status_code == status, r.text
    return r.json()["server"]["id"] if status == 202 else r.json()


async def _wait(c: Cloud, sid: str, status: str, who: dict[str, str] | None = None
                ) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(500):
        r = await c.http.get(f"/v2.1/servers/{sid}", headers=mv("2.96", who or c.alice))
        if r.status_code == 404 and status == "DELETED":
            return {}
        body = r.json().get("server", {})
        if body.get("status") == status and body.get("OS-EXT-STS:task_state") is None:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"{sid} did not reach {status}: {body}")


async def _ports(c: Cloud, **filters: str) -> list[dict[str, Any]]:
    return list((await _neutron(c, "GET", "ports", c.admin, 200, params=filters))["ports"])


# Two tests, each a few scenarios in a row: starting the four services costs more than the
# scenarios themselves.


async def test_boot_addresses_floating_ip_interfaces_and_events(cloud: Cloud) -> None:
    await _boot_on_a_network_binds_a_port_and_shows_addresses(cloud)
    await _interfaces_and_external_events(cloud)


async def test_ports_auto_validation_isolation_and_rollback(cloud: Cloud) -> None:
    theirs = await _a_users_port_is_bound_then_kept_and_auto_picks_the_one_network(cloud)
    await _validation_and_isolation_as_nova(cloud, theirs)
    await _a_failed_port_leaves_nothing_behind(cloud)


async def _boot_on_a_network_binds_a_port_and_shows_addresses(cloud: Cloud) -> None:
    c = cloud
    net = await _net(c, c.alice, "demo-net", "192.168.1.0/24")
    sid = await _boot(c, c.alice, [{"uuid": net}])
    body = await _wait(c, sid, "ACTIVE")
    (port,) = await _ports(c, device_id=sid)
    assert port["device_owner"] == "compute:nova" and port["binding:host_id"]
    assert port["project_id"] == body["tenant_id"]
    ip = port["fixed_ips"][0]["ip_address"]
    assert body["addresses"] == {"demo-net": [{
        "version": 4, "addr": ip, "OS-EXT-IPS:type": "fixed",
        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
    assert body["accessIPv4"] == ""
    r = await c.http.get(f"/v2.1/servers/{sid}/ips", headers=c.alice)
    assert r.json() == {"addresses": {"demo-net": [{"version": 4, "addr": ip}]}}
    for pattern, found in ((ip, [sid]), (ip[:-1], [sid]), ("192.168.9", [])):
        r = await c.http.get("/v2.1/servers", headers=c.alice, params={"ip": pattern})
        assert [s["id"] for s in r.json()["servers"]] == found, pattern
    # A floating IP associated through Networking shows at once.
    ext = await _net(c, c.admin, "ext", "203.0.113.0/24", **{"router:external": True})
    router = (await _neutron(c, "POST", "routers", c.admin, 201, {"router": {
        "name": "r", "external_gateway_info": {"network_id": ext}}}))["router"]
    sub = port["fixed_ips"][0]["subnet_id"]
    await _neutron(c, "PUT", f"routers/{router['id']}/add_router_interface", c.admin, 200,
                   {"subnet_id": sub})
    fip = (await _neutron(c, "POST", "floatingips", c.alice, 201, {"floatingip": {
        "floating_network_id": ext, "port_id": port["id"]}}))["floatingip"]
    r = await c.http.get("/v2.1/servers/detail", headers=mv("2.96", c.alice))
    (listed,) = r.json()["servers"]
    assert [a["addr"] for a in listed["addresses"]["demo-net"]] == [
        ip, fip["floating_ip_address"]]
    assert listed["addresses"]["demo-net"][1]["OS-EXT-IPS:type"] == "floating"
    # Delete: the port Compute made goes with the server.
    r = await c.http.delete(f"/v2.1/servers/{sid}", headers=c.alice)
    assert r.status_code == 204
    await _wait(c, sid, "DELETED")
    # ... before the server is gone (Nova deallocates first): its subnet can go at once.
    assert await _ports(c, device_id=sid) == []


async def _a_users_port_is_bound_then_kept_and_auto_picks_the_one_network(
        cloud: Cloud) -> str:
    """As bob: his port, then "auto" on his one network; his network's id."""
    c = cloud
    net = await _net(c, c.bob, "mine", "10.0.0.0/24")
    port = (await _neutron(c, "POST", "ports", c.bob, 201,
                           {"port": {"network_id": net}}))["port"]
    sid = await _boot(c, c.bob, [{"port": port["id"]}])
    await _wait(c, sid, "ACTIVE", c.bob)
    (bound,) = await _ports(c, device_id=sid)
    assert bound["id"] == port["id"] and bound["binding:host_id"]
    # In use now: a second server cannot take it.
    msg = await _boot(c, c.bob, [{"port": port["id"]}], status=409)
    assert msg["conflictingRequest"]["message"] == f"Port {port['id']} is still in use."
    # auto: the project's only network.
    auto = await _boot(c, c.bob, "auto")
    body = await _wait(c, auto, "ACTIVE", c.bob)
    assert list(body["addresses"]) == ["mine"]
    for s in (sid, auto):
        assert (await c.http.delete(f"/v2.1/servers/{s}", headers=c.bob)).status_code == 204
        await _wait(c, s, "DELETED", c.bob)
    kept = (await _neutron(c, "GET", f"ports/{port['id']}", c.admin, 200))["port"]
    assert kept["device_id"] == "" and kept["binding:host_id"] == ""
    assert await _ports(c, network_id=net) == [kept]
    # A second network makes auto ambiguous (409).
    await _net(c, c.bob, "other", "10.0.1.0/24")
    msg = await _boot(c, c.bob, "auto", status=409)
    assert "Multiple possible networks found" in msg["conflictingRequest"]["message"]
    return net


async def _validation_and_isolation_as_nova(cloud: Cloud, theirs: str) -> None:
    c = cloud
    missing = "3f1ae2a4-7c43-4f0e-9d6f-4f44f4c8a6b1"
    # Another project's network is not found (400, as Nova's NetworkNotFound).
    for net in (theirs, missing):
        body = await _boot(c, c.alice, [{"uuid": net}], status=400)
        assert body["badRequest"]["message"] == f"Network {net} could not be found."
    body = await _boot(c, c.alice, [{"port": missing}], status=400)
    assert body["badRequest"]["message"] == f"Port id {missing} could not be found."
    body = await _boot(c, c.alice, [{"uuid": "not-a-uuid"}], status=400)
    assert "network uuid is not in proper format" in body["badRequest"]["message"]
    body = await _boot(c, c.alice, "auto", status=400)
    assert body["badRequest"]["message"].startswith("Unable to automatically allocate")
    bare = (await _neutron(c, "POST", "networks", c.alice, 201,
                           {"network": {"name": "bare"}}))["network"]["id"]
    body = await _boot(c, c.alice, [{"uuid": bare}], status=400)
    assert "requires a subnet" in body["badRequest"]["message"]
    net = await _net(c, c.alice, "small", "10.1.0.0/29")
    taken = (await _neutron(c, "POST", "ports", c.alice, 201, {"port": {
        "network_id": net, "fixed_ips": [{"ip_address": "10.1.0.3"}]}}))["port"]
    body = await _boot(c, c.alice, [{"uuid": net, "fixed_ip": "10.1.0.3"}], status=400)
    assert "10.1.0.3 is already in use" in body["badRequest"]["message"]
    # Bob cannot boot on Alice's port either.
    body = await _boot(c, c.bob, [{"port": taken["id"]}], status=400)
    assert "could not be found" in body["badRequest"]["message"]
    body = await _boot(c, c.alice, [{"uuid": net}], status=400,
                       security_groups=[{"name": "nope"}])
    assert body["badRequest"]["message"] == "Security group nope not found."
    group = (await _neutron(c, "POST", "security-groups", c.alice, 201,
                            {"security_group": {"name": "web"}}))["security_group"]
    sid = await _boot(c, c.alice, [{"uuid": net}], security_groups=[{"name": "web"}])
    await _wait(c, sid, "ACTIVE")
    (port,) = await _ports(c, device_id=sid)
    assert port["security_groups"] == [group["id"]]
    body = await _wait(c, sid, "ACTIVE")
    assert body["security_groups"] == [{"name": "web"}]
    act = f"/v2.1/servers/{sid}/action"
    r = await c.http.post(act, headers=c.alice, json={"addSecurityGroup": {"name": "default"}})
    assert r.status_code == 202, r.text
    r = await c.http.post(act, headers=c.alice, json={"removeSecurityGroup": {"name": "web"}})
    assert r.status_code == 202, r.text
    assert (await _wait(c, sid, "ACTIVE"))["security_groups"] == [{"name": "default"}]
    r = await c.http.post(act, headers=c.alice, json={"removeSecurityGroup": {"name": "web"}})
    assert r.status_code == 400 and "not associated" in r.json()["badRequest"]["message"]
    r = await c.http.post(act, headers=c.alice, json={"addSecurityGroup": {"name": "nope"}})
    assert r.status_code == 404, r.text
    r = await c.http.post(act, headers=c.alice,
                          json={"removeSecurityGroup": {"name": "default"}})
    assert r.status_code == 202, r.text
    assert "security_groups" not in await _wait(c, sid, "ACTIVE")
    # "none": no port at all.
    sid = await _boot(c, c.alice, "none")
    body = await _wait(c, sid, "ACTIVE")
    assert body["addresses"] == {} and await _ports(c, device_id=sid) == []


async def _a_failed_port_leaves_nothing_behind(cloud: Cloud) -> None:
    c = cloud
    # A /30 has two addresses: the gateway takes one, the first server the other.
    net = await _net(c, c.alice, "tiny", "10.2.0.0/30")
    first = await _boot(c, c.alice, [{"uuid": net}])
    await _wait(c, first, "ACTIVE")
    before = {p["id"] for p in await _ports(c)}
    second = await _boot(c, c.alice, [{"uuid": net}])
    body = await _wait(c, second, "ERROR")
    assert "Failed to allocate the network(s)" in body["fault"]["message"]
    assert {p["id"] for p in await _ports(c)} == before
    assert (await c.http.delete(f"/v2.1/servers/{second}", headers=c.alice)).status_code == 204
    await _wait(c, second, "DELETED")


async def _interfaces_and_external_events(cloud: Cloud) -> None:
    c = cloud
    a = await _net(c, c.alice, "a", "10.3.0.0/24")
    b = await _net(c, c.alice, "b", "10.4.0.0/24")
    sid = await _boot(c, c.alice, [{"uuid": a}])
    await _wait(c, sid, "ACTIVE")
    r = await c.http.post(f"/v2.1/servers/{sid}/os-interface", headers=mv("2.70", c.alice),
                          json={"interfaceAttachment": {"net_id": b, "tag": "t1"}})
    assert r.status_code == 200, r.text
    att = r.json()["interfaceAttachment"]
    assert att["net_id"] == b and att["tag"] == "t1" and att["fixed_ips"][0]["ip_address"]
    r = await c.http.get(f"/v2.1/servers/{sid}/os-interface", headers=mv("2.70", c.alice))
    listed = r.json()["interfaceAttachments"]
    assert {i["net_id"] for i in listed} == {a, b}
    body = await _wait(c, sid, "ACTIVE")
    assert set(body["addresses"]) == {"a", "b"}
    r = await c.http.get(f"/v2.1/servers/{sid}/os-interface/{att['port_id']}",
                         headers=c.alice)
    assert r.json()["interfaceAttachment"]["port_id"] == att["port_id"]
    r = await c.http.delete(f"/v2.1/servers/{sid}/os-interface/{att['port_id']}",
                            headers=c.alice)
    assert r.status_code == 202
    assert (await _neutron(c, "GET", f"ports/{att['port_id']}", c.admin, 404))
    r = await c.http.get(f"/v2.1/servers/{sid}/os-interface/{att['port_id']}",
                         headers=c.alice)
    assert r.status_code == 404 and "itemNotFound" in r.json()
    # Bob sees none of it.
    r = await c.http.get(f"/v2.1/servers/{sid}/os-interface", headers=c.bob)
    assert r.status_code == 404
    # External events: admin only, a code per event, 207 when not all were accepted.
    events = {"events": [
        {"name": "network-vif-plugged", "server_uuid": sid, "tag": listed[0]["port_id"]},
        {"name": "network-changed", "server_uuid": "0f2b1b1e-36f3-4d3a-8f3e-2b1d3c4e5f60"}]}
    r = await c.http.post("/v2.1/os-server-external-events", headers=c.alice, json=events)
    assert r.status_code == 403
    r = await c.http.post("/v2.1/os-server-external-events", headers=c.admin, json=events)
    assert r.status_code == 207, r.text
    assert [(e["status"], e["code"]) for e in r.json()["events"]] == [
        ("completed", 200), ("failed", 404)]
    r = await c.http.post("/v2.1/os-server-external-events", headers=c.admin,
                          json={"events": events["events"][:1]})
    assert r.status_code == 200 and r.json()["events"][0]["code"] == 200
    r = await c.http.post("/v2.1/os-server-external-events", headers=c.admin,
                          json={"events": [{"name": "bogus", "server_uuid": sid}]})
    assert r.status_code == 400 and "badRequest" in r.json()
