"""The per-host image cache: image ids from the Image service resolved to local files.

Specs carry image ids (messages.DesiredImage); only the agent knows host paths. Files land in
`<cache>/<image id>` (temp file, then rename), so a crash never leaves a half image that looks
whole; the QEMU driver then keeps its own base copy per content and an overlay per instance.
AKI/ARI/AMI images name their kernel and ramdisk in `kernel_id`/`ramdisk_id`, fetched the same way.
The fake driver reads no bytes: `fetch_bytes=False` resolves ids to paths without downloading.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Literal, cast

from overcast.common.clients import ImageClient
from overcast.compute.drivers.base import ImageSource
from overcast.compute.messages import DesiredImage

__all__ = ["ImageCache"]

_FORMATS = ("qcow2", "raw", "iso", "ami")


class ImageCache:
    """`store`: the Image service, reached with the token of the request being served (Nova's
    compute acts on the user's context the same way)."""

    def __init__(self, root: Path, store: ImageClient | None, *, fetch_bytes: bool = True):
        self.root = root
        self.store = store
        self.fetch_bytes = fetch_bytes
        self._locks: dict[str, asyncio.Lock] = {}

    async def path(self, image_id: str, token: str | None) -> Path:
        """The local file of `image_id`, downloaded once."""
        target = self.root / image_id
        if not self.fetch_bytes or target.exists():
            return target
        if self.store is None or not token:
            raise RuntimeError(f"image {image_id} is not cached on this host and no request "
                               "token is at hand to fetch it")
        lock = self._locks.setdefault(image_id, asyncio.Lock())
        async with lock:
            if target.exists():
                return target
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{image_id}.{os.getpid()}.part")
            try:
                await self.store.download(token, image_id, tmp)
                await asyncio.to_thread(os.replace, tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return target

    async def source(self, image: DesiredImage, token: str | None) -> ImageSource:
        """What the driver boots for `image` (kernel and ramdisk resolved for AMIs)."""
        fmt = image.disk_format if image.disk_format in _FORMATS else "qcow2"
        props = image.properties
        kernel = ramdisk = None
        if props.get("kernel_id"):
            kernel = await self.path(str(props["kernel_id"]), token)
        if props.get("ramdisk_id"):
            ramdisk = await self.path(str(props["ramdisk_id"]), token)
        args = props.get("os_command_line")
        return ImageSource(
            path=await self.path(image.id, token),
            disk_format=cast(Literal["qcow2", "raw", "iso", "ami"], fmt),
            kernel=kernel, ramdisk=ramdisk,
            kernel_args=str(args) if args else None,
            min_ram_mb=image.min_ram, min_disk_gb=image.min_disk,
        )
