"""RabbitMQ transport (in progress on branch `bus`)."""

from __future__ import annotations

from overcast.common.bus.memory import MemoryBus


class RabbitBus(MemoryBus):
    def __init__(self, url: str, *, prefix: str, default_timeout: float | None = None):
        raise NotImplementedError("the RabbitMQ transport is being written (branch bus)")
