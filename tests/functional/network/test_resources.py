"""Subnets, ports, security groups, routers, floating IPs, subnet pools and quotas as
Neutron answers them."""

from __future__ import annotations

from tests.functional.network.conftest import Neutron


async def test_subnets_pools_gateway_and_slaac(neutron: Neutron) -> None:
    n = neutron
    net = await n.net(n.alice)
    no_gw = await n.subnet(n.alice, net["id"], "10.2.0.0/29", gateway_ip=None)
    assert no_gw["gateway_ip"] is None
    assert no_gw["allocation_pools"] == [{"start": "10.2.0.1", "end": "10.2.0.6"}]
    r = await n.req("POST", "subnets", n.alice, {"subnet": {
        "network_id": net["id"], "cidr": "10.2.0.0/28", "ip_version": 4}})
    assert r.status_code == 400  # overlaps
    r = await n.req("POST", "subnets", n.alice, {"subnet": {
        "network_id": net["id"], "cidr": "10.3.0.0/24", "ip_version": 4,
        "gateway_ip": "10.3.0.5",
        "allocation_pools": [{"start": "10.3.0.2", "end": "10.3.0.9"}]}})
    assert r.status_code == 409
    assert r.json()["NeutronError"]["type"] == "GatewayConflictWithAllocationPools"
    v6 = await n.subnet(n.alice, net["id"], "2001:db8::/64", ipv6_ra_mode="slaac",
                        ipv6_address_mode="slaac")
    port = await n.port(n.alice, net["id"], mac_address="fa:16:3e:11:22:33")
    ips = {ip["subnet_id"]: ip["ip_address"] for ip in port["fixed_ips"]}
    assert ips[v6["id"]] == "2001:db8::f816:3eff:fe11:2233"
    assert ips[no_gw["id"]] == "10.2.0.1"
    r = await n.req("PUT", f"subnets/{no_gw['id']}", n.alice, {"subnet": {
        "dns_nameservers": ["8.8.8.8", "8.8.8.8"]}})
    assert r.status_code == 400
    r = await n.req("DELETE", f"subnets/{no_gw['id']}", n.alice)
    assert r.status_code == 409 and r.json()["NeutronError"]["type"] == "SubnetInUse"
    # A SLAAC subnet goes, and its addresses with it, as in Neutron.
    r = await n.req("DELETE", f"subnets/{v6['id']}", n.alice)
    assert r.status_code == 204
    left = (await n.req("GET", f"ports/{port['id']}", n.alice)).json()["port"]["fixed_ips"]
    assert left == [{"subnet_id": no_gw["id"], "ip_address": "10.2.0.1"}]


async def test_subnet_pool_allocation(neutron: Neutron) -> None:
    n = neutron
    pool = await n.make(n.alice, "subnetpool", "subnetpools", name="p",
                        prefixes=["10.50.0.0/16"], default_prefixlen=24, min_prefixlen=20)
    net = await n.net(n.alice)
    first = await n.make(n.alice, "subnet", "subnets", network_id=net["id"], ip_version=4,
                         subnetpool_id=pool["id"])
    second = await n.make(n.alice, "subnet", "subnets", network_id=net["id"], ip_version=4,
                          subnetpool_id=pool["id"], prefixlen=22)
    assert first["cidr"] == "10.50.0.0/24" and second["cidr"] == "10.50.4.0/22"
    r = await n.req("DELETE", f"subnetpools/{pool['id']}", n.alice)
    assert r.status_code == 409


async def test_security_groups(neutron: Neutron) -> None:
    n = neutron
    groups = (await n.req("GET", "security-groups", n.alice)).json()["security_groups"]
    default = groups[0]
    rules = {(r["direction"], r["ethertype"], r["remote_group_id"])
             for r in default["security_group_rules"]}
    assert rules == {("egress", "IPv4", None), ("egress", "IPv6", None),
                     ("ingress", "IPv4", default["id"]), ("ingress", "IPv6", default["id"])}
    body = {"security_group_rule": {"security_group_id": default["id"], "direction": "ingress",
                                    "protocol": "tcp", "port_range_min": 22,
                                    "port_range_max": 22}}
    r = await n.req("POST", "security-group-rules", n.alice, body)
    assert r.status_code == 201
    r = await n.req("POST", "security-group-rules", n.alice, body)
    assert r.status_code == 409 and r.json()["NeutronError"]["type"] == "SecurityGroupRuleExists"
    body["security_group_rule"]["protocol"] = "6"  # the same rule by number
    r = await n.req("POST", "security-group-rules", n.alice, body)
    assert r.status_code == 409
    r = await n.req("POST", "security-groups", n.alice, {"security_group": {"name": "default"}})
    assert r.status_code == 409
    r = await n.req("POST", "security-group-rules", n.alice, {"security_group_rule": {
        "security_group_id": default["id"], "direction": "ingress", "protocol": "icmp",
        "port_range_max": 6}})
    assert r.status_code == 400 and "ICMP type (port-range-min) is missing" in r.text
    r = await n.req("POST", "security-group-rules", n.alice, {"security_group_rule": {
        "security_group_id": default["id"], "direction": "ingress", "ethertype": "IPv6",
        "remote_ip_prefix": "10.0.0.0/8"}})
    assert r.status_code == 400 and "Conflicting value ethertype" in r.text


