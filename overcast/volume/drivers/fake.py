"""The fake driver: volumes and snapshots as entries in memory, no data. For fast tests."""

from __future__ import annotations

from pathlib import Path

from overcast.volume.drivers import DriverError

__all__ = ["FakeDriver"]


class FakeDriver:
    backend = "fake"

    def __init__(self, capacity_gb: float = 1000.0):
        self.total = capacity_gb
        self.volumes: dict[str, int] = {}
        self.snapshots: dict[str, int] = {}

    def capacity(self) -> tuple[float, float]:
        used = sum(self.volumes.values()) + sum(self.snapshots.values())
        return self.total, max(self.total - used, 0.0)

    async def exists(self, volume_id: str) -> bool:
        return volume_id in self.volumes

    async def size_gb(self, volume_id: str) -> int | None:
        return self.volumes.get(volume_id)

    async def create(self, volume_id: str, size_gb: int) -> None:
        self.volumes[volume_id] = size_gb

    async def create_from_file(self, volume_id: str, source: Path, size_gb: int) -> None:
        self.volumes[volume_id] = size_gb

    async def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None:
        if source_volume_id not in self.volumes:
            raise DriverError(f"source volume {source_volume_id} not found")
        self.volumes[volume_id] = size_gb

    async def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        if snapshot_id not in self.snapshots:
            raise DriverError(f"snapshot {snapshot_id} not found")
        self.volumes[volume_id] = size_gb

    async def extend(self, volume_id: str, size_gb: int) -> None:
        self.volumes[volume_id] = size_gb

    async def delete(self, volume_id: str) -> None:
        self.volumes.pop(volume_id, None)

    async def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        if volume_id not in self.volumes:
            raise DriverError(f"volume {volume_id} not found")
        self.snapshots[snapshot_id] = self.volumes[volume_id]

    async def delete_snapshot(self, snapshot_id: str) -> None:
        self.snapshots.pop(snapshot_id, None)

    async def snapshot_exists(self, snapshot_id: str) -> bool:
        return snapshot_id in self.snapshots
