"""The object daemons, each an agent loop (common/agent.py) over this node's devices."""

from __future__ import annotations

from collections.abc import Callable

from overcast.config import Config
from overcast.object.ring import Ring
from overcast.object.storage.server import StorageServer

__all__ = ["Daemons"]


class Daemons:
    def __init__(self, config: Config, storage: StorageServer, ring: Callable[[], Ring],
                 local_only: bool = True):
        self.config = config
        self.storage = storage
        self.ring = ring

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
