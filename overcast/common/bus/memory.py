"""The in-process transport: RabbitMQ's model in miniature, for `overcast up` and tests.

It keeps the broker's semantics so code that works here works over RabbitMQ: casts wait in a
queue per topic and per topic + server that outlives the server (a server that restarts finds
them), call queues exist only while a server consumes them (a call to nobody is NoServer at
once), every message is JSON on the way in and out, and a server runs at most `concurrency`
messages at once, the rest waiting in its queues. A hub is one broker; `memory://` is the
process's default hub and `memory://NAME` another one. A hub belongs to an event loop (a
process has one; a test gets a fresh loop, so nothing a test leaves behind, a queued cast or a
server it did not stop, reaches the next one).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from overcast.common.bus.errors import BusTimeout, NoServer
from overcast.common.bus.interface import (
    DEFAULT_CONCURRENCY,
    PRIORITIES,
    Bus,
    Context,
    Names,
    NotificationHandler,
    Subscription,
    check_priority,
    decode_reply,
    encode_notification,
    encode_request,
    run_notification,
    run_request,
)

__all__ = ["MemoryBus"]


@dataclass(eq=False)
class _Envelope:
    kind: str  # call, cast, fanout, notify
    body: bytes
    reply: asyncio.Future[bytes] | None = None


@dataclass(eq=False)
class _Queue:
    name: str
    durable: bool  # kept (with its backlog) when its last consumer goes
    backlog: deque[_Envelope] = field(default_factory=deque)
    consumers: list[_Consumer] = field(default_factory=list)
    turn: int = 0

    def put(self, envelope: _Envelope) -> None:
        n = len(self.consumers)
        for i in range(n):  # round robin over consumers with room, as the broker's prefetch
            consumer = self.consumers[(self.turn + i) % n]
            if consumer.offer(envelope):
                self.turn = (self.turn + i + 1) % n
                return
        self.backlog.append(envelope)


class _Consumer:
    """One server or listener: takes from its queues, at most `limit` handlers at once."""

    def __init__(self, hub: _Hub, queues: list[_Queue],
                 handle: Callable[[_Envelope], Awaitable[None]], limit: int):
        self.hub = hub
        self.queues = queues
        self.handle = handle
        self.limit = limit
        self.active = 0
        self.stopped = False
        self.tasks: set[asyncio.Task[None]] = set()
        for queue in queues:
            queue.consumers.append(self)
        self._drain()

    def offer(self, envelope: _Envelope) -> bool:
        if self.stopped or self.active >= self.limit:
            return False
        self.active += 1
        task = asyncio.get_running_loop().create_task(self._run(envelope))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    async def _run(self, envelope: _Envelope) -> None:
        try:
            await self.handle(envelope)
        finally:
            self.active -= 1
            self._drain()

    def _drain(self) -> None:
        for queue in self.queues:
            while queue.backlog and self.offer(queue.backlog[0]):
                queue.backlog.popleft()

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for queue in self.queues:
            queue.consumers.remove(self)
            if not queue.consumers and not queue.durable:
                self.hub.delete(queue)
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


class _Hub:
    """One in-process broker: queues by name, bindings by exchange and routing key."""

    def __init__(self) -> None:
        self.queues: dict[str, _Queue] = {}
        self.bindings: dict[tuple[str, str], set[str]] = {}  # (exchange, key) -> queue names

    def declare(self, name: str, durable: bool, bind: Iterable[tuple[str, str]] = ()) -> _Queue:
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = _Queue(name, durable)
        for binding in bind:
            self.bindings.setdefault(binding, set()).add(name)
        return queue

    def delete(self, queue: _Queue) -> None:
        self.queues.pop(queue.name, None)
        for names in self.bindings.values():
            names.discard(queue.name)
        for envelope in queue.backlog:  # calls waiting in a deleted queue hear it at once
            if envelope.reply is not None and not envelope.reply.done():
                envelope.reply.set_exception(NoServer(queue.name))
        queue.backlog.clear()

    def route(self, exchange: str, key: str) -> list[_Queue]:
        return [self.queues[n] for n in sorted(self.bindings.get((exchange, key), ())) if n in self.queues]


#: "one hub per process" (COMPUTE.md), per event loop: a hub's tasks live on one loop
_HUBS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Hub]] = (
    weakref.WeakKeyDictionary())


def hub(name: str = "") -> _Hub:
    """The hub `name` of the running event loop."""
    hubs = _HUBS.setdefault(asyncio.get_running_loop(), {})
    return hubs.setdefault(name, _Hub())


class _Handle(Subscription):
    def __init__(self, bus: MemoryBus, consumer: _Consumer):
        self.bus = bus
        self.consumer = consumer

    async def stop(self) -> None:
        self.bus._subscriptions.discard(self)
        await self.consumer.stop()


class MemoryBus(Bus):
    def __init__(self, name: str = "", *, prefix: str = "overcast",
                 default_timeout: float | None = None):
        self.hub_name = name
        self.names = Names(prefix)
        if default_timeout is not None:
            self.default_timeout = default_timeout
        self._subscriptions: set[_Handle] = set()

    @property
    def hub(self) -> _Hub:
        return hub(self.hub_name)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.stop()

    async def serve(self, topic: str, server: str, endpoint: object, *,
                    concurrency: int = DEFAULT_CONCURRENCY) -> Subscription:
        n, rpc = self.names, self.names.rpc_exchange
        queues = [
            self.hub.declare(n.call_queue(topic, server), False, [(rpc, n.call_queue(topic, server))]),
            self.hub.declare(n.call_queue(topic, None), False, [(rpc, n.call_queue(topic, None))]),
            self.hub.declare(n.cast_queue(topic, server), True, [(rpc, n.cast_queue(topic, server))]),
            self.hub.declare(n.cast_queue(topic, None), True, [(rpc, n.cast_queue(topic, None))]),
            self.hub.declare(f"{n.fanout_exchange(topic)}.{server}", False,
                             [(n.fanout_exchange(topic), "")]),
        ]

        async def handle(envelope: _Envelope) -> None:
            reply = await run_request(endpoint, envelope.body, envelope.kind)
            if envelope.reply is not None and not envelope.reply.done():
                envelope.reply.set_result(reply)

        return self._track(_Consumer(self.hub, queues, handle, concurrency))

    def _track(self, consumer: _Consumer) -> _Handle:
        handle = _Handle(self, consumer)
        self._subscriptions.add(handle)
        return handle

    def _publish(self, exchange: str, key: str, envelope: _Envelope) -> int:
        queues = self.hub.route(exchange, key)
        for queue in queues:
            queue.put(envelope)
        return len(queues)

    async def call(self, topic: str, method: str, /, *, server: str | None = None,
                   ctx: Context | None = None, timeout: float | None = None,  # noqa: ASYNC109
                   **kwargs: Any) -> Any:
        body = encode_request(method, ctx, kwargs)
        key = self.names.call_queue(topic, server)
        queue = self.hub.queues.get(key)
        if queue is None or not queue.consumers:
            raise NoServer(topic, server)
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        envelope = _Envelope("call", body, reply)
        queue.put(envelope)
        limit = self.default_timeout if timeout is None else timeout
        try:
            # Not wait_for: on Python 3.11 it returns a reply that is in when the caller is
            # cancelled and loses the cancel (a stopping agent then never stopped).
            async with asyncio.timeout(limit):
                answer = await reply
        except NoServer:
            raise NoServer(topic, server) from None
        except TimeoutError:
            with contextlib.suppress(ValueError):
                queue.backlog.remove(envelope)  # the broker would expire it too
            raise BusTimeout(f"no reply to {method!r} from topic {topic!r}"
                             + (f" server {server!r}" if server else "")
                             + f" within {limit:g}s") from None
        return decode_reply(answer)

    async def cast(self, topic: str, method: str, /, *, server: str | None = None,
                   ctx: Context | None = None, **kwargs: Any) -> None:
        body = encode_request(method, ctx, kwargs)
        key = self.names.cast_queue(topic, server)
        if not self._publish(self.names.rpc_exchange, key, _Envelope("cast", body)):
            raise NoServer(topic, server)

    async def fanout(self, topic: str, method: str, /, *, ctx: Context | None = None,
                     **kwargs: Any) -> None:
        body = encode_request(method, ctx, kwargs)
        self._publish(self.names.fanout_exchange(topic), "", _Envelope("fanout", body))

    async def notify(self, publisher_id: str, event_type: str, payload: dict[str, Any], *,
                     priority: str = "INFO", ctx: Context | None = None,
                     topic: str = "notifications") -> None:
        low = check_priority(priority)
        body = encode_notification(publisher_id, event_type, payload, low, ctx)
        self._publish(self.names.notify_exchange, f"{topic}.{low}", _Envelope("notify", body))

    async def listen(self, topic: str, handler: NotificationHandler, *,
                     priorities: Iterable[str] = PRIORITIES, pool: str | None = None,
                     concurrency: int = DEFAULT_CONCURRENCY) -> Subscription:
        queues = []
        for priority in priorities:
            low = check_priority(priority)
            queues.append(self.hub.declare(self.names.notify_queue(topic, low, pool), True,
                                           [(self.names.notify_exchange, f"{topic}.{low}")]))

        async def handle(envelope: _Envelope) -> None:
            await run_notification(handler, envelope.body)

        return self._track(_Consumer(self.hub, queues, handle, concurrency))
