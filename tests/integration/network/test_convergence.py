"""The network agent converges: a bridge, a dnsmasq or a DHCP namespace deleted by hand comes
back within a resync; what the API deletes (a port's lease, then the network's wiring and its
DHCP port) goes."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from overcast.network.messages import bridge_name, tap_name
from tests.integration.network.conftest import (
    RESYNC,
    Dataplane,
    dhcp_dir,
    exists,
    link_exists,
    make_network,
    master,
    sh,
    until,
)

pytestmark = pytest.mark.integration


async def test_what_is_deleted_by_hand_comes_back_within_a_resync(
        dataplane: Dataplane) -> None:
    dp = dataplane
    net, _ = await make_network(dp)
    port = await dp.make("port", network_id=net["id"], **{"binding:host_id": dp.host})
    guest = await dp.plug_guest(port)
    await dp.status_is(port["id"], "ACTIVE")
    assert await dp.dhcp(guest) is not None
    bridge = bridge_name(net["id"])
    pidfile = dhcp_dir(dp, net["id"]) / "pid"

    # the bridge: made again, the guest's tap and the DHCP veth back on it
    await sh("ip", "link", "del", bridge)
    async def repaired() -> bool:
        return await master(tap_name(port["id"])) == bridge
    await until(repaired, seconds=RESYNC + 5, message="bridge repaired")

    # dnsmasq killed: started again
    old = int(pidfile.read_text())
    os.kill(old, signal.SIGKILL)

    async def restarted() -> bool:
        try:
            pid = int(pidfile.read_text())
        except (FileNotFoundError, ValueError):
            return False
        return pid != old and await exists(f"/proc/{pid}")
    await until(restarted, seconds=RESYNC + 5, message="dnsmasq restarted")

    # the namespace deleted: made again, with a dnsmasq inside the new one
    ns = f"qdhcp-{net['id']}"
    before = int(pidfile.read_text())
    await sh("ip", "netns", "del", ns)

    async def back() -> bool:
        try:
            pid = int(pidfile.read_text())
        except (FileNotFoundError, ValueError):
            return False
        return pid != before and await exists(f"/run/netns/{ns}") and \
            os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{ns}").st_ino
    await until(back, seconds=RESYNC + 8, message="DHCP namespace repaired")

    lease = await dp.dhcp(guest)
    assert lease is not None and lease["ip"] == port["fixed_ips"][0]["ip_address"]


async def test_deleting_ports_removes_their_leases_then_the_wiring(
        dataplane: Dataplane) -> None:
    dp = dataplane
    net, _ = await make_network(dp)
    first = await dp.make("port", network_id=net["id"], **{"binding:host_id": dp.host})
    second = await dp.make("port", network_id=net["id"], **{"binding:host_id": dp.host})
    guest = await dp.plug_guest(first)
    await dp.status_is(first["id"], "ACTIVE")
    hosts = dhcp_dir(dp, net["id"]) / "host"
    await until(lambda: asyncio.sleep(0, hosts.exists() and second["mac_address"]
                                      in hosts.read_text()), message="both leases written")

    r = await dp.req("DELETE", f"ports/{first['id']}")
    assert r.status_code == 204, r.text
    await until(lambda: asyncio.sleep(0, first["mac_address"] not in hosts.read_text()),
                message="the deleted port's lease removed")
    assert await dp.dhcp(guest, tries=2) is None  # its MAC gets nothing any more
    assert await link_exists(bridge_name(net["id"]))  # the other port still needs the network

    r = await dp.req("DELETE", f"ports/{second['id']}")
    assert r.status_code == 204, r.text

    async def gone() -> bool:
        return not await link_exists(bridge_name(net["id"])) and \
            not await exists(f"/run/netns/qdhcp-{net['id']}") and \
            not await exists(dhcp_dir(dp, net["id"]))
    await until(gone, seconds=RESYNC + 5, message="the network's wiring removed")
    assert not await link_exists(f"vxlan-{net['provider:segmentation_id']}")
    # and the DHCP port with it: the network has no port left
    await until(lambda: _no_ports(dp, net["id"]), message="DHCP port released")


async def _no_ports(dp: Dataplane, network_id: str) -> bool:
    return not await dp.ports(network_id)


