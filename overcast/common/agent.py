"""The agent loop every service's agents share: level-triggered around a reconciler
(STYLE.md §8, kopf's per-object queue), kept small. Resync over `keys()` at start and every
`interval` seconds, `poke(key)` between (a bus message, a request); one key at a time, several
keys at once; a key poked while it runs runs again afterwards; a failure is logged and retried
at the next resync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

from overcast.common.tasks import cancel_and_wait

__all__ = ["AgentLoop", "Reconciler"]

log = logging.getLogger("overcast.agent")


class Reconciler(Protocol):
    """What a loop drives: the keys that may need work, and one pass over one key."""

    async def keys(self) -> Iterable[str]: ...

    async def reconcile(self, key: str) -> None: ...


class AgentLoop:
    def __init__(self, name: str, reconciler: Reconciler, interval: float, parallel: int = 4):
        self.name = name
        self.reconciler = reconciler
        self.interval = interval
        self.parallel = parallel
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: set[str] = set()  # queued, not yet started
        self._running: set[str] = set()
        self._again: set[str] = set()  # poked while running
        self._tasks: list[asyncio.Task[None]] = []

    def poke(self, key: str) -> None:
        """Look at `key` soon (a duplicate costs nothing)."""
        if key in self._running:
            self._again.add(key)
        elif key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    async def resync(self) -> None:
        for key in await self.reconciler.keys():
            self.poke(key)

    async def run_once(self) -> None:
        """One pass over every key, waited for (`--once`, tests)."""
        keys = list(await self.reconciler.keys())
        room = asyncio.Semaphore(self.parallel)

        async def one(key: str) -> None:
            async with room:
                await self._reconcile(key)

        await asyncio.gather(*(one(k) for k in keys))

    def start(self) -> None:
        """Resync now and every `interval` seconds; work through pokes in the background."""
        self._tasks = [asyncio.create_task(self._resync_forever(), name=f"{self.name}-resync")]
        self._tasks += [asyncio.create_task(self._work(), name=f"{self.name}-{i}")
                        for i in range(self.parallel)]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def _resync_forever(self) -> None:
        while True:
            try:
                await self.resync()
            except Exception:
                log.exception("%s: resync failed", self.name)
            await asyncio.sleep(self.interval)

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key)
            await self._reconcile(key)
            if key in self._again:
                self._again.discard(key)
                self.poke(key)

    async def _reconcile(self, key: str) -> None:
        if key in self._running:
            self._again.add(key)
            return
        self._running.add(key)
        try:
            await self.reconciler.reconcile(key)
        except Exception:
            log.exception("%s: %s failed; retried at the next resync", self.name, key)
        finally:
            self._running.discard(key)
