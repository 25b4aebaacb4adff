"""The moving parts behind the API in one process: the bus, the conductor (the scheduler's
service) and, in `overcast up`, this node's volume agent; `overcast serve volume-agent` runs
only an agent (`start_agent`) and reaches the conductor over the configured bus."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import httpx

from overcast.common.bus import Bus, connect
from overcast.common.clients import ImageClient
from overcast.common.db import Database
from overcast.config import Config
from overcast.volume.agent.host import VolumeAgent
from overcast.volume.conductor import Conductor
from overcast.volume.drivers import VolumeDriver
from overcast.volume.drivers.fake import FakeDriver
from overcast.volume.drivers.file import FileDriver
from overcast.volume.hosts import Hosts

__all__ = ["ControlPlane", "make_driver", "start_agent", "start_control_plane"]


@dataclass
class ControlPlane:
    bus: Bus
    conductor: Conductor
    agent: VolumeAgent | None
    images: ImageClient | None
    own_bus: bool

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
        await self.conductor.stop()
        if self.images is not None:
            await self.images.close()
        if self.own_bus:
            await self.bus.close()


def make_driver(config: Config, kind: str | None = None) -> VolumeDriver:
    kind = kind or config.volume.driver
    if kind == "fake":
        return FakeDriver(float(config.volume.fake_capacity_gb))
    return FileDriver(config.volumes_dir, config.volume.volume_format)


async def start_agent(config: Config, bus: Bus, images: ImageClient | None, *,
                      host: str | None = None, driver: str | None = None) -> VolumeAgent:
    section = config.volume
    agent = VolumeAgent(
        host or section.host or socket.gethostname(), make_driver(config, driver), bus,
        zone=section.storage_availability_zone, images=images,
        resync_interval=section.resync_interval, report_interval=section.report_interval,
        over_subscription=section.max_over_subscription_ratio,
        reserved_percentage=section.reserved_percentage,
        work_dir=config.state_dir / "volume-work")
    await agent.start()
    return agent


async def start_control_plane(config: Config, db: Database, hosts: Hosts, *,
                              bus: Bus | None = None,
                              image_transport: httpx.AsyncBaseTransport | None = None
                              ) -> ControlPlane:
    own = bus is None
    if bus is None:
        bus = connect(config.default.bus_url)
        await bus.start()
    conductor = Conductor(db, hosts, bus, config.volume)
    await conductor.start()
    images = None
    agent = None
    if config.volume.run_agents:
        images = ImageClient(config.public_url("image"), transport=image_transport)
        agent = await start_agent(config, bus, images)
    return ControlPlane(bus, conductor, agent, images, own)
