"""The bus side of the Networking service: the endpoint network agents call
(`network-plugin`), and the pokes it sends them (`network-agent` fanouts)."""

from __future__ import annotations

import logging
import socket
from typing import Any

from overcast.common.bus import Bus, Subscription
from overcast.network.dataplane import Dataplane
from overcast.network.messages import (
    AGENT_TOPIC,
    PLUGIN_TOPIC,
    AgentReport,
    PortStatus,
)

__all__ = ["AgentNotifier", "PluginEndpoint", "serve_plugin"]

log = logging.getLogger("overcast.network")


class PluginEndpoint:
    """What an agent may call: every method takes the agent's host and answers JSON."""

    def __init__(self, dataplane: Dataplane):
        self._dp = dataplane

    async def report_state(self, ctx: dict[str, Any], report: dict[str, Any]) -> None:
        await self._dp.report(AgentReport.model_validate(report))

    async def host_networks(self, ctx: dict[str, Any], host: str) -> list[str]:
        return await self._dp.host_networks(host)

    async def get_network(self, ctx: dict[str, Any], network_id: str,
                          host: str) -> dict[str, Any]:
        return (await self._dp.network_state(network_id, host)).model_dump(mode="json")

    async def ensure_dhcp_port(self, ctx: dict[str, Any], network_id: str,
                               host: str) -> dict[str, Any] | None:
        port = await self._dp.ensure_dhcp_port(network_id, host)
        return None if port is None else port.model_dump(mode="json")

    async def release_dhcp_port(self, ctx: dict[str, Any], network_id: str, host: str) -> None:
        await self._dp.release_dhcp_port(network_id, host)

    async def update_port_status(self, ctx: dict[str, Any], host: str,
                                 statuses: list[dict[str, Any]]) -> int:
        return await self._dp.set_port_status(
            host, [PortStatus.model_validate(s) for s in statuses])


class AgentNotifier:
    """Pokes every network agent: 'look at this network again' (a fanout; none is fine)."""

    def __init__(self, bus: Bus):
        self._bus = bus

    async def network_changed(self, network_id: str) -> None:
        await self._bus.fanout(AGENT_TOPIC, "network_changed", network_id=network_id)


async def serve_plugin(bus: Bus, dataplane: Dataplane) -> Subscription:
    """Serve the agents' RPC as this process (any one server of the topic answers)."""
    return await bus.serve(PLUGIN_TOPIC, f"{socket.gethostname()}-api",
                           PluginEndpoint(dataplane))
