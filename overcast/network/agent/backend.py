"""How a host's data plane is wired, behind one interface, so that the reconciler does not
know whether bridges or OVN do the work (docs/architecture.md "Network data plane").

A backend's steps are idempotent: each reads the kernel (or whatever it drives) and changes
only what differs, so running one twice, after a crash half-way or after someone deleted a
device by hand, converges the same way.
"""

from __future__ import annotations

from typing import Protocol

from overcast.network.messages import DesiredNetwork, DesiredPort

__all__ = ["Backend"]


class Backend(Protocol):
    #: The backend's name (`linuxbridge`).
    name: str

    def problems(self) -> list[str]:
        """What this host lacks to wire networks at all (no root, no netlink...); empty: ok."""
        ...

    def dhcp_problems(self) -> list[str]:
        """What this host lacks to serve DHCP (no dnsmasq...); empty: ok."""
        ...

    async def wired_networks(self) -> set[str]:
        """Networks this host has any wiring of (a bridge, a DHCP server), by id."""
        ...

    async def ensure_network(self, net: DesiredNetwork, local: list[DesiredPort]) -> set[str]:
        """Make the network's L2 on this host (bridge, tunnel, forwarding entries to the other
        hosts) and plug the devices of `local` ports that exist; the ids of those plugged."""
        ...

    async def ensure_dhcp(self, net: DesiredNetwork, port: DesiredPort) -> bool:
        """Serve DHCP on the network from `port`'s addresses; True when it serves."""
        ...

    async def remove_dhcp(self, network_id: str) -> None:
        ...

    async def remove_network(self, network_id: str) -> None:
        """Take the network's wiring off this host (its DHCP server too)."""
        ...
