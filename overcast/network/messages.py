"""What the Networking service and its network agents say to each other over the bus.

An agent never reads the database (ARCHITECTURE.md): it asks the service which networks its
host needs (`host_networks`) and what one of them should look like there (`DesiredNetwork`),
and reports what it saw (`PortStatus` changes) and that it is alive (`AgentReport`). The
service pokes the agents with a fanout `network_changed(network_id)` after a commit that changes
a network, a subnet or a port; a lost poke costs a resync interval. All are JSON on the wire.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AGENT_TOPIC",
    "DHCP_OWNER",
    "LINUXBRIDGE_AGENT",
    "PLUGIN_TOPIC",
    "AgentReport",
    "DesiredNetwork",
    "DesiredPort",
    "DesiredSubnet",
    "PortStatus",
    "RemoteEndpoint",
    "bridge_name",
    "tap_name",
]

#: Bus topics: the service (any one server; Neutron's `q-plugin`) and the agents (server =
#: host name; fanouts reach every agent).
PLUGIN_TOPIC = "network-plugin"
AGENT_TOPIC = "network-agent"
#: Neutron's agent_type and device_owner strings.
LINUXBRIDGE_AGENT = "Linux bridge agent"
DHCP_OWNER = "network:dhcp"


def bridge_name(network_id: str) -> str:
    """Neutron's (and Nova's) bridge of a network: `brq` + the id's first 11 characters."""
    return f"brq{network_id[:11]}"


def tap_name(port_id: str) -> str:
    """The host side of a port: `tap` + 11 hex digits of its id, as the compute agent names a
    guest's tap (overcast/compute/drivers/qemu), so both sides agree without asking."""
    return f"tap{port_id.replace('-', '')[:11]}"


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DesiredSubnet(_Msg):
    id: str
    ip_version: int
    cidr: str
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    dns_nameservers: list[str] = Field(default_factory=list)
    #: [{"destination": cidr, "nexthop": ip}, ...]
    host_routes: list[dict[str, str]] = Field(default_factory=list)


class DesiredPort(_Msg):
    id: str
    mac_address: str
    #: [{"subnet_id", "ip_address"}, ...]
    fixed_ips: list[dict[str, str]] = Field(default_factory=list)
    host: str = ""
    device_owner: str = ""
    status: str = "DOWN"
    admin_state_up: bool = True
    dns_name: str = ""


class RemoteEndpoint(_Msg):
    """Another host with ports on the network: its tunnel address and its ports' MACs (what
    Neutron's l2population sends as FDB entries)."""

    host: str
    tunnel_ip: str
    macs: list[str] = Field(default_factory=list)


class DesiredNetwork(_Msg):
    """One network as a host should wire it. `wanted` is false when no port of the network is
    bound to the host any more: the host removes its bridge, tunnel and DHCP server."""

    id: str
    wanted: bool = True
    mtu: int = 1500
    network_type: str = ""
    physical_network: str | None = None
    segmentation_id: int | None = None
    admin_state_up: bool = True
    dns_domain: str = "openstacklocal."
    subnets: list[DesiredSubnet] = Field(default_factory=list)
    #: Every port of the network (DHCP serves them all; the host wires those bound to it).
    ports: list[DesiredPort] = Field(default_factory=list)
    remotes: list[RemoteEndpoint] = Field(default_factory=list)
    #: This host's DHCP port, when a subnet has DHCP enabled (made by `ensure_dhcp_port`).
    dhcp_port: DesiredPort | None = None


class PortStatus(_Msg):
    port_id: str
    status: str  # ACTIVE or DOWN


class AgentReport(_Msg):
    """An agent's heartbeat (Neutron's report_state): who it is and what it can do."""

    host: str
    agent_type: str = LINUXBRIDGE_AGENT
    binary: str = "overcast-network-agent"
    tunnel_ip: str | None = None
    #: What the agent found it cannot do on this host (no root, no dnsmasq, ...).
    problems: list[str] = Field(default_factory=list)
    dhcp: bool = True
