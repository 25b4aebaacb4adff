"""The bus interface every transport implements, and the message format they share.

Messages are JSON on every transport (the memory one included), so what works in one process
works across hosts: a request is `{"method", "args", "ctx"}`, a reply `{"result"}` or
`{"error": {"type", "message", "code"}}`, a notification oslo's envelope `{"message_id",
"publisher_id", "event_type", "priority", "payload", "timestamp", "ctx"}`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

from overcast.common import clock
from overcast.common.bus.errors import RemoteError

__all__ = [
    "PRIORITIES",
    "Bus",
    "Context",
    "NotificationHandler",
    "Subscription",
]

log = logging.getLogger("overcast.bus")

#: A request context travels as a plain JSON object (RequestContext.to_dict() or the like).
Context = dict[str, Any]
#: `handler(event_type, payload)`, awaited once per notification.
NotificationHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
#: oslo.messaging's notification priorities; the routing key is `<topic>.<priority>`.
PRIORITIES = ("audit", "debug", "info", "warn", "error", "critical", "sample")
DEFAULT_TIMEOUT = 60.0  # oslo.messaging's rpc_response_timeout
DEFAULT_CONCURRENCY = 16


class Subscription(ABC):
    """A running RPC server or notification listener."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop taking messages and wait for the ones being handled."""


class Bus(ABC):
    """RPC (call, cast, fanout) to servers of a topic, and notifications.

    A server is named (a host): `serve(topic, server, endpoint)` takes calls and casts sent to
    the topic (any one server of it), to `topic` + `server` (this one), and fanouts to the
    topic (every server). `endpoint`'s public coroutine methods are the RPC methods:
    `async def name(self, ctx: dict[str, Any], **kwargs) -> JSON`.
    """

    default_timeout: float = DEFAULT_TIMEOUT

    @property
    def connected(self) -> bool:
        """True while messages can flow (memory: always; RabbitMQ: while the connection to the
        broker is up, False while it reconnects). For health reports, not for gating sends."""
        return True

    @abstractmethod
    async def start(self) -> None:
        """Connect (RabbitMQ); nothing to do in memory."""

    @abstractmethod
    async def close(self) -> None:
        """Stop every server and listener of this bus, then disconnect."""

    @abstractmethod
    async def serve(self, topic: str, server: str, endpoint: object, *,
                    concurrency: int = DEFAULT_CONCURRENCY) -> Subscription:
        """Serve `endpoint` as `server` of `topic`, at most `concurrency` messages at once."""

    @abstractmethod
    async def call(self, topic: str, method: str, /, *, server: str | None = None,
                   ctx: Context | None = None, timeout: float | None = None,  # noqa: ASYNC109
                   **kwargs: Any) -> Any:
        """Run `method` on one server of `topic` (or on `server`) and return its result.

        Raises NoServer at once when nobody serves the target, BusTimeout after `timeout`
        seconds (default 60) without a reply, RemoteError when the method raised,
        BusUnavailable when the broker cannot be reached."""

    @abstractmethod
    async def cast(self, topic: str, method: str, /, *, server: str | None = None,
                   ctx: Context | None = None, **kwargs: Any) -> None:
        """Send `method` to one server of `topic` (or to `server`) without waiting for it.

        Returns once the message is safely queued (RabbitMQ: confirmed by the broker, on disk,
        in a durable queue), so it survives the server's and the broker's restart. Raises
        NoServer when no server of the target was ever started."""

    @abstractmethod
    async def fanout(self, topic: str, method: str, /, *, ctx: Context | None = None,
                     **kwargs: Any) -> None:
        """Send `method` to every server of `topic` now serving (a broadcast: none is fine)."""

    @abstractmethod
    async def notify(self, publisher_id: str, event_type: str, payload: dict[str, Any], *,
                     priority: str = "INFO", ctx: Context | None = None,
                     topic: str = "notifications") -> None:
        """Publish a notification on `<topic>.<priority>` (oslo's `notifications.info`)."""

    @abstractmethod
    async def listen(self, topic: str, handler: NotificationHandler, *,
                     priorities: Iterable[str] = PRIORITIES, pool: str | None = None,
                     concurrency: int = DEFAULT_CONCURRENCY) -> Subscription:
        """Receive notifications of `topic`. Listeners without a pool share the messages (each
        goes to one of them, as oslo's); each pool gets its own copy of every notification."""

    async def __aenter__(self) -> Bus:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


