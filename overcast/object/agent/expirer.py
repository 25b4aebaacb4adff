"""The expirer: objects whose X-Delete-At has passed are deleted on this node.

Each object server notes the objects it stores that carry X-Delete-At in a per-device index
(DEVICE/expiring/); this walks the entries that are due and deletes its replica (only if the
object still carries that X-Delete-At: a later PUT or POST may have changed it), with a
container update, as a DELETE from the proxy would. Until then a GET already answers 404."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Iterable

from overcast.object import timestamp
from overcast.object.nodes import NodeError, node_path
from overcast.object.ring import Ring
from overcast.object.storage.server import StorageServer

__all__ = ["Expirer"]

log = logging.getLogger("overcast.object.expirer")


class Expirer:
    def __init__(self, storage: StorageServer, ring: Callable[[], Ring],
                 devices: Callable[[], list[str]]):
        self.storage = storage
        self.ring = ring
        self.devices = devices
        self.expired = 0

    async def keys(self) -> Iterable[str]:
        return self.devices()

    async def reconcile(self, device: str) -> None:
        d = self.storage.files.device(device) / "expiring"
        try:
            names = sorted(n for n in await asyncio.to_thread(os.listdir, d)
                           if not n.startswith("."))
        except FileNotFoundError:
            return
        now = time.time()
        for name in names:
            if int(name.split("-", 1)[0]) > now:
                break  # sorted by time: the rest are later
            path = d / name
            try:
                entry = json.loads(await asyncio.to_thread(path.read_bytes))
            except (OSError, ValueError):
                await asyncio.to_thread(path.unlink, missing_ok=True)
                continue
            if await self._expire(device, entry):
                await asyncio.to_thread(path.unlink, missing_ok=True)

    async def _expire(self, device: str, entry: dict[str, object]) -> bool:
        a, c, o = str(entry["a"]), str(entry["c"]), str(entry["o"])
        ring = self.ring()
        part, devs = ring.get_nodes(a, c, o)
        mine = [i for i, dev in enumerate(devs) if dev.device == device]
        dev = devs[mine[0]] if mine else next((x for x in ring.devices if x is not None
                                               and x.device == device), None)
        if dev is None:
            return True
        cpart, cdevs = ring.get_nodes(a, c)
        target = cdevs[mine[0] if mine else 0]
        headers = {"x-timestamp": timestamp.now(), "x-if-delete-at": str(entry["delete_at"]),
                   "x-container-host": target.address, "x-container-device": target.device,
                   "x-container-partition": str(cpart)}
        try:
            resp = await self.storage.nodes.request(dev, "DELETE", node_path(
                "object", device, part, a, c, o), headers)
            await resp.aclose()
        except NodeError:
            return False
        if resp.status in (204, 404, 412):
            if resp.status == 204:
                self.expired += 1
            return True
        return False
