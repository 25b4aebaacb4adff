"""The message bus: RPC call, cast and fanout to named servers, and notifications, with one
interface (`Bus`) and two transports chosen by `[DEFAULT] bus_url`:

    memory://[NAME]                              in-process (`overcast up`, tests)
    rabbit://USER:PASS@HOST:5672/[VHOST]         RabbitMQ, AMQP 0-9-1 (also amqp://, amqps://)

Either takes `?prefix=P` (default `overcast`): exchanges and queues are named under it, so
clouds or tests sharing one broker never meet. Semantics are oslo.messaging's; where they differ
(cast acknowledgement, fast NoServer for calls) docs/architecture.md "The bus" says why.

    bus = connect(config.default.bus_url); await bus.start()
    server = await bus.serve("compute", "host1", manager)        # manager.method(ctx, **kw)
    await bus.call("compute", "get_console_output", server="host1", ctx=ctx, timeout=30, id=u)
    await bus.cast("compute", "build_and_run_instance", server="host1", ctx=ctx, request=spec)
    await bus.fanout("compute", "refresh", ctx=ctx)
    await bus.notify("compute.host1", "instance.create.end", payload, priority="INFO")
    listener = await bus.listen("notifications", handler)        # handler(event_type, payload)
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from overcast.common.bus.errors import BusError, BusTimeout, BusUnavailable, NoServer, RemoteError
from overcast.common.bus.interface import (
    PRIORITIES,
    Bus,
    Context,
    NotificationHandler,
    Subscription,
)
from overcast.common.bus.memory import MemoryBus

__all__ = [
    "PRIORITIES",
    "Bus",
    "BusError",
    "BusTimeout",
    "BusUnavailable",
    "Context",
    "MemoryBus",
    "NoServer",
    "NotificationHandler",
    "RemoteError",
    "Subscription",
    "connect",
]

RABBIT_SCHEMES = ("rabbit", "amqp", "amqps")


def connect(url: str = "memory://", *, prefix: str | None = None,
            default_timeout: float | None = None) -> Bus:
    """The bus `url` names (not yet started: `await bus.start()`)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    prefix = prefix or (query.get("prefix") or ["overcast"])[0]
    if parts.scheme == "memory":
        return MemoryBus(parts.netloc + parts.path.strip("/"), prefix=prefix,
                         default_timeout=default_timeout)
    if parts.scheme in RABBIT_SCHEMES:
        from overcast.common.bus.rabbit import RabbitBus  # aio-pika only when asked for

        return RabbitBus(url, prefix=prefix, default_timeout=default_timeout)
    raise ValueError(f"unsupported bus_url scheme {parts.scheme!r}: memory://, rabbit:// or amqp://")
