"""The updater: container updates that could not be sent when an object changed (the
container server was down) are kept as async pending files; this sends them until they land."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Iterable

from overcast.object.storage.server import StorageServer

__all__ = ["Updater"]

log = logging.getLogger("overcast.object.updater")


class Updater:
    def __init__(self, storage: StorageServer, devices: Callable[[], list[str]]):
        self.storage = storage
        self.devices = devices
        self.sent = 0

    async def keys(self) -> Iterable[str]:
        return self.devices()

    async def reconcile(self, device: str) -> None:
        d = self.storage.files.device(device) / "async_pending"
        try:
            names = sorted(n for n in await asyncio.to_thread(os.listdir, d)
                           if not n.startswith("."))
        except FileNotFoundError:
            return
        for name in names:
            path = d / name
            try:
                update = json.loads(await asyncio.to_thread(path.read_bytes))
            except (OSError, ValueError):
                continue
            if await self.storage.send_update(update):
                await asyncio.to_thread(path.unlink, missing_ok=True)
                self.sent += 1
