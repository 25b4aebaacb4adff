"""The service's side of the data plane: what the network agents ask over the bus and what they
report (Neutron's plugin RPC for the Linux bridge and DHCP agents, in one place).

An agent asks which networks its host has ports on (`host_networks`), what one network should
look like on its host (`network_state`: subnets, ports, the other hosts' tunnel endpoints as
l2population would send them, its DHCP port), makes or drops its DHCP port, and reports port
statuses and its heartbeat. Nothing here touches the kernel.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common.clock import utcnow
from overcast.common.db import Database
from overcast.network.messages import (
    DHCP_OWNER,
    AgentReport,
    DesiredNetwork,
    DesiredPort,
    DesiredSubnet,
    PortStatus,
    RemoteEndpoint,
)
from overcast.network.models import Agent, IPAllocation, Network, Port, PortSecurityGroup, Subnet
from overcast.network.ports import Ports
from overcast.network.resources import new_id, retrying

__all__ = ["Dataplane"]

_STATUSES = ("ACTIVE", "DOWN")


def dhcp_device_id(host: str, network_id: str) -> str:
    """Neutron's device_id of a host's DHCP port: `dhcp` + a uuid5 of the host + the network."""
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host)}-{network_id}"


class Dataplane:
    def __init__(self, db: Database, ports: Ports):
        self.db = db
        self.ports = ports

    # -- agents --
    async def report(self, report: AgentReport) -> None:
        """An agent's heartbeat: its row made or refreshed."""
        now = utcnow()
        config = {"tunneling_ip": report.tunnel_ip, "problems": report.problems,
                  "dhcp": report.dhcp, "tunnel_types": ["vxlan"] if report.tunnel_ip else [],
                  "l2_population": True}

        async def run() -> None:
            async with self.db.transaction() as s:
                row = (await s.execute(select(Agent).where(
                    Agent.agent_type == report.agent_type,
                    Agent.host == report.host))).scalars().first()
                if row is None:
                    s.add(Agent(id=new_id(), agent_type=report.agent_type, host=report.host,
                                binary=report.binary, topic="N/A", configurations=config,
                                created_at=now, started_at=now, heartbeat_timestamp=now))
                else:
                    row.configurations = config
                    row.heartbeat_timestamp = now

        await retrying(run)

    # -- desired state --
    async def host_networks(self, host: str) -> list[str]:
        """Networks with a port bound to `host` (its DHCP ports included, so a network whose
        last guest port went is still looked at, and taken down)."""
        async with self.db.read() as s:
            ids = (await s.execute(select(Port.network_id).where(
                Port.binding_host_id == host).distinct())).scalars()
            return sorted(ids)

    async def network_state(self, network_id: str, host: str) -> DesiredNetwork:
        async with self.db.read() as s:
            net = await s.get(Network, network_id)
            if net is None:
                return DesiredNetwork(id=network_id, wanted=False)
            subnets = list((await s.execute(select(Subnet).where(
                Subnet.network_id == network_id).order_by(Subnet.created_at, Subnet.id)
            )).scalars())
            ports = await self._ports(s, network_id)
            tunnels = await self._tunnels(s, {p.host for p in ports if p.host not in ("", host)})
        macs: dict[str, list[str]] = defaultdict(list)
        for p in ports:
            if p.host and p.host != host:
                macs[p.host].append(p.mac_address)
        remotes = [RemoteEndpoint(host=h, tunnel_ip=tunnels[h], macs=sorted(m))
                   for h, m in sorted(macs.items()) if tunnels.get(h)]
        wanted = any(p.host == host and p.device_owner != DHCP_OWNER for p in ports)
        dhcp = next((p for p in ports if p.host == host and p.device_owner == DHCP_OWNER), None)
        return DesiredNetwork(
            id=net.id, wanted=wanted, mtu=net.mtu, network_type=net.network_type,
            physical_network=net.physical_network, segmentation_id=net.segmentation_id,
            admin_state_up=net.admin_state_up,
            dns_domain=net.dns_domain or self.ports.config.dns_domain,
            subnets=[DesiredSubnet(id=sub.id, ip_version=sub.ip_version, cidr=sub.cidr,
                                   gateway_ip=sub.gateway_ip, enable_dhcp=sub.enable_dhcp,
                                   dns_nameservers=list(sub.dns_nameservers or []),
                                   host_routes=list(sub.host_routes or []))
                     for sub in subnets],
            ports=ports, remotes=remotes, dhcp_port=dhcp)

    async def _ports(self, s: AsyncSession, network_id: str) -> list[DesiredPort]:
        rows = list((await s.execute(select(Port).where(Port.network_id == network_id)
                                     .order_by(Port.id))).scalars())
        ips: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for a in (await s.execute(select(IPAllocation).where(
                IPAllocation.network_id == network_id))).scalars():
            ips[a.port_id].append((a.position, a.subnet_id, a.ip_address))
        return [DesiredPort(id=p.id, mac_address=p.mac_address, host=p.binding_host_id,
                            fixed_ips=[{"subnet_id": sid, "ip_address": ip}
                                       for _, sid, ip in sorted(ips[p.id])],
                            device_owner=p.device_owner, status=p.status,
                            admin_state_up=p.admin_state_up, dns_name=p.dns_name)
                for p in rows]

    @staticmethod
    async def _tunnels(s: AsyncSession, hosts: set[str]) -> dict[str, str]:
        if not hosts:
            return {}
        found: dict[str, str] = {}
        for row in (await s.execute(select(Agent).where(Agent.host.in_(sorted(hosts))))
                    ).scalars():
            ip = (row.configurations or {}).get("tunneling_ip")
            if ip:
                found[row.host] = str(ip)
        return found

    # -- DHCP ports --
    async def ensure_dhcp_port(self, network_id: str, host: str) -> DesiredPort | None:
        """The host's DHCP port on the network, with an address on every DHCP-enabled IPv4
        subnet (made, or given the addresses of subnets added since); None, and no port,
        when no subnet has DHCP."""
        attempt = 0

        async def run() -> str | None:
            nonlocal attempt
            attempt += 1
            async with self.db.transaction() as s:
                net = await s.get(Network, network_id)
                if net is None:
                    return None
                served = list((await s.execute(select(Subnet.id).where(
                    Subnet.network_id == network_id, Subnet.enable_dhcp.is_(True),
                    Subnet.ip_version == 4))).scalars())
                port = (await s.execute(select(Port).where(
                    Port.network_id == network_id, Port.device_owner == DHCP_OWNER,
                    Port.binding_host_id == host))).scalars().first()
                if not served:
                    if port is not None:
                        await self.ports.remove(s, port)
                    return None
                if port is None:
                    port = await self.ports.make(s, None, net, {
                        "device_owner": DHCP_OWNER, "device_id": dhcp_device_id(host, net.id),
                        "binding:host_id": host, "security_groups": [],
                        "fixed_ips": [{"subnet_id": sid} for sid in served],
                    }, net.project_id, attempt - 1)
                    return port.id
                held = list((await s.execute(select(IPAllocation).where(
                    IPAllocation.port_id == port.id))).scalars())
                missing = [sid for sid in served if sid not in {a.subnet_id for a in held}]
                if missing:
                    asked = [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                             for a in held] + [{"subnet_id": sid} for sid in missing]
                    await self.ports._allocate(s, port, net, asked, attempt - 1, held)
                return port.id

        port_id: str | None = await retrying(run, tries=40)
        if port_id is None:
            return None
        async with self.db.read() as s:
            return next((p for p in await self._ports(s, network_id) if p.id == port_id), None)

    async def release_dhcp_port(self, network_id: str, host: str) -> None:
        async with self.db.transaction() as s:
            for port in (await s.execute(select(Port).where(
                    Port.network_id == network_id, Port.device_owner == DHCP_OWNER,
                    Port.binding_host_id == host))).scalars():
                await s.execute(delete(PortSecurityGroup).where(
                    PortSecurityGroup.port_id == port.id))
                await self.ports.remove(s, port)

    # -- reports --
    async def set_port_status(self, host: str, statuses: list[PortStatus]) -> int:
        """Ports of `host` seen ACTIVE (wired) or DOWN; only ports still bound to `host`
        change, so a late report from a host a port has left changes nothing. The count."""
        wanted = {p.port_id: p.status for p in statuses if p.status in _STATUSES}
        if not wanted:
            return 0
        changed = 0
        async with self.db.transaction() as s:
            for port in (await s.execute(select(Port).where(
                    Port.id.in_(sorted(wanted)), Port.binding_host_id == host))).scalars():
                if port.status != wanted[port.id]:
                    port.status = wanted[port.id]
                    port.revision_number += 1
                    port.updated_at = utcnow()
                    changed += 1
        return changed
