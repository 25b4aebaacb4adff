"""The network agent's reconciler: one network at a time, desired (the service, over the bus)
against actual (the backend reads the kernel), converged idempotently (STYLE.md section 8).

| desired (for this host)                  | step                                              |
|------------------------------------------|---------------------------------------------------|
| gone, or no port of it bound here        | remove bridge, tunnel, DHCP; release the DHCP port |
| ports bound here                         | bridge + tunnel + FDB; plug the taps that exist    |
| and a subnet with DHCP (IPv4)            | DHCP port (made once), namespace, dnsmasq          |
| a bound port's device present / missing  | report it ACTIVE / DOWN (only when that changes)   |
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from overcast.network.agent.backend import Backend
from overcast.network.agent.plugin import PluginAPI
from overcast.network.messages import DHCP_OWNER, DesiredNetwork, DesiredPort, PortStatus

__all__ = ["NetworkReconciler"]

log = logging.getLogger("overcast.network.agent")


class NetworkReconciler:
    """keys() and reconcile(network_id) for `common.agent.AgentLoop`."""

    def __init__(self, host: str, backend: Backend, plugin: PluginAPI, *, dhcp: bool = True):
        self.host = host
        self.backend = backend
        self.plugin = plugin
        self.dhcp = dhcp

    async def keys(self) -> Iterable[str]:
        wanted = await self.plugin.host_networks(self.host)
        wired = await self.backend.wired_networks()
        return sorted(set(wanted) | wired)

    async def reconcile(self, network_id: str) -> None:
        desired = await self.plugin.get_network(network_id, self.host)
        await self.converge(desired)

    async def converge(self, net: DesiredNetwork) -> None:
        if not net.wanted:
            await self.backend.remove_network(net.id)
            if net.dhcp_port is not None:
                await self.plugin.release_dhcp_port(net.id, self.host)
            return
        local = [p for p in net.ports if p.host == self.host and p.device_owner != DHCP_OWNER]
        plugged = await self.backend.ensure_network(net, local)
        statuses = {p.id: ("ACTIVE" if p.id in plugged else "DOWN") for p in local}
        ports = {p.id: p for p in local}
        dhcp_port = await self._dhcp(net)
        if dhcp_port is not None:
            ports[dhcp_port.id] = dhcp_port
            statuses[dhcp_port.id] = "ACTIVE"
        changes = [PortStatus(port_id=pid, status=s) for pid, s in statuses.items()
                   if ports[pid].status != s]
        if changes:
            await self.plugin.update_port_status(self.host, changes)
            log.info("%s: network %s: %s", self.host, net.id,
                     ", ".join(f"{c.port_id} {c.status}" for c in changes))

    async def _dhcp(self, net: DesiredNetwork) -> DesiredPort | None:
        """Serve DHCP when a subnet asks for it; the DHCP port when it serves."""
        served = {s.id for s in net.subnets if s.enable_dhcp and s.ip_version == 4}
        if not served or not self.dhcp:
            await self.backend.remove_dhcp(net.id)
            if net.dhcp_port is not None and not served:
                await self.plugin.release_dhcp_port(net.id, self.host)
            return None
        port = net.dhcp_port
        if port is None or not served <= {ip.get("subnet_id") for ip in port.fixed_ips}:
            port = await self.plugin.ensure_dhcp_port(net.id, self.host)
            if port is None:
                return None
        return port if await self.backend.ensure_dhcp(net, port) else None
