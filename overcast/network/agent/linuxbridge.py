"""The Linux-bridge backend: a bridge per network (`brq` + id), a unicast VXLAN device per
tenant network (`vxlan-<VNI>`, no learning, no multicast) whose forwarding entries name the
other hosts' tunnel endpoints as Neutron's l2population fills them, guest taps plugged into
the bridge with the network's MTU, and DHCP from dnsmasq in a namespace (`dnsmasq.py`).

Everything in the host namespace goes through netlink (pyroute2), in a worker thread:
pyroute2's sockets block (inside DHCP namespaces `dnsmasq.py` runs `ip -n`, and says why).
A bridge carries `overcast:<host>:<network id>` as its alias, so after a restart the agent
knows which bridges are its own and which network each one is, even if the network is gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from overcast.network.agent.dnsmasq import DhcpServers
from overcast.network.messages import DesiredNetwork, DesiredPort, bridge_name, tap_name

__all__ = ["LinuxBridgeBackend"]

log = logging.getLogger("overcast.network.agent")

VXLAN_PORT = 4789  # IANA's, as Neutron's linuxbridge agent uses
_ZERO_MAC = "00:00:00:00:00:00"  # the flooding entry: broadcast and unknown go to each VTEP
_IFF_UP = 0x1


def _attr(msg: Any, *path: str) -> Any:
    """A nested netlink attribute, or None."""
    for name in path:
        if msg is None:
            return None
        msg = msg.get_attr(name)
    return msg


def _kind(link: Any) -> str | None:
    kind = _attr(link, "IFLA_LINKINFO", "IFLA_INFO_KIND")
    return str(kind) if kind else None


class LinuxBridgeBackend:
    name = "linuxbridge"

    def __init__(self, host: str, state_dir: Path, *, local_ip: str | None = None):
        self.host = host
        self.local_ip = local_ip or None
        self.dhcp = DhcpServers(state_dir / "dhcp")

    # -- what the host can do --
    def problems(self) -> list[str]:
        found = []
        if os.geteuid() != 0:
            found.append("the network agent needs root (CAP_NET_ADMIN) to wire networks")
        if not Path("/proc/self/ns/net").exists():
            found.append("this kernel has no network namespaces")
        try:
            import pyroute2  # noqa: F401
        except ImportError:
            found.append("pyroute2 is not installed")
        return found

    def dhcp_problems(self) -> list[str]:
        found = []
        if shutil.which("dnsmasq") is None:
            found.append("dnsmasq is not installed (Debian: dnsmasq-base)")
        if shutil.which("ip") is None:
            found.append("ip (iproute2) is not installed")
        return found

    def _alias(self, network_id: str) -> str:
        return f"overcast:{self.host}:{network_id}"

    # -- the interface --
    async def wired_networks(self) -> set[str]:
        return set(await asyncio.to_thread(self._bridges)) | await self.dhcp.networks()

    async def ensure_network(self, net: DesiredNetwork, local: list[DesiredPort]) -> set[str]:
        return await asyncio.to_thread(self._ensure, net, local)

    async def ensure_dhcp(self, net: DesiredNetwork, port: DesiredPort) -> bool:
        return await self.dhcp.ensure(net, port, bridge_name(net.id))

    async def remove_dhcp(self, network_id: str) -> None:
        await self.dhcp.remove(network_id)

    async def remove_network(self, network_id: str) -> None:
        await self.dhcp.remove(network_id)
        await asyncio.to_thread(self._remove, network_id)

    # -- netlink, in a worker thread --
    def _bridges(self) -> dict[str, str]:
        """network id -> bridge name, for the bridges this agent made."""
        from pyroute2 import IPRoute

        prefix = self._alias("")
        found = {}
        with IPRoute() as ipr:
            for link in ipr.get_links():
                alias = link.get_attr("IFLA_IFALIAS") or ""
                if alias.startswith(prefix) and _kind(link) == "bridge":
                    found[alias[len(prefix):]] = str(link.get_attr("IFLA_IFNAME"))
        return found

    def _ensure(self, net: DesiredNetwork, local: list[DesiredPort]) -> set[str]:
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            bridge = self._ensure_bridge(ipr, net)
            if net.network_type == "vxlan" and net.segmentation_id is not None:
                if self.local_ip:
                    self._ensure_vxlan(ipr, net, bridge)
                elif net.remotes:
                    log.warning("%s: network %s has ports on other hosts but [network] "
                                "local_ip is not set: no tunnel", self.host, net.id)
            plugged = set()
            for port in local:
                if self._plug(ipr, port, bridge, net.mtu):
                    plugged.add(port.id)
            return plugged

    def _ensure_bridge(self, ipr: Any, net: DesiredNetwork) -> int:
        name = bridge_name(net.id)
        found = ipr.link_lookup(ifname=name)
        if not found:
            ipr.link("add", ifname=name, kind="bridge")
            found = ipr.link_lookup(ifname=name)
            log.info("%s: made bridge %s for network %s", self.host, name, net.id)
        index = int(found[0])
        link = ipr.get_links(index)[0]
        change: dict[str, Any] = {}
        if link.get_attr("IFLA_IFALIAS") != self._alias(net.id):
            change["ifalias"] = self._alias(net.id)
        if link.get_attr("IFLA_MTU") != net.mtu:
            change["mtu"] = net.mtu
        if not link["flags"] & _IFF_UP:
            change["state"] = "up"
        if change:
            ipr.link("set", index=index, **change)
        return index

    def _ensure_vxlan(self, ipr: Any, net: DesiredNetwork, bridge: int) -> None:
        vni = int(net.segmentation_id or 0)
        name = f"vxlan-{vni}"
        found = ipr.link_lookup(ifname=name)
        if found:
            link = ipr.get_links(found[0])[0]
            data = _attr(link, "IFLA_LINKINFO", "IFLA_INFO_DATA")
            if _kind(link) != "vxlan" or _attr(data, "IFLA_VXLAN_ID") != vni or \
                    _attr(data, "IFLA_VXLAN_LOCAL") != self.local_ip:
                ipr.link("del", index=found[0])
                found = []
        if not found:
            ipr.link("add", ifname=name, kind="vxlan", vxlan_id=vni, vxlan_local=self.local_ip,
                     vxlan_port=VXLAN_PORT, vxlan_learning=0)
            found = ipr.link_lookup(ifname=name)
            log.info("%s: made %s for network %s", self.host, name, net.id)
        index = int(found[0])
        link = ipr.get_links(index)[0]
        change: dict[str, Any] = {}
        if link.get_attr("IFLA_MASTER") != bridge:
            change["master"] = bridge
        if link.get_attr("IFLA_MTU") != net.mtu:
            change["mtu"] = net.mtu
        if not link["flags"] & _IFF_UP:
            change["state"] = "up"
        if change:
            ipr.link("set", index=index, **change)
        self._ensure_fdb(ipr, index, net)

    def _ensure_fdb(self, ipr: Any, index: int, net: DesiredNetwork) -> None:
        wanted = set()
        for remote in net.remotes:
            wanted.add((_ZERO_MAC, remote.tunnel_ip))
            wanted.update((mac.lower(), remote.tunnel_ip) for mac in remote.macs)
        have = set()
        for entry in ipr.fdb("dump", ifindex=index):
            dst = entry.get_attr("NDA_DST")
            if entry["ifindex"] == index and dst:
                have.add((str(entry.get_attr("NDA_LLADDR")).lower(), str(dst)))
        for mac, dst in sorted(have - wanted):
            ipr.fdb("del", ifindex=index, lladdr=mac, dst=dst)
        for mac, dst in sorted(wanted - have):
            # "append": the all-zero entry may name several endpoints (one per remote host)
            ipr.fdb("append", ifindex=index, lladdr=mac, dst=dst)

    def _plug(self, ipr: Any, port: DesiredPort, bridge: int, mtu: int) -> bool:
        """Put the port's device (the compute agent's tap, or the migration target's `tam`
        twin) on the bridge, up, with the network's MTU; False when there is none yet."""
        stem = tap_name(port.id)[3:]
        plugged = False
        for name in (f"tap{stem}", f"tam{stem}"):
            found = ipr.link_lookup(ifname=name)
            if not found:
                continue
            link = ipr.get_links(found[0])[0]
            change: dict[str, Any] = {}
            if link.get_attr("IFLA_MASTER") != bridge:
                change["master"] = bridge
            if link.get_attr("IFLA_MTU") != mtu:
                change["mtu"] = mtu
            if not link["flags"] & _IFF_UP:
                change["state"] = "up"
            if change:
                ipr.link("set", index=found[0], **change)
            plugged = True
        return plugged

    def _remove(self, network_id: str) -> None:
        from pyroute2 import IPRoute

        name = self._bridges().get(network_id)
        if name is None:
            return
        with IPRoute() as ipr:
            found = ipr.link_lookup(ifname=name)
            if not found:
                return
            bridge = found[0]
            for link in ipr.get_links():
                if link.get_attr("IFLA_MASTER") == bridge and _kind(link) == "vxlan":
                    ipr.link("del", index=link["index"])
            ipr.link("del", index=bridge)
        log.info("%s: removed bridge %s of network %s", self.host, name, network_id)
