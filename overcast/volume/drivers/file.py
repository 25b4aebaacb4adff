"""The file driver: each volume a qcow2 (or raw) file in one directory, made and changed with
qemu-img; a snapshot is a standalone copy of its volume at that moment (so volumes and
snapshots are deleted in any order). Capacity is the file system's.

Every file appears atomically: qemu-img writes `.NAME.tmp`, which is fsynced and renamed, then
the directory fsynced; a crash leaves a temp file (removed on the next try), never a partial
volume under its real name."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from overcast.volume.drivers import DriverError

__all__ = ["FileDriver"]

GiB = 1 << 30


class FileDriver:
    backend = "file"

    def __init__(self, root: Path, volume_format: str = "qcow2", qemu_img: str = "qemu-img"):
        self.root = root
        self.format = volume_format
        self.qemu_img = qemu_img
        root.mkdir(parents=True, exist_ok=True)

    def path(self, volume_id: str) -> Path:
        return self.root / f"volume-{volume_id}"

    def snapshot_path(self, snapshot_id: str) -> Path:
        return self.root / f"snapshot-{snapshot_id}"

    def capacity(self) -> tuple[float, float]:
        st = os.statvfs(self.root)
        return st.f_blocks * st.f_frsize / GiB, st.f_bavail * st.f_frsize / GiB

    async def _run(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            self.qemu_img, *args, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise DriverError(f"qemu-img {args[0]} failed: {err.decode(errors='replace')[:200]}")
        return out.decode()

    async def _atomic(self, final: Path, *args: str) -> None:
        """Run qemu-img writing to a temp file named last in `args`, then publish it."""
        tmp = final.with_name(f".{final.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            await self._run(*args, str(tmp))
            await asyncio.to_thread(self._publish, tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _publish(tmp: Path, final: Path) -> None:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        dfd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    async def exists(self, volume_id: str) -> bool:
        return self.path(volume_id).exists()

    async def size_gb(self, volume_id: str) -> int | None:
        path = self.path(volume_id)
        if not path.exists():
            return None
        info = json.loads(await self._run("info", "--output=json", "-f", self.format, str(path)))
        return -(-int(info["virtual-size"]) // GiB)

    async def create(self, volume_id: str, size_gb: int) -> None:
        if not self.path(volume_id).exists():
            await self._atomic(self.path(volume_id), "create", "-q", "-f", self.format,
                               *self._size_last(size_gb))

    @staticmethod
    def _size_last(size_gb: int) -> list[str]:
        # qemu-img create takes the size after the file name; _atomic appends the file name
        # last, so the size goes in with -o size=.
        return ["-o", f"size={size_gb * GiB}"]

    async def _copy(self, final: Path, source: Path, source_format: str | None,
                    size_gb: int | None) -> None:
        if await asyncio.to_thread(final.exists):
            return
        fmt = ["-f", source_format] if source_format else []
        tmp = final.with_name(f".{final.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            await self._run("convert", "-q", *fmt, "-O", self.format, str(source), str(tmp))
            if size_gb is not None:
                await self._run("resize", "-q", "-f", self.format, str(tmp), str(size_gb * GiB))
            await asyncio.to_thread(self._publish, tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    async def create_from_file(self, volume_id: str, source: Path, size_gb: int) -> None:
        await self._copy(self.path(volume_id), source, None, size_gb)

    async def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None:
        src = self.path(source_volume_id)
        if not src.exists():
            raise DriverError(f"source volume {source_volume_id} not found")
        await self._copy(self.path(volume_id), src, self.format, size_gb)

    async def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        src = self.snapshot_path(snapshot_id)
        if not src.exists():
            raise DriverError(f"snapshot {snapshot_id} not found")
        await self._copy(self.path(volume_id), src, self.format, size_gb)

    async def extend(self, volume_id: str, size_gb: int) -> None:
        current = await self.size_gb(volume_id)
        if current is None:
            raise DriverError(f"volume {volume_id} not found")
        if current < size_gb:
            await self._run("resize", "-q", "-f", self.format, str(self.path(volume_id)),
                            str(size_gb * GiB))

    async def delete(self, volume_id: str) -> None:
        self.path(volume_id).unlink(missing_ok=True)

    async def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        src = self.path(volume_id)
        if not src.exists():
            raise DriverError(f"volume {volume_id} not found")
        await self._copy(self.snapshot_path(snapshot_id), src, self.format, None)

    async def delete_snapshot(self, snapshot_id: str) -> None:
        self.snapshot_path(snapshot_id).unlink(missing_ok=True)

    async def snapshot_exists(self, snapshot_id: str) -> bool:
        return self.snapshot_path(snapshot_id).exists()
