"""The bus's behaviour, written once and run on every transport (test_memory.py here,
tests/integration/bus/test_rabbit.py against RabbitMQ): a module importing these tests must
provide the fixture `make_bus`, an async factory of started buses on one shared, isolated
broker (each bus stands for one process)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from overcast.common.bus import Bus, BusTimeout, NoServer, RemoteError

MakeBus = Callable[[], Awaitable[Bus]]
WAIT = 10.0  # upper bound on any wait in these tests; a pass takes milliseconds


class DriverError(Exception):
    code = "instance_not_found"


class Manager:
    """An endpoint that records what it received."""

    def __init__(self, name: str):
        self.name = name
        self.seen: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.running = 0
        self.most = 0
        self.gate: asyncio.Event | None = None

    def _note(self, method: str, ctx: dict[str, Any], kwargs: dict[str, Any]) -> None:
        self.seen.append((method, ctx, kwargs))
        self.arrived.set()

    async def echo(self, ctx: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self._note("echo", ctx, kwargs)
        return {"server": self.name, "ctx": ctx, "args": kwargs}

    async def poke(self, ctx: dict[str, Any], **kwargs: Any) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            self._note("poke", ctx, kwargs)
        finally:
            self.running -= 1

    async def slow(self, ctx: dict[str, Any], seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "late"

    async def fail(self, ctx: dict[str, Any]) -> None:
        raise DriverError("no instance 42 on this host")

    async def _private(self, ctx: dict[str, Any]) -> str:
        return "never"

    def not_a_coroutine(self, ctx: dict[str, Any]) -> str:
        return "never"


async def until(predicate: Callable[[], bool], within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


CTX = {"request_id": "req-1", "project_id": "p1", "roles": ["member"], "is_admin": False}


async def test_call_returns_the_result_with_context_and_arguments(make_bus: MakeBus) -> None:
    server_bus, client = await make_bus(), await make_bus()
    await server_bus.serve("compute", "host1", Manager("host1"))
    result = await client.call("compute", "echo", server="host1", ctx=CTX, timeout=WAIT,
                               instance_uuid="u1", spec={"vcpus": 1, "tags": [None, True, 1.5]})
    assert result == {"server": "host1", "ctx": CTX,
                      "args": {"instance_uuid": "u1", "spec": {"vcpus": 1, "tags": [None, True, 1.5]}}}


async def test_call_to_a_server_reaches_that_server_and_to_a_topic_any_one(make_bus: MakeBus) -> None:
    bus = await make_bus()
    await bus.serve("compute", "host1", Manager("host1"))
    await bus.serve("compute", "host2", Manager("host2"))
    for _ in range(3):
        assert (await bus.call("compute", "echo", server="host2", timeout=WAIT))["server"] == "host2"
    answers = {(await bus.call("compute", "echo", timeout=WAIT))["server"] for _ in range(20)}
    assert answers <= {"host1", "host2"} and answers


async def test_call_to_nobody_fails_at_once(make_bus: MakeBus) -> None:
    bus = await make_bus()
    started = time.monotonic()
    with pytest.raises(NoServer) as raised:
        await bus.call("compute", "echo", server="nowhere", timeout=30)
    with pytest.raises(NoServer):
        await bus.call("no-such-topic", "echo", timeout=30)
    assert time.monotonic() - started < 5, "NoServer must not wait for the timeout"
    assert raised.value.server == "nowhere" and "nowhere" in str(raised.value)


async def test_call_to_a_stopped_server_fails_at_once(make_bus: MakeBus) -> None:
    bus = await make_bus()
    server = await bus.serve("compute", "host1", Manager("host1"))
    assert (await bus.call("compute", "echo", server="host1", timeout=WAIT))["server"] == "host1"
    await server.stop()
    started = time.monotonic()
    with pytest.raises(NoServer):
        await bus.call("compute", "echo", server="host1", timeout=30)
    with pytest.raises(NoServer):
        await bus.call("compute", "echo", timeout=30)
    assert time.monotonic() - started < 5


async def test_call_without_a_reply_in_time_is_a_timeout(make_bus: MakeBus) -> None:
    bus = await make_bus()
    await bus.serve("compute", "host1", Manager("host1"))
    started = time.monotonic()
    with pytest.raises(BusTimeout):
        await bus.call("compute", "slow", server="host1", timeout=0.3, seconds=3)
    assert 0.25 < time.monotonic() - started < 2.5
    # the server is still fine for the next call
    assert (await bus.call("compute", "echo", server="host1", timeout=WAIT))["server"] == "host1"


async def test_remote_exception_comes_back_with_type_message_and_code(make_bus: MakeBus) -> None:
    bus = await make_bus()
    await bus.serve("compute", "host1", Manager("host1"))
    with pytest.raises(RemoteError) as raised:
        await bus.call("compute", "fail", server="host1", timeout=WAIT)
    assert raised.value.exc_type == "DriverError"
    assert raised.value.message == "no instance 42 on this host"
    assert raised.value.code == "instance_not_found"


@pytest.mark.parametrize("method", ["missing", "_private", "not_a_coroutine", "__init__"])
async def test_only_public_coroutines_are_methods(make_bus: MakeBus, method: str) -> None:
    bus = await make_bus()
    await bus.serve("compute", "host1", Manager("host1"))
    with pytest.raises(RemoteError) as raised:
        await bus.call("compute", method, server="host1", timeout=WAIT)
    assert raised.value.exc_type == "NoSuchMethod"


async def test_wrong_arguments_are_a_remote_type_error(make_bus: MakeBus) -> None:
    bus = await make_bus()
    await bus.serve("compute", "host1", Manager("host1"))
    with pytest.raises(RemoteError) as raised:
        await bus.call("compute", "slow", server="host1", timeout=WAIT, secs=1)
    assert raised.value.exc_type == "TypeError"


async def test_arguments_must_be_json(make_bus: MakeBus) -> None:
    bus = await make_bus()
    await bus.serve("compute", "host1", Manager("host1"))
    with pytest.raises(TypeError):
        await bus.cast("compute", "poke", server="host1", when=object())


async def test_cast_reaches_the_server_with_its_context(make_bus: MakeBus) -> None:
    server_bus, client = await make_bus(), await make_bus()
    manager = Manager("host1")
    await server_bus.serve("compute", "host1", manager)
    await client.cast("compute", "poke", server="host1", ctx=CTX, instance_uuid="u1")
    await until(lambda: len(manager.seen) == 1)
    assert manager.seen == [("poke", CTX, {"instance_uuid": "u1"})]


async def test_cast_to_a_topic_goes_to_exactly_one_server(make_bus: MakeBus) -> None:
    bus = await make_bus()
    managers = [Manager("host1"), Manager("host2")]
    for m in managers:
        await bus.serve("conductor", m.name, m)
    for i in range(20):
        await bus.cast("conductor", "poke", n=i)
    await until(lambda: sum(len(m.seen) for m in managers) == 20)
    await asyncio.sleep(0.2)  # and no duplicates arrive late
    numbers = sorted(kw["n"] for m in managers for _, _, kw in m.seen)
    assert numbers == list(range(20))


async def test_cast_to_a_topic_never_served_is_no_server(make_bus: MakeBus) -> None:
    bus = await make_bus()
    with pytest.raises(NoServer):
        await bus.cast("compute", "poke", server="never-started")
    with pytest.raises(NoServer):
        await bus.cast("never-served", "poke")


async def test_cast_waits_for_a_server_that_restarts(make_bus: MakeBus) -> None:
    bus = await make_bus()
    server = await bus.serve("compute", "host1", Manager("host1"))
    await server.stop()
    await bus.cast("compute", "poke", server="host1", n=1)  # host1 is down: kept for it
    await bus.cast("compute", "poke", n=2)
    back = Manager("host1")
    await bus.serve("compute", "host1", back)
    await until(lambda: len(back.seen) == 2)
    assert sorted(kw["n"] for _, _, kw in back.seen) == [1, 2]


async def test_fanout_reaches_every_server(make_bus: MakeBus) -> None:
    bus, other = await make_bus(), await make_bus()
    managers = [Manager(f"host{i}") for i in range(3)]
    for m in managers:
        await bus.serve("compute", m.name, m)
    await other.serve("scheduler", "s1", Manager("s1"))
    await other.fanout("compute", "poke", ctx=CTX, what="refresh")
    await until(lambda: all(len(m.seen) == 1 for m in managers))
    assert all(m.seen == [("poke", CTX, {"what": "refresh"})] for m in managers)


async def test_fanout_to_nobody_is_fine(make_bus: MakeBus) -> None:
    bus = await make_bus()
    await bus.fanout("nobody-listens", "poke")


async def test_a_server_runs_at_most_its_concurrency(make_bus: MakeBus) -> None:
    bus = await make_bus()
    manager = Manager("host1")
    manager.gate = asyncio.Event()
    await bus.serve("compute", "host1", manager, concurrency=2)
    for i in range(6):
        await bus.cast("compute", "poke", server="host1", n=i)
    await until(lambda: manager.running == 2)
    await asyncio.sleep(0.2)
    assert manager.running == 2 and not manager.seen
    manager.gate.set()
    await until(lambda: len(manager.seen) == 6)
    assert manager.most == 2


async def test_calls_run_concurrently(make_bus: MakeBus) -> None:
    bus = await make_bus()
    await bus.serve("compute", "host1", Manager("host1"), concurrency=16)
    started = time.monotonic()
    results = await asyncio.gather(*[
        bus.call("compute", "slow", server="host1", timeout=WAIT, seconds=0.3) for _ in range(10)])
    assert results == ["late"] * 10
    assert time.monotonic() - started < 2.5, "ten 0.3 s calls must overlap"


async def test_stopping_a_server_waits_for_its_handlers(make_bus: MakeBus) -> None:
    bus = await make_bus()
    manager = Manager("host1")
    manager.gate = asyncio.Event()
    server = await bus.serve("compute", "host1", manager)
    await bus.cast("compute", "poke", server="host1", n=1)
    await until(lambda: manager.running == 1)
    stopping = asyncio.create_task(server.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()
    manager.gate.set()
    await asyncio.wait_for(stopping, WAIT)
    assert len(manager.seen) == 1


async def test_notifications_reach_a_listener(make_bus: MakeBus) -> None:
    bus, listener_bus = await make_bus(), await make_bus()
    got: list[tuple[str, dict[str, Any]]] = []

    async def handler(event_type: str, payload: dict[str, Any]) -> None:
        got.append((event_type, payload))

    await listener_bus.listen("notifications", handler)
    payload = {"nova_object.name": "InstanceActionPayload", "nova_object.data": {"uuid": "u1"}}
    await bus.notify("nova-compute:host1", "instance.create.end", payload, priority="INFO", ctx=CTX)
    await bus.notify("nova-compute:host1", "instance.create.error", {"x": 1}, priority="ERROR")
    await until(lambda: len(got) == 2)
    assert sorted(got, key=lambda g: g[0]) == [("instance.create.end", payload),
                                              ("instance.create.error", {"x": 1})]


async def test_listeners_filter_by_priority(make_bus: MakeBus) -> None:
    bus = await make_bus()
    errors: list[str] = []

    async def handler(event_type: str, payload: dict[str, Any]) -> None:
        errors.append(event_type)

    await bus.listen("notifications", handler, priorities=["error"])
    await bus.notify("h", "a.info", {}, priority="INFO")
    await bus.notify("h", "b.error", {}, priority="ERROR")
    await until(lambda: errors == ["b.error"])
    await asyncio.sleep(0.2)
    assert errors == ["b.error"]
    with pytest.raises(ValueError):
        await bus.notify("h", "c", {}, priority="LOUD")


async def test_listeners_share_messages_and_pools_each_get_a_copy(make_bus: MakeBus) -> None:
    bus = await make_bus()
    shared: list[list[int]] = [[], []]
    pooled: dict[str, list[int]] = {"metering": [], "audit": []}

    def recorder(into: list[int]) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
        async def handler(event_type: str, payload: dict[str, Any]) -> None:
            into.append(payload["n"])
        return handler

    for into in shared:
        await bus.listen("notifications", recorder(into))
    for name, into in pooled.items():
        await bus.listen("notifications", recorder(into), pool=name)
    for n in range(10):
        await bus.notify("h", "e", {"n": n})
    await until(lambda: len(shared[0]) + len(shared[1]) == 10
                and all(len(v) == 10 for v in pooled.values()))
    await asyncio.sleep(0.2)
    assert sorted(shared[0] + shared[1]) == list(range(10))
    assert all(sorted(v) == list(range(10)) for v in pooled.values())


async def test_notifications_wait_for_a_listener_that_restarts(make_bus: MakeBus) -> None:
    bus = await make_bus()
    got: list[int] = []

    async def handler(event_type: str, payload: dict[str, Any]) -> None:
        got.append(payload["n"])

    listener = await bus.listen("telemetry", handler, pool="ceilometer")
    await listener.stop()
    await bus.notify("h", "e", {"n": 1}, topic="telemetry")
    await bus.listen("telemetry", handler, pool="ceilometer")
    await until(lambda: got == [1])


async def test_close_stops_servers(make_bus: MakeBus) -> None:
    server_bus, client = await make_bus(), await make_bus()
    await server_bus.serve("compute", "host1", Manager("host1"))
    await server_bus.close()
    with pytest.raises(NoServer):
        await client.call("compute", "echo", server="host1", timeout=WAIT)
