"""The bus semantics (semantics.py) on the in-memory transport, plus what only it has."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from overcast.common.bus import Bus, MemoryBus, NoServer, connect
from tests.unit.bus.semantics import *  # noqa: F403 (the shared tests run here)
from tests.unit.bus.semantics import MakeBus, Manager


@pytest.fixture
async def make_bus() -> AsyncIterator[MakeBus]:
    hub = f"test-{uuid.uuid4().hex}"  # a broker of its own
    buses: list[Bus] = []

    async def make() -> Bus:
        bus = connect(f"memory://{hub}")
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.close()


def test_connect_chooses_the_transport_by_url() -> None:
    assert isinstance(connect("memory://"), MemoryBus)
    assert isinstance(connect(), MemoryBus)
    with pytest.raises(ValueError):
        connect("kafka://broker:9092")


async def test_memory_hubs_are_apart_and_one_name_is_one_hub() -> None:
    name = uuid.uuid4().hex
    one, same, other = connect(f"memory://{name}"), connect(f"memory://{name}"), connect(f"memory://x{name}")
    await one.serve("compute", "h", Manager("h"))
    assert (await same.call("compute", "echo", server="h", timeout=5))["server"] == "h"
    with pytest.raises(NoServer):
        await other.call("compute", "echo", server="h", timeout=5)
    await one.close()


async def test_prefixes_keep_buses_on_one_hub_apart() -> None:
    name = uuid.uuid4().hex
    a, b = connect(f"memory://{name}?prefix=a"), connect(f"memory://{name}", prefix="b")
    await a.serve("compute", "h", Manager("h"))
    with pytest.raises(NoServer):
        await b.call("compute", "echo", server="h", timeout=5)
    await a.close()


def test_a_hub_belongs_to_its_event_loop() -> None:
    """What one loop (one test) leaves on `memory://`, a running server or a queued cast,
    never reaches the next loop."""
    manager = Manager("h")

    async def first() -> None:
        bus = connect("memory://")
        await bus.serve("leftover", "h", manager)  # never stopped
        assert (await bus.call("leftover", "echo", server="h", timeout=5))["server"] == "h"

    async def second() -> None:
        bus = connect("memory://")
        with pytest.raises(NoServer):
            await bus.call("leftover", "echo", server="h", timeout=5)
        with pytest.raises(NoServer):
            await bus.cast("leftover", "echo", server="h")

    asyncio.run(first())
    asyncio.run(second())
    assert len(manager.seen) == 1


async def test_the_memory_bus_is_always_connected() -> None:
    assert connect("memory://").connected


async def test_a_call_cancelled_as_its_reply_arrives_stays_cancelled() -> None:
    """The caller is cancelled in the step that sets its reply (as an agent's stop can land
    while the conductor answers its report). Python 3.11's wait_for returned the reply and lost
    the cancel: the stopping agent's worker went back to its queue and its stop waited for
    ever."""
    bus = connect(f"memory://{uuid.uuid4().hex}")
    callers: list[asyncio.Task[Any]] = []

    class Endpoint:
        async def answer(self, ctx: dict[str, Any]) -> str:
            callers[0].cancel()  # the reply is set as this returns, before the caller runs
            return "late"

    await bus.serve("t", "s", Endpoint())
    callers.append(asyncio.create_task(bus.call("t", "answer", server="s", timeout=5)))
    with pytest.raises(asyncio.CancelledError):
        await callers[0]
    await bus.close()
