"""One compute host: its driver, its reconcile loop, its bus endpoint and its heartbeat.

The agent reaches the rest of the cloud only over the bus (the conductor for desired state and
reports; `compute.<host>` for pokes and console calls). A heartbeat (`HostReport`) every
`report_interval` seconds tells the conductor the host is up, what it has and which guests
run; the reconcile loop resyncs every `resync_interval` seconds (power-state sync, guests
deleted while the agent was down, lost pokes).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from overcast.common.agent import AgentLoop
from overcast.common.bus import Bus, Subscription
from overcast.common.tasks import cancel_and_wait
from overcast.compute.agent.images import ImageCache
from overcast.compute.agent.reconciler import InstanceReconciler
from overcast.compute.drivers.base import ComputeDriver, DriverError
from overcast.compute.messages import COMPUTE_TOPIC, DesiredInstance, HostReport
from overcast.compute.rpcapi import ConductorAPI

__all__ = ["ComputeAgent", "ComputeEndpoint"]

log = logging.getLogger("overcast.compute.agent")


class ComputeEndpoint:
    """The RPC methods of `compute.<host>` (casts: sync, refresh; calls: consoles)."""

    def __init__(self, agent: ComputeAgent):
        self._agent = agent

    async def sync(self, ctx: dict[str, Any], instance_uuid: str,
                   desired: dict[str, Any] | None = None) -> None:
        self._agent.reconciler.hint(
            None if desired is None else DesiredInstance.model_validate(desired),
            instance_uuid, ctx)
        self._agent.loop.poke(instance_uuid)

    async def refresh(self, ctx: dict[str, Any]) -> None:
        await self._agent.loop.resync()
        await self._agent.report()

    async def get_console_output(self, ctx: dict[str, Any], instance_uuid: str,
                                 length: int | None = None) -> str:
        return await self._agent.driver.get_console_output(instance_uuid, length)

    async def get_vnc_console(self, ctx: dict[str, Any], instance_uuid: str) -> dict[str, Any]:
        endpoint = await self._agent.driver.get_vnc_console(instance_uuid)
        return endpoint.model_dump(mode="json")

    async def get_serial_console(self, ctx: dict[str, Any], instance_uuid: str
                                 ) -> dict[str, Any]:
        endpoint = await self._agent.driver.get_serial_console(instance_uuid)
        return endpoint.model_dump(mode="json")

    async def get_diagnostics(self, ctx: dict[str, Any], instance_uuid: str) -> dict[str, Any]:
        return await self._agent.driver.get_diagnostics(instance_uuid)

    async def ping(self, ctx: dict[str, Any]) -> str:
        return self._agent.host


class ComputeAgent:
    def __init__(self, host: str, driver: ComputeDriver, bus: Bus, images: ImageCache, *,
                 driver_name: str, resync_interval: float = 60.0, report_interval: float = 10.0,
                 recreate_lost: bool = False, shutdown_timeout: float = 60.0,
                 parallel: int = 8, work_dir: Path | None = None,
                 disabled_reason: str | None = None):
        self.host = host
        self.driver = driver
        self.bus = bus
        self.driver_name = driver_name
        self.report_interval = report_interval
        self.disabled_reason = disabled_reason
        self.conductor = ConductorAPI(bus)
        self.reconciler = InstanceReconciler(host, driver, self.conductor, images,
                                             recreate_lost=recreate_lost,
                                             shutdown_timeout=shutdown_timeout,
                                             work_dir=work_dir)
        self.loop = AgentLoop(f"compute-{host}", self.reconciler, resync_interval,
                              parallel=parallel)
        self._server: Subscription | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def report(self) -> None:
        try:
            inv = await self.driver.host_inventory()
            uuids = [i.uuid for i in await self.driver.list_instances()]
        except DriverError as exc:
            await self.conductor.report_host(HostReport(
                host=self.host, node=self.host, driver=self.driver_name,
                hypervisor_type="QEMU", hypervisor_version=0, accel="none", vcpus=0,
                memory_mb=0, disk_gb=0, disabled_reason=str(exc)))
            return
        await self.conductor.report_host(HostReport(
            host=self.host, node=inv.hypervisor_hostname, driver=self.driver_name,
            hypervisor_type=inv.hypervisor_type, hypervisor_version=inv.hypervisor_version,
            accel=inv.accel, vcpus=inv.vcpus, memory_mb=inv.memory_mb, disk_gb=inv.disk_gb,
            instances=uuids, disabled_reason=self.disabled_reason))

    async def _beat(self) -> None:
        while True:
            try:
                await self.report()
            except Exception:
                log.exception("%s: heartbeat failed", self.host)
            await asyncio.sleep(self.report_interval)

    async def start(self) -> None:
        """Serve `compute.<host>`, report the host, then reconcile every instance."""
        self._server = await self.bus.serve(COMPUTE_TOPIC, self.host, ComputeEndpoint(self))
        await self.report()
        self._heartbeat = asyncio.create_task(self._beat(), name=f"compute-{self.host}-beat")
        self.loop.start()

    async def run_once(self) -> None:
        await self.report()
        await self.loop.run_once()

    async def stop(self) -> None:
        await self.loop.stop()
        if self._heartbeat is not None:
            await cancel_and_wait([self._heartbeat])
            self._heartbeat = None
        if self._server is not None:
            await self._server.stop()
            self._server = None
        await self.driver.close()
