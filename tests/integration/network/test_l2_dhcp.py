"""The network agent wires a host for real: a bridge and a VXLAN device per network with
forwarding entries to the other hosts, taps plugged, dnsmasq in `qdhcp-<network>` giving a
guest (a namespace here) exactly its port's fixed IP and its subnet's options."""

from __future__ import annotations

import pytest

from overcast.network.messages import bridge_name, tap_name
from tests.integration.network.conftest import (
    Dataplane,
    dhcp_dir,
    fdb,
    link_exists,
    make_network,
    master,
    sh,
    until,
)

pytestmark = pytest.mark.integration


async def test_a_guest_gets_its_fixed_ip_and_the_subnet_options(dataplane: Dataplane) -> None:
    dp = dataplane
    net, sub = await make_network(dp, dns_nameservers=["192.0.2.53"], host_routes=[
        {"destination": "198.51.100.0/24", "nexthop": "10.255.255.1"}])
    prefix = sub["cidr"].rsplit(".", 1)[0]
    # the host route's nexthop must be on the subnet
    r = await dp.req("PUT", f"subnets/{sub['id']}", {"subnet": {"host_routes": [
        {"destination": "198.51.100.0/24", "nexthop": f"{prefix}.254"}]}})
    assert r.status_code == 200, r.text
    port = await dp.make("port", network_id=net["id"], **{"binding:host_id": dp.host})
    assert port["status"] == "DOWN"
    guest = await dp.plug_guest(port)
    await dp.status_is(port["id"], "ACTIVE")

    # L2: the bridge with the network's MTU, the tap on it, the VXLAN device with the VNI
    bridge = bridge_name(net["id"])
    assert net["mtu"] == 1450 and net["provider:network_type"] == "vxlan"
    assert await master(tap_name(port["id"])) == bridge
    assert await master(f"vxlan-{net['provider:segmentation_id']}") == bridge
    _, out = await sh("ip", "-d", "link", "show", bridge)
    assert "mtu 1450" in out
    # the DHCP port is the service's, bound here, wired and ACTIVE
    dhcp = [p for p in await dp.ports(net["id"]) if p["device_owner"] == "network:dhcp"]
    assert len(dhcp) == 1 and dhcp[0]["binding:host_id"] == dp.host
    await dp.status_is(dhcp[0]["id"], "ACTIVE")

    lease = await dp.dhcp(guest)
    assert lease is not None
    assert lease["ip"] == port["fixed_ips"][0]["ip_address"]
    assert lease["mask"] == "24" and lease["router"] == sub["gateway_ip"]
    assert lease["dns"] == "192.0.2.53" and lease["mtu"] == "1450"
    # the host route came too (as RFC 3442 routes, beside the default one)
    opts = (dhcp_dir(dp, net["id"]) / "opts").read_text()
    assert f"198.51.100.0/24,{prefix}.254" in opts

    # the guest's device goes: the port is DOWN
    await sh("ip", "netns", "del", guest)
    await dp.status_is(port["id"], "DOWN")


async def test_remote_hosts_ports_become_vxlan_forwarding_entries(
        dataplane: Dataplane) -> None:
    """l2population: another host's tunnel address (from its agent's report) and its ports'
    MACs are the VXLAN device's forwarding entries; they go with the ports."""
    dp = dataplane
    net, _ = await make_network(dp)
    local = await dp.make("port", network_id=net["id"], **{"binding:host_id": dp.host})
    remote_host = f"{dp.host}-far"
    await dp.agent.bus.call("network-plugin", "report_state", report={
        "host": remote_host, "tunnel_ip": "192.0.2.77"})
    remote = await dp.make("port", network_id=net["id"], **{"binding:host_id": remote_host})
    device = f"vxlan-{net['provider:segmentation_id']}"
    wanted = {("00:00:00:00:00:00", "192.0.2.77"), (remote["mac_address"], "192.0.2.77")}
    async def entries() -> bool:
        return await link_exists(device) and await fdb(device) == wanted
    await until(entries, message="FDB entries for the remote host")
    assert local["mac_address"] not in {mac for mac, _ in await fdb(device)}

    r = await dp.req("DELETE", f"ports/{remote['id']}")
    assert r.status_code == 204, r.text
    async def emptied() -> bool:
        return await fdb(device) == set()
    await until(emptied, message="FDB entries removed with the remote port")
