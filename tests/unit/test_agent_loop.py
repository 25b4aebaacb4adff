"""The shared agent loop (common/agent.py) stops for good."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from overcast.common.agent import AgentLoop


class Swallower:
    """A reconciler whose work loses a cancel, as Python 3.11's wait_for did when the answer
    it waited for came in at the moment of the cancel."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def keys(self) -> Iterable[str]:
        return ["k"]

    async def reconcile(self, key: str) -> None:
        self.started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            pass


async def test_stop_ends_a_worker_whose_reconcile_lost_the_cancel() -> None:
    reconciler = Swallower()
    loop = AgentLoop("test", reconciler, interval=60, parallel=1)
    loop.start()
    async with asyncio.timeout(5):
        await reconciler.started.wait()
    async with asyncio.timeout(10):  # one cancel only: the worker waited on its queue for ever
        await loop.stop()