# --- the wire format, shared by the transports -------------------------------------------


class NoSuchMethod(Exception):
    """The endpoint has no public coroutine method of that name (oslo's NoSuchMethod)."""


def encode_request(method: str, ctx: Context | None, kwargs: dict[str, Any]) -> bytes:
    try:
        return json.dumps({"method": method, "args": kwargs, "ctx": ctx or {}},
                          separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"bus message {method!r} is not JSON: {exc}") from None


def _error(exc: BaseException) -> dict[str, Any]:
    code = getattr(exc, "code", None)
    if not isinstance(code, str | int) or isinstance(code, bool):
        code = None
    return {"type": type(exc).__name__, "message": str(exc), "code": code}


async def run_request(endpoint: object, body: bytes, kind: str) -> bytes:
    """Run one request against `endpoint`; the reply body (an error reply if it raised)."""
    method = "?"
    try:
        request = json.loads(body)
        method = str(request["method"])
        fn = None if method.startswith("_") else getattr(endpoint, method, None)
        if fn is None or not inspect.iscoroutinefunction(fn):
            raise NoSuchMethod(f"endpoint has no method {method!r}")
        result = await fn(dict(request.get("ctx") or {}), **dict(request.get("args") or {}))
        return json.dumps({"result": result}, separators=(",", ":")).encode()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if kind == "call":
            log.info("bus call %s raised %s: %s", method, type(exc).__name__, exc)
        else:  # nobody hears a cast's error: the log is the only trace
            log.exception("bus %s %s failed", kind, method)
        try:
            return json.dumps({"error": _error(exc)}, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            return json.dumps({"error": {"type": type(exc).__name__, "message": repr(exc),
                                         "code": None}}).encode()


def decode_reply(body: bytes) -> Any:
    """The result of a call, or the RemoteError its endpoint raised."""
    reply = json.loads(body)
    if "error" in reply:
        error = reply["error"]
        raise RemoteError(str(error.get("type")), str(error.get("message")), error.get("code"))
    return reply.get("result")


def encode_notification(publisher_id: str, event_type: str, payload: dict[str, Any],
                        priority: str, ctx: Context | None) -> bytes:
    try:
        return json.dumps({
            "message_id": str(uuid.uuid4()), "publisher_id": publisher_id,
            "event_type": event_type, "priority": priority.upper(), "payload": payload,
            "timestamp": clock.utcnow().strftime("%Y-%m-%d %H:%M:%S.%f"), "ctx": ctx or {},
        }, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"notification {event_type!r} is not JSON: {exc}") from None


def check_priority(priority: str) -> str:
    """The routing-key form (`info`) of a priority, or ValueError."""
    low = priority.lower()
    if low not in PRIORITIES:
        raise ValueError(f"unknown notification priority {priority!r}; one of {PRIORITIES}")
    return low


async def run_notification(handler: NotificationHandler, body: bytes) -> None:
    try:
        message = json.loads(body)
        await handler(str(message["event_type"]), dict(message.get("payload") or {}))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("notification handler failed")


class Names:
    """Exchange and queue names under a prefix, so tests (and clouds) sharing a broker never
    collide. Casts go to durable queues `<p>.<topic>` and `<p>.<topic>.<server>`; calls to
    `<p>.<topic>/call` and `<p>.<topic>.<server>/call`, which exist only while a server
    consumes them, so a call to a host that is down is unroutable and fails at once."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.rpc_exchange = f"{prefix}.rpc"
        self.notify_exchange = prefix

    def cast_queue(self, topic: str, server: str | None) -> str:
        return f"{self.prefix}.{topic}" + (f".{server}" if server else "")

    def call_queue(self, topic: str, server: str | None) -> str:
        return self.cast_queue(topic, server) + "/call"

    def fanout_exchange(self, topic: str) -> str:
        return f"{self.prefix}.{topic}_fanout"

    def notify_queue(self, topic: str, priority: str, pool: str | None) -> str:
        return f"{self.prefix}.{topic}.{priority}" + (f"/{pool}" if pool else "")
