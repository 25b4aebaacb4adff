"""The network agent wires a host for real: a bridge and a VXLAN device per network with
forwarding entries to the other hosts, taps plugged, dnsmasq in `qdhcp-<network>` giving a
guest (a namespace here) exactly its port's fixed IP and its subnet's options."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from overcast.network.messages import bridge_name, tap_name
from tests.integration.network.conftest import Dataplane, link_exists, sh, until

pytestmark = pytest.mark.integration


def _fdb_now(device: str) -> set[tuple[str, str]]:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=device)[0]
        return {(str(e.get_attr("NDA_LLADDR")), str(e.get_attr("NDA_DST")))
                for e in ipr.fdb("dump", ifindex=index)
                if e["ifindex"] == index and e.get_attr("NDA_DST")}


async def _fdb(device: str) -> set[tuple[str, str]]:
    return await asyncio.to_thread(_fdb_now, device)


async def _master(name: str) -> str | None:
    return await asyncio.to_thread(_master_now, name)


def _master_now(name: str) -> str | None:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        master = ipr.get_links(found[0])[0].get_attr("IFLA_MASTER")
        if not master:
            return None
        return str(ipr.get_links(master)[0].get_attr("IFLA_IFNAME"))


async def _network(dp: Dataplane, **subnet: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    net = await dp.make("network", name="dp")
    prefix = f"10.{random.randrange(1, 250)}.{random.randrange(0, 250)}"
    sub = await dp.make("subnet", network_id=net["id"], cidr=f"{prefix}.0/24", ip_version=4,
                        **subnet)
    return net, sub


def _dhcp_dir(dp: Dataplane, network_id: str) -> Path:
    return Path(dp.config.state_dir) / "network" / dp.host / "dhcp" / network_id


async def test_a_guest_gets_its_fixed_ip_and_the_subnet_options(dataplane: Dataplane) -> None:
    dp = dataplane
    net, sub = await _network(dp, dns_nameservers=["192.0.2.53"], host_routes=[
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
    assert await _master(tap_name(port["id"])) == bridge
    assert await _master(f"vxlan-{net['provider:segmentation_id']}") == bridge
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
    opts = (_dhcp_dir(dp, net["id"]) / "opts").read_text()
    assert f"198.51.100.0/24,{prefix}.254" in opts

    # the guest's device goes: the port is DOWN
    await sh("ip", "netns", "del", guest)
    await dp.status_is(port["id"], "DOWN")


async def test_remote_hosts_ports_become_vxlan_forwarding_entries(
        dataplane: Dataplane) -> None:
    """l2population: another host's tunnel address (from its agent's report) and its ports'
    MACs are the VXLAN device's forwarding entries; they go with the ports."""
    dp = dataplane
    net, _ = await _network(dp)
    local = await dp.make("port", network_id=net["id"], **{"binding:host_id": dp.host})
    remote_host = f"{dp.host}-far"
    await dp.agent.bus.call("network-plugin", "report_state", report={
        "host": remote_host, "tunnel_ip": "192.0.2.77"})
    remote = await dp.make("port", network_id=net["id"], **{"binding:host_id": remote_host})
    device = f"vxlan-{net['provider:segmentation_id']}"
    wanted = {("00:00:00:00:00:00", "192.0.2.77"), (remote["mac_address"], "192.0.2.77")}
    async def entries() -> bool:
        return await link_exists(device) and await _fdb(device) == wanted
    await until(entries, message="FDB entries for the remote host")
    assert local["mac_address"] not in {mac for mac, _ in await _fdb(device)}

    r = await dp.req("DELETE", f"ports/{remote['id']}")
    assert r.status_code == 204, r.text
    async def emptied() -> bool:
        return await _fdb(device) == set()
    await until(emptied, message="FDB entries removed with the remote port")
