"""Disk images: inspection, bootability checks, the base image cache and overlays (qemu-img)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from overcast.compute.drivers.base import InvalidImage
from overcast.compute.drivers.qemu.processes import CommandFailed, run

GiB = 1024**3


@dataclass(frozen=True)
class ImageInfo:
    """What qemu-img says about an image file."""

    format: str
    virtual_size: int
    backing_file: str | None


async def inspect(path: Path) -> ImageInfo:
    """qemu-img info; InvalidImage when the file is missing or unreadable."""
    if not await asyncio.to_thread(path.is_file):
        raise InvalidImage(f"image file {path.name} does not exist")
    try:
        out = await run("qemu-img", "info", "--output=json", "-U", path, seconds=60)
    except CommandFailed as exc:
        raise InvalidImage(f"image {path.name} cannot be read: {exc.stderr.strip()}") from exc
    data = json.loads(out)
    return ImageInfo(
        format=data["format"],
        virtual_size=int(data["virtual-size"]),
        backing_file=data.get("backing-filename"),
    )


async def read_head(path: Path, fmt: str, size: int = 36 * 1024) -> bytes:
    """The first `size` bytes of the guest-visible disk (any format)."""
    with tempfile.TemporaryDirectory(prefix="overcast-head-") as tmp:
        out = Path(tmp) / "head"
        await run(
            "qemu-img", "dd", "-U", "-f", fmt, "-O", "raw", "bs=512",
            f"count={size // 512}", f"if={path}", f"of={out}", seconds=60,
        )
        return await asyncio.to_thread(out.read_bytes)


def _bootable(head: bytes) -> str | None:
    """'disk' for an MBR/GPT boot sector, 'cdrom' for an El Torito ISO, else None."""
    if len(head) >= 0x8006 and head[0x8001:0x8006] == b"CD001":
        return "cdrom"
    if len(head) >= 512 and head[510:512] == b"\x55\xaa":
        return "disk"
    return None


async def check_bootable(path: Path, disk_format: str, has_kernel: bool) -> tuple[ImageInfo, str]:
    """Refuse images that cannot boot; return their info and how they boot (disk/cdrom/kernel).

    A qcow2 with a backing file is refused: it could point at any file on the host.
    """
    info = await inspect(path)
    if info.backing_file:
        raise InvalidImage(f"image {path.name} has a backing file; upload a standalone image")
    if info.format not in ("qcow2", "raw"):
        raise InvalidImage(f"image {path.name} is {info.format}; qcow2 and raw are supported")
    if disk_format == "qcow2" and info.format != "qcow2":
        raise InvalidImage(f"image {path.name} claims qcow2 but its content is {info.format}")
    if has_kernel:
        return info, "kernel"
    kind = _bootable(await read_head(path, info.format))
    if kind is None:
        raise InvalidImage(
            f"image {path.name} is not a bootable disk (no boot sector); "
            "an AMI root needs a kernel and ramdisk"
        )
    return info, kind


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def cache_base(image: Path, base_dir: Path) -> Path:
    """A read-only qcow2 copy of `image` in the base cache, named by its content's sha256.

    Overlays point at it by absolute path (a relative backing path would resolve against
    the overlay's directory, GUEST_NOTES pitfall 10).
    """
    await asyncio.to_thread(base_dir.mkdir, parents=True, exist_ok=True)
    digest = await asyncio.to_thread(_sha256, image)
    base = base_dir / f"{digest}.qcow2"
    if base.exists():
        return base
    info = await inspect(image)
    tmp = base_dir / f".{digest}.{os.getpid()}.tmp"
    try:
        await run("qemu-img", "convert", "-U", "-f", info.format, "-O", "qcow2", image, tmp)
        await asyncio.to_thread(tmp.chmod, 0o444)
        tmp.rename(base)
    finally:
        tmp.unlink(missing_ok=True)
    return base


async def create_overlay(base: Path, path: Path, size: int | None = None) -> None:
    """A qcow2 overlay of `base` (give an absolute path), grown to `size` bytes if larger."""
    args: list[str | Path] = [
        "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), path,
    ]
    if size:
        args.append(str(size))
    await run(*args)


async def create_blank(path: Path, size: int) -> None:
    """An empty qcow2 of `size` bytes."""
    await run("qemu-img", "create", "-q", "-f", "qcow2", path, str(size))


async def create_swap(path: Path, size: int) -> None:
    """A swap disk as Nova makes one: formatted with mkswap, stored as qcow2."""
    raw = path.with_suffix(".raw")
    try:
        await run("truncate", "-s", str(size), raw)
        await run("mkswap", "-q", raw)
        await run("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, path)
    finally:
        raw.unlink(missing_ok=True)


async def grow(path: Path, size: int) -> None:
    """Grow a qcow2 to `size` bytes (never shrinks)."""
    if (await inspect(path)).virtual_size < size:
        await run("qemu-img", "resize", "-q", path, str(size))


async def export(source: Path, target: Path, compress: bool = True) -> None:
    """Write `source` and its backing chain as one standalone qcow2 at `target`, atomically.

    -U reads an image that a running (paused) QEMU holds locked.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        args: list[str | Path] = ["qemu-img", "convert", "-U", "-O", "qcow2"]
        if compress:
            args.append("-c")
        await run(*args, source, tmp, seconds=1800)
        tmp.rename(target)
    finally:
        tmp.unlink(missing_ok=True)
