"""The agent's typed client of the service's `network-plugin` RPC."""

from __future__ import annotations

from typing import Any

from overcast.common.bus import Bus
from overcast.network.messages import (
    PLUGIN_TOPIC,
    AgentReport,
    DesiredNetwork,
    DesiredPort,
    PortStatus,
)

__all__ = ["PluginAPI"]


class PluginAPI:
    def __init__(self, bus: Bus, timeout: float = 30.0):
        self.bus = bus
        self.timeout = timeout

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await self.bus.call(PLUGIN_TOPIC, method, timeout=self.timeout, **kwargs)

    async def report_state(self, report: AgentReport) -> None:
        await self._call("report_state", report=report.model_dump(mode="json"))

    async def host_networks(self, host: str) -> list[str]:
        found = await self._call("host_networks", host=host)
        return [str(n) for n in found] if isinstance(found, list) else []

    async def get_network(self, network_id: str, host: str) -> DesiredNetwork:
        return DesiredNetwork.model_validate(
            await self._call("get_network", network_id=network_id, host=host))

    async def ensure_dhcp_port(self, network_id: str, host: str) -> DesiredPort | None:
        found = await self._call("ensure_dhcp_port", network_id=network_id, host=host)
        return None if found is None else DesiredPort.model_validate(found)

    async def release_dhcp_port(self, network_id: str, host: str) -> None:
        await self._call("release_dhcp_port", network_id=network_id, host=host)

    async def update_port_status(self, host: str, statuses: list[PortStatus]) -> None:
        await self._call("update_port_status", host=host,
                         statuses=[s.model_dump(mode="json") for s in statuses])
