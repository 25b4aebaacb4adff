"""Volume drivers: the only code that touches the volumes' storage. One module per backend,
one interface (`VolumeDriver`), a literal table (`DRIVERS`)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

__all__ = ["DriverError", "VolumeDriver"]


class DriverError(Exception):
    """The backend could not do what was asked (the volume or snapshot goes to an error
    status with this message)."""


class VolumeDriver(Protocol):
    """Every operation is idempotent: asked again after a crash, it finishes or finds done."""

    #: The backend's name (the `@backend` of `host@backend`) and its one pool's.
    backend: str

    def capacity(self) -> tuple[float, float]:
        """(total, free) GiB of the pool."""

    async def exists(self, volume_id: str) -> bool: ...

    async def size_gb(self, volume_id: str) -> int | None:
        """The virtual size of the volume in GiB, None if it does not exist."""

    async def create(self, volume_id: str, size_gb: int) -> None: ...

    async def create_from_file(self, volume_id: str, source: Path, size_gb: int) -> None:
        """From an image file in any format qemu-img reads."""

    async def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None: ...

    async def create_from_snapshot(self, volume_id: str, snapshot_id: str,
                                   size_gb: int) -> None: ...

    async def extend(self, volume_id: str, size_gb: int) -> None: ...

    async def delete(self, volume_id: str) -> None: ...

    async def create_snapshot(self, snapshot_id: str, volume_id: str) -> None: ...

    async def delete_snapshot(self, snapshot_id: str) -> None: ...

    async def snapshot_exists(self, snapshot_id: str) -> bool: ...
