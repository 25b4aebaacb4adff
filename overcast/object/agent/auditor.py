"""The auditor: every object file's bytes are read and checked against the ETag and length
its metadata records; a file that fails (or whose metadata cannot be read) is quarantined,
so it is never served again and the replicator restores a good copy from a peer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from overcast.object.storage.diskfile import read_trailer
from overcast.object.storage.server import StorageServer

__all__ = ["Auditor", "check_file"]

log = logging.getLogger("overcast.object.auditor")


def check_file(path: Path) -> bool:
    """Whether an object file holds what its metadata says (blocking)."""
    try:
        meta, length = read_trailer(path)
        if int(meta.get("Content-Length", -1)) != length:
            return False
        md5 = hashlib.md5(usedforsecurity=False)
        left = length
        with open(path, "rb") as f:
            while left > 0:
                chunk = f.read(min(1 << 20, left))
                if not chunk:
                    return False
                md5.update(chunk)
                left -= len(chunk)
        return md5.hexdigest() == meta.get("ETag")
    except (OSError, ValueError):
        return False


class Auditor:
    def __init__(self, storage: StorageServer, devices: Callable[[], list[str]]):
        self.storage = storage
        self.devices = devices
        self.quarantined: list[Path] = []

    async def keys(self) -> Iterable[str]:
        return self.devices()

    async def reconcile(self, device: str) -> None:
        files = await asyncio.to_thread(lambda: list(self.storage.files.data_files(device)))
        for path in files:
            if await asyncio.to_thread(check_file, path):
                continue
            try:
                target = await asyncio.to_thread(self.storage.files.quarantine, path)
            except FileNotFoundError:
                continue  # replaced by a newer write meanwhile
            log.warning("quarantined %s (checksum or metadata mismatch) to %s", path, target)
            self.quarantined.append(target)
