"""Bus benchmark: call round trips and casts per second, memory beside RabbitMQ.

    PYTHONPATH=. .venv/bin/python bench/bus/run.py [--count 2000] [--concurrency 1,32]
                                                   [--rabbit rabbit://guest:guest@127.0.0.1:5672/]

One process, one event loop: a server of topic `bench` (an endpoint whose methods return at
once) and a client, on the in-memory transport and on RabbitMQ (under a prefix of its own,
deleted afterwards). For each transport and concurrency (requests in flight at once):
- call: round trips per second and p50/p99 latency (request, run, reply);
- cast: casts per second as the sender sees them (each returns once confirmed: on RabbitMQ
  the broker's publisher confirm of a persistent message in a durable queue), and the rate
  until the server has run all of them.
Messages are JSON on both transports (the memory one encodes too), a small argument each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common.report import machine, table
from overcast.common.bus import Bus, connect
from overcast.common.bus.rabbit import RabbitBus


class Endpoint:
    def __init__(self) -> None:
        self.casts = 0
        self.done = asyncio.Event()
        self.expect = 0

    async def echo(self, ctx: dict[str, Any], value: Any) -> Any:
        return value

    async def poke(self, ctx: dict[str, Any], value: Any) -> None:
        self.casts += 1
        if self.casts >= self.expect:
            self.done.set()


async def in_flight(n: int, concurrency: int, one: Any) -> list[float]:
    """Run `one()` n times, `concurrency` at once; the latency of each in seconds."""
    latencies: list[float] = []
    todo = iter(range(n))

    async def worker() -> None:
        for _ in todo:
            started = time.perf_counter()
            await one()
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return latencies


async def measure(bus: Bus, count: int, concurrency: int) -> dict[str, str]:
    endpoint = Endpoint()
    server = await bus.serve("bench", "h1", endpoint, concurrency=max(concurrency, 16))
    ctx = {"request_id": "req-bench", "project_id": "p"}
    value = {"instance_uuid": str(uuid.uuid4()), "n": 1}
    try:
        await in_flight(min(200, count), concurrency,  # warm up
                        lambda: bus.call("bench", "echo", server="h1", ctx=ctx, value=value))
        started = time.perf_counter()
        lat = await in_flight(count, concurrency,
                              lambda: bus.call("bench", "echo", server="h1", ctx=ctx, value=value))
        call_s = time.perf_counter() - started

        endpoint.expect, endpoint.casts = count, 0
        endpoint.done.clear()
        started = time.perf_counter()
        await in_flight(count, concurrency,
                        lambda: bus.cast("bench", "poke", server="h1", ctx=ctx, value=value))
        sent_s = time.perf_counter() - started
        await asyncio.wait_for(endpoint.done.wait(), 120)
        handled_s = time.perf_counter() - started
    finally:
        await server.stop()
    q = statistics.quantiles(lat, n=100)
    return {
        "calls/s": f"{count / call_s:,.0f}",
        "call p50 ms": f"{q[49] * 1000:.2f}",
        "call p99 ms": f"{q[98] * 1000:.2f}",
        "casts/s sent": f"{count / sent_s:,.0f}",
        "casts/s handled": f"{count / handled_s:,.0f}",
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="calls and casts per cell")
    parser.add_argument("--concurrency", default="1,32", help="in flight at once, comma-separated")
    parser.add_argument("--rabbit", default="rabbit://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--only", choices=["memory", "rabbit"])
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    print("Bus: call round trips and casts per second (client and server in one process)")
    for k, v in machine().items():
        print(f"  {k}: {v}")
    print(f"  messages per cell: {args.count}\n")

    results: dict[tuple[str, int], dict[str, str]] = {}
    transports = [t for t in ("memory", "rabbit") if args.only in (None, t)]
    for transport in transports:
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        url = f"memory://{prefix}" if transport == "memory" else args.rabbit
        bus = connect(url, prefix=prefix)
        await bus.start()
        try:
            for c in levels:
                results[(transport, c)] = await measure(bus, args.count, c)
        finally:
            if isinstance(bus, RabbitBus):
                await bus.delete_declared()
            await bus.close()

    metrics = ["calls/s", "call p50 ms", "call p99 ms", "casts/s sent", "casts/s handled"]
    header = ["metric"] + [f"{t} c={c}" for t in transports for c in levels]
    rows = [[m] + [results[(t, c)][m] for t in transports for c in levels] for m in metrics]
    print(table(header, rows))
    print("\nRabbitMQ casts are persistent and publisher-confirmed (durable queue); calls expire "
          "with their timeout and are confirmed too (mandatory: NoServer for a host that is down).")


if __name__ == "__main__":
    asyncio.run(main())
