"""A volume agent (`cinder-volume` on `host@backend`): reconciles the volumes and snapshots the
scheduler placed on its backend, through its driver, and reports its capacity.

Level-triggered (common/agent.py): a bus `sync` poke looks at one key now; a resync asks the
conductor every `resync_interval` which keys have work. Desired state comes from the conductor
over the bus; results go back the same way. Each step checks the world first, so a repeat
(a duplicate poke, a restart mid-way) finishes the work or finds it done."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from overcast.common.agent import AgentLoop
from overcast.common.bus import Bus, BusError, Subscription
from overcast.common.clients import ImageClient, ServiceError
from overcast.common.tasks import cancel_and_wait
from overcast.volume.conductor import CONDUCTOR_TOPIC
from overcast.volume.drivers import DriverError, VolumeDriver
from overcast.volume.volumes import AGENT_TOPIC

__all__ = ["VolumeAgent"]

log = logging.getLogger("overcast.volume.agent")


class VolumeAgent:
    def __init__(self, host: str, driver: VolumeDriver, bus: Bus, *, zone: str = "nova",
                 images: ImageClient | None = None, resync_interval: float = 30.0,
                 report_interval: float = 10.0, over_subscription: float = 20.0,
                 reserved_percentage: int = 0, work_dir: Path | None = None):
        self.host = f"{host}@{driver.backend}"
        self.driver = driver
        self.bus = bus
        self.zone = zone
        self.images = images
        self.report_interval = report_interval
        self.over_subscription = over_subscription
        self.reserved_percentage = reserved_percentage
        self.work_dir = work_dir
        self.loop = AgentLoop(f"volume-agent-{self.host}", self, resync_interval)
        #: Users' tokens from create pokes, kept in memory only, to fetch their images.
        self._tokens: dict[str, str] = {}
        self._server: Subscription | None = None
        self._beat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server = await self.bus.serve(AGENT_TOPIC, self.host, self)
        await self._report()
        self._beat = asyncio.create_task(self._heartbeat(), name=f"{self.host}-heartbeat")
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()
        if self._beat is not None:
            await cancel_and_wait([self._beat])
        if self._server is not None:
            await self._server.stop()

    # -- bus --
    async def sync(self, ctx: dict[str, Any], key: str, token: str | None = None) -> None:
        if token:
            self._tokens[key] = token
        self.loop.poke(key)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await self.bus.call(CONDUCTOR_TOPIC, method, **kwargs)

    def capabilities(self) -> dict[str, Any]:
        total, free = self.driver.capacity()
        return {"volume_backend_name": self.driver.backend, "storage_protocol": "file",
                "pools": [{"pool_name": self.driver.backend,
                           "total_capacity_gb": round(total, 2),
                           "free_capacity_gb": round(free, 2),
                           "reserved_percentage": self.reserved_percentage,
                           "max_over_subscription_ratio": self.over_subscription,
                           "thin_provisioning_support": True}]}

    async def _report(self) -> None:
        try:
            await self._call("report", host=self.host, zone=self.zone,
                             capabilities=self.capabilities())
        except BusError as exc:
            log.warning("%s: heartbeat not delivered: %s", self.host, exc)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.report_interval)
            await self._report()

    # -- the reconciler --
    async def keys(self) -> Iterable[str]:
        return list(await self._call("work", host=self.host))

    async def reconcile(self, key: str) -> None:
        kind, _, ident = key.partition(":")
        if kind == "volume":
            await self._volume(ident, key)
        elif kind == "snapshot":
            await self._snapshot(ident)

    async def _volume(self, volume_id: str, key: str) -> None:
        want = await self._call("volume", id=volume_id)
        if want is None:
            self._tokens.pop(key, None)
            return
        status = want["status"]
        try:
            if status == "creating":
                await self._create(want, self._tokens.get(key))
                await self._call("volume_done", id=volume_id, status="available",
                                 expect="creating")
            elif status == "extending":
                await self.driver.extend(volume_id, int(want["target_size"]))
                await self._call("volume_done", id=volume_id, status="available",
                                 expect="extending")
            elif status == "deleting":
                await self.driver.delete(volume_id)
                await self._call("volume_gone", id=volume_id)
            else:
                return
        except (DriverError, ServiceError, OSError) as exc:
            log.warning("%s: volume %s (%s) failed: %s", self.host, volume_id, status, exc)
            failed = {"creating": "error", "extending": "error_extending",
                      "deleting": "error_deleting"}[status]
            with contextlib.suppress(BusError):
                await self._call("volume_done", id=volume_id, status=failed, expect=status,
                                 fault=str(exc))
        self._tokens.pop(key, None)

    async def _create(self, want: dict[str, Any], token: str | None) -> None:
        vid, size = want["id"], int(want["size"])
        if await self.driver.exists(vid):
            return
        if want.get("snapshot_id"):
            await self.driver.create_from_snapshot(vid, want["snapshot_id"], size)
        elif want.get("source_volid"):
            await self.driver.clone(vid, want["source_volid"], size)
        elif want.get("image_id"):
            if self.images is None or not token:
                raise DriverError("the image cannot be fetched: no token at hand (the agent "
                                  "restarted during the copy)")
            work = self.work_dir or Path(tempfile.gettempdir())
            work.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=work) as tmp:
                image = Path(tmp) / "image"
                await self.images.download(token, want["image_id"], image)
                await self.driver.create_from_file(vid, image, size)
        else:
            await self.driver.create(vid, size)

    async def _snapshot(self, snapshot_id: str) -> None:
        want = await self._call("snapshot", id=snapshot_id)
        if want is None:
            return
        status = want["status"]
        try:
            if status == "creating":
                if not await self.driver.snapshot_exists(snapshot_id):
                    await self.driver.create_snapshot(snapshot_id, want["volume_id"])
                await self._call("snapshot_done", id=snapshot_id, status="available",
                                 expect="creating")
            elif status == "deleting":
                await self.driver.delete_snapshot(snapshot_id)
                await self._call("snapshot_gone", id=snapshot_id)
        except (DriverError, OSError) as exc:
            log.warning("%s: snapshot %s (%s) failed: %s", self.host, snapshot_id, status, exc)
            failed = "error" if status == "creating" else "error_deleting"
            with contextlib.suppress(BusError):
                await self._call("snapshot_done", id=snapshot_id, status=failed, expect=status,
                                 fault=str(exc))
