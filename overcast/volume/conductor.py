"""The control plane's side of the bus: what volume agents ask and report (they never touch
the database), served on the `cinder-scheduler` topic, and the scheduler's own heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

from sqlalchemy import delete, or_, select

from overcast.common.bus import Bus, Subscription
from overcast.common.clock import utcnow
from overcast.common.db import Database
from overcast.common.tasks import cancel_and_wait
from overcast.config import VolumeSection
from overcast.volume.hosts import Hosts
from overcast.volume.models import Snapshot, SnapshotMetadata, Volume, VolumeMetadata

__all__ = ["CONDUCTOR_TOPIC", "WORK_STATUSES", "Conductor"]

log = logging.getLogger("overcast.volume.conductor")

CONDUCTOR_TOPIC = "cinder-scheduler"
#: Statuses an agent has work for (volumes; snapshots use creating and deleting).
WORK_STATUSES = ("creating", "extending", "deleting")


def _on_host(column: Any, host: str) -> Any:
    return or_(column == host, column.startswith(f"{host}#", autoescape=True))


class Conductor:
    """RPC endpoint: `await bus.call("cinder-scheduler", "work", host=...)`."""

    def __init__(self, db: Database, hosts: Hosts, bus: Bus, config: VolumeSection):
        self._db = db
        self._hosts = hosts
        self._bus = bus
        self._config = config
        self._server: Subscription | None = None
        self._beat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server = await self._bus.serve(CONDUCTOR_TOPIC, self._host(), self)
        self._beat = asyncio.create_task(self._heartbeat(), name="cinder-scheduler-heartbeat")

    async def stop(self) -> None:
        if self._beat is not None:
            await cancel_and_wait([self._beat])
        if self._server is not None:
            await self._server.stop()

    def _host(self) -> str:
        return self._config.host or socket.gethostname()

    async def _heartbeat(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self._hosts.report(self._host(), "cinder-scheduler", "nova")
            await asyncio.sleep(self._config.report_interval)

    # -- RPC methods (public coroutines) --
    async def report(self, ctx: dict[str, Any], host: str, zone: str,
                     capabilities: dict[str, Any]) -> None:
        await self._hosts.report(host, "cinder-volume", zone, capabilities)

    async def work(self, ctx: dict[str, Any], host: str) -> list[str]:
        async with self._db.read() as s:
            vols = (await s.scalars(select(Volume.id).where(
                _on_host(Volume.host, host), Volume.status.in_(WORK_STATUSES)))).all()
            snaps = (await s.scalars(select(Snapshot.id).where(
                _on_host(Snapshot.host, host),
                Snapshot.status.in_(("creating", "deleting"))))).all()
        return [f"volume:{v}" for v in vols] + [f"snapshot:{x}" for x in snaps]

    async def volume(self, ctx: dict[str, Any], id: str) -> dict[str, Any] | None:
        async with self._db.read() as s:
            v = await s.get(Volume, id)
            if v is None:
                return None
            return {"id": v.id, "status": v.status, "size": v.size, "target_size": v.target_size,
                    "snapshot_id": v.snapshot_id, "source_volid": v.source_volid,
                    "image_id": v.image_id, "host": v.host}

    async def snapshot(self, ctx: dict[str, Any], id: str) -> dict[str, Any] | None:
        async with self._db.read() as s:
            x = await s.get(Snapshot, id)
            if x is None:
                return None
            return {"id": x.id, "status": x.status, "volume_id": x.volume_id, "size": x.size}

    async def volume_done(self, ctx: dict[str, Any], id: str, status: str,
                          expect: str, fault: str | None = None) -> None:
        """The agent finished (or failed) the work for status `expect`; a volume whose status
        moved meanwhile (reset by an admin, deleted) keeps its new status."""
        async with self._db.transaction() as s:
            v = await s.get(Volume, id)
            if v is None or v.status != expect:
                return
            if expect == "extending" and status == "available" and v.target_size:
                v.size = v.target_size
            v.target_size = None
            v.status = status
            v.fault = fault[:255] if fault else None
            v.updated_at = utcnow()

    async def volume_gone(self, ctx: dict[str, Any], id: str) -> None:
        async with self._db.transaction() as s:
            await s.execute(delete(VolumeMetadata).where(VolumeMetadata.volume_id == id))
            await s.execute(delete(Volume).where(Volume.id == id, Volume.status == "deleting"))

    async def snapshot_done(self, ctx: dict[str, Any], id: str, status: str, expect: str,
                            fault: str | None = None) -> None:
        async with self._db.transaction() as s:
            x = await s.get(Snapshot, id)
            if x is None or x.status != expect:
                return
            x.status = status
            x.progress = "100%" if status == "available" else x.progress
            x.fault = fault[:255] if fault else None
            x.updated_at = utcnow()

    async def snapshot_gone(self, ctx: dict[str, Any], id: str) -> None:
        async with self._db.transaction() as s:
            await s.execute(delete(SnapshotMetadata).where(SnapshotMetadata.snapshot_id == id))
            await s.execute(delete(Snapshot).where(Snapshot.id == id,
                                                   Snapshot.status == "deleting"))
