"""The bus semantics (tests/unit/bus/semantics.py) on RabbitMQ at 127.0.0.1:5672, each test
under a prefix of its own (exchanges and queues deleted afterwards), so parallel runs and the
other users of the shared broker never meet."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from overcast.common.bus import Bus, connect
from overcast.common.bus.rabbit import RabbitBus
from tests.conftest import port_open, require
from tests.unit.bus.semantics import *  # noqa: F403 (the shared tests run here)
from tests.unit.bus.semantics import MakeBus

pytestmark = pytest.mark.integration

RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"


@pytest.fixture
async def make_bus() -> AsyncIterator[MakeBus]:
    require("RabbitMQ on 127.0.0.1:5672", port_open("127.0.0.1", 5672))
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    buses: list[RabbitBus] = []

    async def make() -> Bus:
        bus = connect(RABBIT_URL, prefix=prefix)
        assert isinstance(bus, RabbitBus)
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.close()
    cleaner = RabbitBus(RABBIT_URL, prefix=prefix)
    await cleaner.start()
    for bus in buses:
        cleaner.declared_queues |= bus.declared_queues
        cleaner.declared_exchanges |= bus.declared_exchanges
    await cleaner.delete_declared()
    await cleaner.close()