async def test_routers_and_floating_ips(neutron: Neutron) -> None:
    n = neutron
    ext = await n.net(n.admin, name="ext", **{"router:external": True})
    await n.subnet(n.admin, ext["id"], "203.0.113.0/24", gateway_ip="203.0.113.1",
                   allocation_pools=[{"start": "203.0.113.101", "end": "203.0.113.102"}])
    net = await n.net(n.alice)
    sub = await n.subnet(n.alice, net["id"], "192.168.1.0/24")
    port = await n.port(n.alice, net["id"])
    fip = await n.make(n.alice, "floatingip", "floatingips", floating_network_id=ext["id"])
    assert fip["floating_ip_address"] == "203.0.113.101"
    r = await n.req("PUT", f"floatingips/{fip['id']}", n.alice,
                    {"floatingip": {"port_id": port["id"]}})
    assert r.status_code == 404
    assert r.json()["NeutronError"]["type"] == "ExternalGatewayForFloatingIPNotFound"
    router = await n.make(n.alice, "router", "routers", name="r",
                          external_gateway_info={"network_id": ext["id"]})
    assert router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == \
        "203.0.113.102"
    r = await n.req("POST", "floatingips", n.alice,
                    {"floatingip": {"floating_network_id": ext["id"]}})
    assert r.status_code == 409  # the external pool is used up
    r = await n.req("PUT", f"routers/{router['id']}/add_router_interface", n.alice,
                    {"subnet_id": sub["id"]})
    iface = r.json()
    assert r.status_code == 200 and iface["subnet_id"] == sub["id"]
    r = await n.req("PUT", f"floatingips/{fip['id']}", n.alice,
                    {"floatingip": {"port_id": port["id"]}})
    assert r.status_code == 200
    assert r.json()["floatingip"]["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    r = await n.req("DELETE", f"routers/{router['id']}", n.alice)
    assert r.status_code == 409
    r = await n.req("DELETE", f"ports/{iface['port_id']}", n.alice)
    assert r.status_code == 409
    r = await n.req("PUT", f"routers/{router['id']}", n.alice,
                    {"router": {"routes": [{"destination": "10.0.0.0/8",
                                            "nexthop": "192.168.1.50"}]}})
    assert r.status_code == 200 and len(r.json()["router"]["routes"]) == 1
    r = await n.req("PUT", f"routers/{router['id']}", n.alice,
                    {"router": {"routes": [{"destination": "10.0.0.0/8",
                                            "nexthop": "172.16.0.1"}]}})
    assert r.status_code == 400
    r = await n.req("GET", f"ports?device_id={router['id']}", n.alice)
    assert [p["device_owner"] for p in r.json()["ports"]] == ["network:router_interface"]


async def test_quotas(neutron: Neutron) -> None:
    n = neutron
    r = await n.req("PUT", f"quotas/{n.alpha}", n.admin, {"quota": {"network": 2}})
    assert r.status_code == 200 and r.json()["quota"]["network"] == 2
    await n.net(n.alice)
    await n.net(n.alice)
    r = await n.req("POST", "networks", n.alice, {"network": {"name": "third"}})
    assert r.status_code == 409 and r.json()["NeutronError"]["type"] == "OverQuota"
    details = (await n.req("GET", f"quotas/{n.alpha}/details", n.alice)).json()["quota"]
    assert details["network"] == {"limit": 2, "used": 2, "reserved": 0}
    r = await n.req("PUT", f"quotas/{n.alpha}", n.alice, {"quota": {"network": 20}})
    assert r.status_code == 403
    r = await n.req("DELETE", f"quotas/{n.alpha}", n.admin)
    assert r.status_code == 204
    assert (await n.req("GET", f"quotas/{n.alpha}", n.alice)).json()["quota"]["network"] == 100
