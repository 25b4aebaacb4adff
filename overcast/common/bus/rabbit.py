"""The RabbitMQ transport (AMQP 0-9-1 through aio-pika), laid out as oslo.messaging's.

    exchange <p>.rpc (direct, durable)
      <p>.<topic>, <p>.<topic>.<server>            cast queues: durable, persistent messages
      <p>.<topic>/call, <p>.<topic>.<server>/call  call queues: auto-delete (exist while served)
    exchange <p>.<topic>_fanout (fanout)  -> one exclusive queue per server
    exchange <p> (topic, durable)         -> <p>.<topic>.<priority>[/<pool>]: notifications
    reply_<uuid> (exclusive)               one per bus: call replies, by correlation id

Calls and casts are published with `mandatory` on a publisher-confirm channel: an unroutable
message comes back (basic.return) and is NoServer at once; a confirmed cast is on disk in a
durable queue, so it survives the broker's restart. The connection is aio-pika's robust one:
after the broker comes back it reconnects and re-declares queues and consumers by itself.
While it is away, a call or cast waits at most `reconnect_grace` seconds, then raises
BusUnavailable (never an unbounded hang).

Acknowledgement: a call is acknowledged when it is taken, before it runs (oslo's way: its
caller waits with a timeout, and re-running it after a crash would run work nobody waits
for); a cast, a fanout and a notification after the handler returns (or raises), so a server
that dies mid-message gets it again when it comes back. Handlers must therefore be idempotent,
as Overcast's reconcilers are (docs/architecture.md, "The bus").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, DeliveryError, PublishError

from overcast.common.bus.errors import BusTimeout, BusUnavailable, NoServer
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

__all__ = ["RabbitBus"]

log = logging.getLogger("overcast.bus")

JSON_TYPE = "application/json"


def amqp_url(url: str) -> str:
    """aio-pika's form of a bus_url: amqp(s)://, without our own query keys, reconnecting
    after 1 s rather than aio-pika's 5 s unless the URL says otherwise."""
    parts = urlsplit(url)
    scheme = "amqp" if parts.scheme == "rabbit" else parts.scheme
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("prefix", "reconnect_grace")]
    if not any(k == "reconnect_interval" for k, _ in query):
        query.append(("reconnect_interval", "1"))
    return urlunsplit((scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


class _Consumer(Subscription):
    """One server or listener: its own channel (prefetch = concurrency), its queues' consumers,
    at most `concurrency` handlers at once."""

    def __init__(self, bus: RabbitBus, channel: AbstractChannel, concurrency: int):
        self.bus = bus
        self.channel = channel
        self.room = asyncio.Semaphore(concurrency)
        self.consumers: list[tuple[AbstractQueue, str]] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopping = False

    async def consume(self, queue: AbstractQueue, kind: str,
                      handle: Callable[[bytes], Awaitable[bytes | None]]) -> None:
        async def on_message(message: AbstractIncomingMessage) -> None:
            task = asyncio.get_running_loop().create_task(self._run(message, kind, handle))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        self.consumers.append((queue, await queue.consume(on_message)))

    async def _run(self, message: AbstractIncomingMessage, kind: str,
                   handle: Callable[[bytes], Awaitable[bytes | None]]) -> None:
        try:
            if kind == "call":
                await message.ack()  # at most once: see the module docstring
            async with self.room:
                if self.stopping:
                    return  # not acknowledged: the broker gives it to the next server
                reply = await handle(message.body)
                if kind == "call":
                    if reply is not None and message.reply_to:
                        await self.bus._reply(message.reply_to, message.correlation_id, reply)
                else:
                    await message.ack()
        except CONNECTION_EXCEPTIONS as exc:
            # the channel went away under us: an unacknowledged cast comes back on reconnect
            log.warning("bus %s interrupted by the connection's loss (%s); an unacknowledged "
                        "cast is delivered again after the reconnect", kind, type(exc).__name__)

    async def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.bus._subscriptions.discard(self)
        for queue, tag in self.consumers:
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await queue.cancel(tag)
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        with contextlib.suppress(*CONNECTION_EXCEPTIONS):
            await self.channel.close()  # what was not acknowledged goes back to its queue


class RabbitBus(Bus):
    def __init__(self, url: str, *, prefix: str = "overcast", default_timeout: float | None = None,
                 reconnect_grace: float | None = None):
        self.url = amqp_url(url)
        query = dict(parse_qsl(urlsplit(url).query))
        self.names = Names(prefix)
        if default_timeout is not None:
            self.default_timeout = default_timeout
        #: how long a call or cast waits for a lost connection to come back
        self.reconnect_grace = (reconnect_grace if reconnect_grace is not None
                                else float(query.get("reconnect_grace", 2.0)))
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None
        self._replier: AbstractRobustChannel | None = None
        self._reply_channel: AbstractRobustChannel | None = None
        self._rpc: AbstractExchange | None = None
        self._notifications: AbstractExchange | None = None
        self._fanouts: dict[str, AbstractExchange] = {}
        self._reply_queue: str | None = None
        self._reply_lock = asyncio.Lock()
        self._waiting: dict[str, asyncio.Future[bytes]] = {}
        self._subscriptions: set[_Consumer] = set()
        #: every queue and exchange this bus declared (tests delete them afterwards)
        self.declared_queues: set[str] = set()
        self.declared_exchanges: set[str] = set()

    # --- connection ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._connection is not None:
            return
        try:
            self._connection = await aio_pika.connect_robust(self.url, timeout=10)
            # one channel publishes requests with confirms (and returns, for NoServer); replies
            # need neither, so they go on a channel of their own without the round trip
            self._publisher = await self._connection.channel(publisher_confirms=True,
                                                             on_return_raises=True)
            self._replier = await self._connection.channel(publisher_confirms=False)
            self._rpc = await self._declare_exchange(
                self._publisher, self.names.rpc_exchange, aio_pika.ExchangeType.DIRECT)
            self._notifications = await self._declare_exchange(
                self._publisher, self.names.notify_exchange, aio_pika.ExchangeType.TOPIC)
        except CONNECTION_EXCEPTIONS as exc:
            await self.close()
            raise BusUnavailable(f"cannot reach the message bus: {exc}") from exc

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.stop()
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await connection.close()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(BusUnavailable("the bus was closed"))
        self._waiting.clear()
        self._fanouts.clear()
        self._reply_queue = self._reply_channel = None

    @property
    def connected(self) -> bool:
        """True while the connection to the broker is up (False while it reconnects)."""
        return self._connection is not None and self._connection.connected.is_set()

    def _live(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise BusUnavailable("the bus is not started")
        return self._connection

    async def _wait_connected(self, grace: float) -> None:
        """Wait (at most `grace` s) for the connection and for the channels a call needs to be
        restored: a call sent before its reply queue is back would lose its reply."""
        connection = self._live()
        try:
            async with asyncio.timeout(grace):
                await connection.connected.wait()
                for channel in (self._publisher, self._reply_channel):
                    if channel is not None:
                        await channel.ready()
        except TimeoutError:
            raise BusUnavailable(f"the message bus is unreachable (no connection for "
                                 f"{grace:g}s; reconnecting in the background)") from None

    async def _declare_exchange(self, channel: AbstractChannel, name: str,
                                kind: aio_pika.ExchangeType) -> AbstractExchange:
        exchange = await channel.declare_exchange(name, kind, durable=True)
        self.declared_exchanges.add(name)
        return exchange

    async def _declare_queue(self, channel: AbstractChannel, name: str, *, durable: bool = False,
                             auto_delete: bool = False, exclusive: bool = False,
                             bind: Iterable[tuple[AbstractExchange, str]] = ()) -> AbstractQueue:
        queue = await channel.declare_queue(name, durable=durable, auto_delete=auto_delete,
                                            exclusive=exclusive)
        self.declared_queues.add(name)
        for exchange, key in bind:
            await queue.bind(exchange, key)
        return queue

    async def _publish(self, exchange: AbstractExchange | None, key: str,
                       message: aio_pika.Message, *, mandatory: bool, target: tuple[str, str | None],
                       grace: float) -> None:
        """Publish and wait for the broker's confirm; NoServer if it came back unroutable."""
        if exchange is None:
            raise BusUnavailable("the bus is not started")
        await self._wait_connected(grace)
        try:
            async with asyncio.timeout(max(grace, 5.0)):
                await exchange.publish(message, key, mandatory=mandatory)
        except PublishError:
            raise NoServer(*target) from None
        except DeliveryError as exc:
            raise BusUnavailable(f"the broker refused the message: {exc}") from None
        except TimeoutError:
            raise BusUnavailable("the broker did not confirm the message in time") from None
        except CONNECTION_EXCEPTIONS as exc:
            raise BusUnavailable(f"the message bus connection was lost: {exc}") from None

    async def _reply(self, reply_to: str, correlation_id: str | None, body: bytes) -> None:
        replier = self._replier
        if replier is None:
            return
        message = aio_pika.Message(body, content_type=JSON_TYPE, correlation_id=correlation_id)
        for attempt in (1, 2):
            try:
                # after a reconnect the connection is up before each channel is restored
                async with asyncio.timeout(self.reconnect_grace + 5):
                    await replier.ready()
                    await replier.default_exchange.publish(message, reply_to, mandatory=False)
                return
            except (TimeoutError, *CONNECTION_EXCEPTIONS) as exc:
                if attempt == 2:  # the caller gets BusTimeout
                    log.warning("bus reply to %s lost: %s", reply_to, exc)

    # --- RPC ----------------------------------------------------------------------------

    async def serve(self, topic: str, server: str, endpoint: object, *,
                    concurrency: int = DEFAULT_CONCURRENCY) -> Subscription:
        channel = await self._live().channel(publisher_confirms=False)
        consumer = _Consumer(self, channel, concurrency)
        try:
            await channel.set_qos(prefetch_count=concurrency)
            n = self.names
            rpc = await self._declare_exchange(channel, n.rpc_exchange, aio_pika.ExchangeType.DIRECT)
            fanout = await self._declare_exchange(channel, n.fanout_exchange(topic),
                                                  aio_pika.ExchangeType.FANOUT)

            def handler(kind: str) -> Callable[[bytes], Awaitable[bytes | None]]:
                async def handle(body: bytes) -> bytes | None:
                    return await run_request(endpoint, body, kind)
                return handle

            for name, durable in ((n.cast_queue(topic, server), True), (n.cast_queue(topic, None), True),
                                  (n.call_queue(topic, server), False),
                                  (n.call_queue(topic, None), False)):
                queue = await self._declare_queue(channel, name, durable=durable,
                                                  auto_delete=not durable, bind=[(rpc, name)])
                await consumer.consume(queue, "cast" if durable else "call", handler(
                    "cast" if durable else "call"))
            queue = await self._declare_queue(
                channel, f"{n.fanout_exchange(topic)}.{server}.{uuid.uuid4().hex[:12]}",
                exclusive=True, auto_delete=True, bind=[(fanout, "")])
            await consumer.consume(queue, "fanout", handler("fanout"))
        except CONNECTION_EXCEPTIONS as exc:
            await consumer.stop()
            raise BusUnavailable(f"cannot serve {topic!r}: {exc}") from exc
        self._subscriptions.add(consumer)
        return consumer

    async def _ensure_reply_queue(self) -> str:
        if self._reply_queue is not None:
            return self._reply_queue
        async with self._reply_lock:
            if self._reply_queue is None:
                channel = await self._live().channel(publisher_confirms=False)
                name = f"{self.names.prefix}.reply_{uuid.uuid4().hex}"
                # exclusive: it goes with the connection, so it is not in declared_queues
                queue = await channel.declare_queue(name, exclusive=True, auto_delete=True)
                await queue.consume(self._on_reply, no_ack=True)
                self._reply_channel, self._reply_queue = channel, name
        return self._reply_queue

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._waiting.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)

    async def call(self, topic: str, method: str, /, *, server: str | None = None,
                   ctx: Context | None = None, timeout: float | None = None,  # noqa: ASYNC109
                   **kwargs: Any) -> Any:
        body = encode_request(method, ctx, kwargs)
        limit = self.default_timeout if timeout is None else timeout
        grace = min(limit, self.reconnect_grace)
        await self._wait_connected(grace)
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = future
        try:
            async with asyncio.timeout(limit):
                try:
                    reply_to = await self._ensure_reply_queue()
                except CONNECTION_EXCEPTIONS as exc:
                    raise BusUnavailable(f"the message bus connection was lost: {exc}") from None
                await self._publish(
                    self._rpc, self.names.call_queue(topic, server),
                    # expires with the caller's patience: nobody runs a call nobody waits for
                    aio_pika.Message(body, content_type=JSON_TYPE, correlation_id=correlation_id,
                                     reply_to=reply_to, expiration=limit),
                    mandatory=True, target=(topic, server), grace=grace)
                answer = await future
        except TimeoutError:
            raise BusTimeout(f"no reply to {method!r} from topic {topic!r}"
                             + (f" server {server!r}" if server else "")
                             + f" within {limit:g}s") from None
        finally:
            self._waiting.pop(correlation_id, None)
        return decode_reply(answer)

    async def cast(self, topic: str, method: str, /, *, server: str | None = None,
                   ctx: Context | None = None, **kwargs: Any) -> None:
        await self._publish(
            self._rpc, self.names.cast_queue(topic, server),
            aio_pika.Message(encode_request(method, ctx, kwargs), content_type=JSON_TYPE,
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            mandatory=True, target=(topic, server), grace=self.reconnect_grace)

    async def fanout(self, topic: str, method: str, /, *, ctx: Context | None = None,
                     **kwargs: Any) -> None:
        body = encode_request(method, ctx, kwargs)
        exchange = self._fanouts.get(topic)
        if exchange is None:
            # declared before publishing: a publish to a missing exchange closes the channel
            if self._publisher is None:
                raise BusUnavailable("the bus is not started")
            await self._wait_connected(self.reconnect_grace)
            try:
                exchange = await self._declare_exchange(
                    self._publisher, self.names.fanout_exchange(topic), aio_pika.ExchangeType.FANOUT)
            except CONNECTION_EXCEPTIONS as exc:
                raise BusUnavailable(f"the message bus connection was lost: {exc}") from None
            self._fanouts[topic] = exchange
        await self._publish(exchange, "", aio_pika.Message(body, content_type=JSON_TYPE),
                            mandatory=False, target=(topic, None), grace=self.reconnect_grace)

    # --- notifications ------------------------------------------------------------------

    async def notify(self, publisher_id: str, event_type: str, payload: dict[str, Any], *,
                     priority: str = "INFO", ctx: Context | None = None,
                     topic: str = "notifications") -> None:
        low = check_priority(priority)
        body = encode_notification(publisher_id, event_type, payload, low, ctx)
        await self._publish(
            self._notifications, f"{topic}.{low}",
            aio_pika.Message(body, content_type=JSON_TYPE,
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            mandatory=False, target=(topic, None), grace=self.reconnect_grace)

    async def listen(self, topic: str, handler: NotificationHandler, *,
                     priorities: Iterable[str] = PRIORITIES, pool: str | None = None,
                     concurrency: int = DEFAULT_CONCURRENCY) -> Subscription:
        lows = [check_priority(p) for p in priorities]
        channel = await self._live().channel(publisher_confirms=False)
        consumer = _Consumer(self, channel, concurrency)

        async def handle(body: bytes) -> None:
            await run_notification(handler, body)

        try:
            await channel.set_qos(prefetch_count=concurrency)
            exchange = await self._declare_exchange(channel, self.names.notify_exchange,
                                                    aio_pika.ExchangeType.TOPIC)
            for low in lows:
                queue = await self._declare_queue(
                    channel, self.names.notify_queue(topic, low, pool), durable=True,
                    bind=[(exchange, f"{topic}.{low}")])
                await consumer.consume(queue, "notify", handle)
        except CONNECTION_EXCEPTIONS as exc:
            await consumer.stop()
            raise BusUnavailable(f"cannot listen to {topic!r}: {exc}") from exc
        self._subscriptions.add(consumer)
        return consumer

    # --- housekeeping -------------------------------------------------------------------

    async def delete_declared(self) -> None:
        """Delete every queue and exchange this bus declared (a test's, or a retired prefix's)."""
        channel = await self._live().channel(publisher_confirms=False)
        try:
            for name in sorted(self.declared_queues):
                with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                    await channel.queue_delete(name)
            for name in sorted(self.declared_exchanges):
                with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                    await channel.exchange_delete(name)
        finally:
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await channel.close()
