"""A first walk through the main resources."""

from __future__ import annotations

from tests.functional.network.conftest import Neutron


async def test_walk(neutron: Neutron) -> None:
    n = neutron
    r = await n.http.get("/")
    assert r.status_code == 200, r.text
    net = await n.net(n.alice, name="demo-net")
    assert net["mtu"] == 1450 and net["status"] == "ACTIVE"
    assert "provider:network_type" not in net
    sub = await n.subnet(n.alice, net["id"], "192.168.1.0/24", gateway_ip="192.168.1.1")
    assert sub["allocation_pools"] == [{"start": "192.168.1.2", "end": "192.168.1.254"}]
    port = await n.port(n.alice, net["id"])
    assert port["fixed_ips"][0]["ip_address"] == "192.168.1.2", port
    assert port["status"] == "DOWN" and len(port["security_groups"]) == 1
    r = await n.req("GET", "ports", n.alice)
    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()["ports"]] == [port["id"]]
    r = await n.req("GET", "security-groups", n.alice)
    assert [g["name"] for g in r.json()["security_groups"]] == ["default"]
    router = await n.make(n.alice, "router", "routers", name="demo-router")
    r = await n.req("PUT", f"routers/{router['id']}/add_router_interface", n.alice,
                    {"subnet_id": sub["id"]})
    assert r.status_code == 200, r.text
    ext = await n.net(n.admin, name="ext-net", **{"router:external": True, "shared": True,
                                                   "provider:network_type": "flat",
                                                   "provider:physical_network": "provider"})
    await n.subnet(n.admin, ext["id"], "203.0.113.0/24", gateway_ip="203.0.113.1",
                   enable_dhcp=False,
                   allocation_pools=[{"start": "203.0.113.101", "end": "203.0.113.200"}])
    r = await n.req("PUT", f"routers/{router['id']}", n.alice,
                    {"router": {"external_gateway_info": {"network_id": ext["id"]}}})
    assert r.status_code == 200, r.text
    gw = r.json()["router"]["external_gateway_info"]
    assert gw["external_fixed_ips"][0]["ip_address"] == "203.0.113.101"
    fip = await n.make(n.alice, "floatingip", "floatingips", floating_network_id=ext["id"])
    assert fip["floating_ip_address"] == "203.0.113.102" and fip["status"] == "DOWN"
    r = await n.req("PUT", f"floatingips/{fip['id']}", n.alice,
                    {"floatingip": {"port_id": port["id"]}})
    assert r.status_code == 200, r.text
    assert r.json()["floatingip"]["router_id"] == router["id"]
    r = await n.req("GET", "extensions", n.alice)
    assert r.status_code == 200
