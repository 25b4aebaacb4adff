"""One host's network agent: its backend, its reconcile loop, its bus endpoint (pokes) and its
heartbeat. It reaches the Networking service only over the bus (`network-plugin`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from overcast.common.agent import AgentLoop
from overcast.common.bus import Bus, BusError, Subscription
from overcast.common.tasks import cancel_and_wait
from overcast.network.agent.backend import Backend
from overcast.network.agent.plugin import PluginAPI
from overcast.network.agent.reconciler import NetworkReconciler
from overcast.network.messages import AGENT_TOPIC, AgentReport

__all__ = ["AgentEndpoint", "NetworkAgent"]

log = logging.getLogger("overcast.network.agent")


class AgentEndpoint:
    """The RPC methods of `network-agent` (fanouts and casts: pokes only)."""

    def __init__(self, agent: NetworkAgent):
        self._agent = agent

    async def network_changed(self, ctx: dict[str, Any], network_id: str) -> None:
        self._agent.loop.poke(network_id)

    async def resync(self, ctx: dict[str, Any]) -> None:
        await self._agent.loop.resync()


class NetworkAgent:
    def __init__(self, host: str, backend: Backend, bus: Bus, *, tunnel_ip: str | None = None,
                 resync_interval: float = 30.0, report_interval: float = 30.0,
                 parallel: int = 4):
        self.host = host
        self.backend = backend
        self.bus = bus
        self.tunnel_ip = tunnel_ip
        self.report_interval = report_interval
        self.plugin = PluginAPI(bus)
        self.dhcp_problems = backend.dhcp_problems()
        for problem in self.dhcp_problems:
            log.warning("%s: no DHCP on this host: %s", host, problem)
        self.reconciler = NetworkReconciler(host, backend, self.plugin,
                                            dhcp=not self.dhcp_problems)
        self.loop = AgentLoop(f"network-{host}", self.reconciler, resync_interval,
                              parallel=parallel)
        self._server: Subscription | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def report(self) -> None:
        await self.plugin.report_state(AgentReport(
            host=self.host, tunnel_ip=self.tunnel_ip, problems=self.dhcp_problems,
            dhcp=not self.dhcp_problems))

    async def _beat(self) -> None:
        while True:
            try:
                await self.report()
            except BusError as exc:
                log.warning("%s: heartbeat not delivered: %s", self.host, exc)
            except Exception:
                log.exception("%s: heartbeat failed", self.host)
            await asyncio.sleep(self.report_interval)

    async def wait_for_service(self, pause: float = 1.0) -> None:
        """Report until the service answers (it may start after the agent)."""
        while True:
            try:
                await self.report()
                return
            except BusError as exc:
                log.info("%s: waiting for the networking service: %s", self.host, exc)
            await asyncio.sleep(pause)

    async def start(self) -> None:
        """Take pokes, report (the other hosts learn this one's tunnel address), then
        reconcile every network of the host now and every resync interval."""
        self._server = await self.bus.serve(AGENT_TOPIC, self.host, AgentEndpoint(self))
        self._heartbeat = asyncio.create_task(self._beat(), name=f"network-{self.host}-beat")
        self.loop.start()

    async def run_once(self) -> None:
        await self.report()
        await self.loop.run_once()

    async def stop(self) -> None:
        """Stop reconciling; what is wired stays, so guests keep their traffic."""
        await self.loop.stop()
        if self._heartbeat is not None:
            await cancel_and_wait([self._heartbeat])
            self._heartbeat = None
        if self._server is not None:
            await self._server.stop()
            self._server = None
