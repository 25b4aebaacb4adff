"""The moving parts behind the servers API in one process: bus, scheduler, conductor, the
ServerService routes use, and (optionally) this node's compute agents.

`overcast up` runs them all inside the compute API's lifespan on the in-memory bus; `overcast
serve compute-agent` runs only agents (`start_agents`) and reaches the conductor over the
configured bus.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from overcast.common.bus import Bus, connect
from overcast.common.clients import ImageClient, NetworkClient, PlacementClient
from overcast.common.db import Database
from overcast.compute.agent.host import ComputeAgent
from overcast.compute.agent.images import ImageCache
from overcast.compute.conductor import Conductor
from overcast.compute.drivers.base import ComputeDriver, HypervisorUnavailable
from overcast.compute.drivers.fake import FakeDriver
from overcast.compute.networking import ServerNetworks
from overcast.compute.scheduler import (
    Claims,
    HostView,
    LocalClaims,
    PlacementClaims,
    Scheduler,
)
from overcast.compute.servers import ServerService
from overcast.config import Config

__all__ = ["ControlPlane", "start_agents", "start_control_plane"]

log = logging.getLogger("overcast.compute")


@dataclass
class ControlPlane:
    bus: Bus
    conductor: Conductor
    servers: ServerService
    images: ImageClient
    agents: list[ComputeAgent] = field(default_factory=list)
    own_bus: bool = True
    placement: PlacementClient | None = None
    network: NetworkClient | None = None

    async def stop(self) -> None:
        for agent in self.agents:
            await agent.stop()
        await self.servers.stop()
        await self.conductor.stop()
        await self.images.close()
        if self.placement is not None:
            await self.placement.close()
        if self.network is not None:
            await self.network.close()
        if self.own_bus:
            await self.bus.close()


def _placement(config: Config) -> PlacementClient | None:
    """Placement as Nova's user, when this cloud runs Placement and bootstrap made the user;
    else None (the scheduler's own ledger decides capacity)."""
    if not config.placement.enabled:
        return None
    try:
        return PlacementClient.from_config(config)
    except FileNotFoundError:
        log.warning("no service user password for Placement; scheduling without Placement")
        return None


def _network(config: Config, transport: httpx.AsyncBaseTransport | None,
             identity_transport: httpx.AsyncBaseTransport | None) -> NetworkClient | None:
    """Networking as Nova's user, when this cloud runs it and bootstrap made the user; else
    None: servers boot without ports ("auto" and "none" as before Networking existed)."""
    if not config.network.enabled:
        return None
    try:
        return NetworkClient.from_config(config, transport=transport,
                                         identity_transport=identity_transport)
    except FileNotFoundError:
        log.warning("no service user password for Compute; servers get no ports")
        return None


def _qemu(config: Config, host: str) -> ComputeDriver:
    from overcast.compute.drivers.qemu import QemuDriver

    return QemuDriver(config.state_dir / "compute" / host, host=host)


async def start_agents(config: Config, bus: Bus, images: ImageClient | None, *,
                       host: str | None = None, driver: str | None = None,
                       simulated: int | None = None) -> list[ComputeAgent]:
    """This node's agents: one QEMU host, or N simulated hosts with the fake driver."""
    section = config.compute
    host = host or section.host or socket.gethostname()
    kind = driver or section.driver
    count = section.simulated_hosts if simulated is None else simulated
    agents = []
    cache_root = config.state_dir / "compute" / "_images"
    if kind in ("qemu", "auto") and not count:
        try:
            qemu = _qemu(config, host)
        except HypervisorUnavailable as exc:
            if kind == "qemu":
                # The service shows down with the reason; builds end in No valid host.
                fake = FakeDriver(host)
                agents.append(ComputeAgent(host, fake, bus, ImageCache(cache_root, images,
                                                                       fetch_bytes=False),
                                           driver_name="qemu", disabled_reason=str(exc)))
            else:
                log.info("compute: %s; using the fake (simulated) driver", exc)
                kind = "fake"
        else:
            agents.append(ComputeAgent(
                host, qemu, bus, ImageCache(cache_root, images), driver_name="qemu",
                resync_interval=section.resync_interval,
                shutdown_timeout=section.shutdown_timeout,
                work_dir=config.state_dir / "compute"))
    if kind in ("fake", "simulated") or count:
        names = [host] if not count else [f"{host}-sim{i:04d}" for i in range(count)]
        for name in names:
            agents.append(ComputeAgent(
                name, FakeDriver(name), bus, ImageCache(cache_root, images, fetch_bytes=False),
                driver_name="fake", resync_interval=section.resync_interval,
                recreate_lost=True, shutdown_timeout=0.0, report_interval=10.0,
                work_dir=Path(config.state_dir)))
    for agent in agents:
        await agent.start()
    return agents


async def start_control_plane(config: Config, db: Database, *,
                              image_transport: httpx.AsyncBaseTransport | None = None,
                              network_transport: httpx.AsyncBaseTransport | None = None,
                              identity_transport: httpx.AsyncBaseTransport | None = None,
                              bus: Bus | None = None) -> ControlPlane:
    own = bus is None
    if bus is None:
        bus = connect(config.default.bus_url)
        await bus.start()
    images = ImageClient(config.public_url("image"), transport=image_transport)
    placement = _placement(config)
    claims: Claims = PlacementClaims(placement) if placement is not None else LocalClaims()
    scheduler = Scheduler(HostView(float(config.compute.service_down_time)), claims)
    network = _network(config, network_transport, identity_transport)
    networks = ServerNetworks(network)
    conductor = Conductor(db, bus, scheduler, placement=placement,
                          default_az=config.compute.default_availability_zone,
                          networks=networks,
                          shelved_offload_time=config.compute.shelved_offload_time)
    await conductor.start()
    servers = ServerService(db, conductor, images, config.compute, networks)
    plane = ControlPlane(bus, conductor, servers, images, own_bus=own, placement=placement,
                         network=network)
    if config.compute.run_agents:
        plane.agents = await start_agents(config, bus, images)
    return plane
