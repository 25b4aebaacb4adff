"""A host that dies (its agent process SIGKILLed, as a crash or a power cut of the process) on
the shared RabbitMQ: a call to it fails at once with NoServer, not after its timeout; casts sent
to it while it is down wait in its durable queue and reach the agent that comes back."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest
from aio_pika.exceptions import ChannelNotFoundEntity

from overcast.common.bus import NoServer
from overcast.common.bus.rabbit import RabbitBus
from tests.conftest import port_open, require

pytestmark = pytest.mark.integration

URL = "rabbit://guest:guest@127.0.0.1:5672/"

# An agent in a process of its own: serves compute/host1 and writes each cast to a file.
AGENT = """
import asyncio, json, sys
from overcast.common.bus import connect

class Manager:
    async def ping(self, ctx):
        return "pong"
    async def record(self, ctx, n):
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps(n) + "\\n")

async def main():
    bus = connect(sys.argv[3], prefix=sys.argv[1])
    await bus.start()
    await bus.serve("compute", "host1", Manager())
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture
async def client() -> AsyncIterator[RabbitBus]:
    require("RabbitMQ on 127.0.0.1:5672", port_open("127.0.0.1", 5672))
    bus = RabbitBus(URL, prefix=f"test-{uuid.uuid4().hex[:12]}")
    await bus.start()
    yield bus
    # what the agents declared under the prefix, deleted by name (the cleaner knows the layout)
    n = bus.names
    bus.declared_queues |= {n.cast_queue("compute", "host1"), n.cast_queue("compute", None)}
    bus.declared_exchanges |= {n.rpc_exchange, n.fanout_exchange("compute"), n.notify_exchange}
    await bus.delete_declared()
    await bus.close()


async def start_agent(prefix: str, record: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", AGENT, prefix, str(record), URL, env={**os.environ},
        stdin=asyncio.subprocess.DEVNULL)


async def queue_gone(name: str, within: float = 20.0) -> None:
    """Wait until the broker has deleted queue `name` (a passive declare says 404)."""
    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    try:
        deadline = time.monotonic() + within
        while True:
            channel = await connection.channel()
            try:
                await channel.declare_queue(name, passive=True)
            except ChannelNotFoundEntity:
                return
            await channel.close()
            assert time.monotonic() < deadline, f"queue {name} outlived its consumer"
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


async def wait_served(bus: RabbitBus) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            assert await bus.call("compute", "ping", server="host1", timeout=10) == "pong"
            return
        except NoServer:
            assert time.monotonic() < deadline, "the agent did not start serving"
            await asyncio.sleep(0.2)


async def test_a_call_to_a_killed_host_fails_at_once_and_casts_wait_for_it(
        client: RabbitBus, tmp_path: Path) -> None:
    record = tmp_path / "casts"
    agent = await start_agent(client.names.prefix, record)
    try:
        async with asyncio.timeout(180):
            await wait_served(client)
            agent.send_signal(signal.SIGKILL)
            await agent.wait()

            # the broker sees the TCP connection close and drops the host's call queue (a call
            # sent in the instant before that is lost with the queue and times out)
            await queue_gone(client.names.call_queue("compute", "host1"))
            started = time.monotonic()
            with pytest.raises(NoServer):
                await client.call("compute", "ping", server="host1", timeout=30)
            assert time.monotonic() - started < 5, "a call to a dead host must not wait"

            for n in range(3):  # confirmed by the broker, kept in host1's durable queue
                await client.cast("compute", "record", server="host1", n=n)

            agent = await start_agent(client.names.prefix, record)
            await wait_served(client)
            deadline = time.monotonic() + 30
            while not record.exists() or len(record.read_text().split()) < 3:
                assert time.monotonic() < deadline, "casts sent while the host was down were lost"
                await asyncio.sleep(0.1)
            assert sorted(json.loads(x) for x in record.read_text().split()) == [0, 1, 2]
    finally:
        if agent.returncode is None:
            agent.send_signal(signal.SIGKILL)
            await agent.wait()
