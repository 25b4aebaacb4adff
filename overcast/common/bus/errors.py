"""What the bus raises to its callers, the same for every transport.

    BusError
     ├── BusTimeout      a call got no reply within its timeout
     ├── NoServer        nobody serves the topic (or topic + server): fails at once
     ├── BusUnavailable  the broker cannot be reached (down, or reconnecting)
     └── RemoteError     the endpoint raised; carries the remote type, message and code
"""

from __future__ import annotations

__all__ = ["BusError", "BusTimeout", "BusUnavailable", "NoServer", "RemoteError"]


class BusError(Exception):
    """Any failure of a bus operation."""


class BusTimeout(BusError):
    """A call got no reply in time (oslo.messaging's MessagingTimeout)."""


class NoServer(BusError):
    """Nobody serves the target, so the message could not be routed anywhere."""

    def __init__(self, topic: str, server: str | None = None):
        self.topic = topic
        self.server = server
        target = f"topic {topic!r}" + (f" on server {server!r}" if server else "")
        super().__init__(f"no server is serving {target}")


class BusUnavailable(BusError):
    """The broker is unreachable (stopped, or the connection is being re-established)."""


class RemoteError(BusError):
    """The endpoint raised `exc_type` with `message`; `code` survives the round trip when the
    remote exception had one (a driver error's code, an HTTP-ish status)."""

    def __init__(self, exc_type: str, message: str, code: str | int | None = None):
        self.exc_type = exc_type
        self.message = message
        self.code = code
        super().__init__(f"{exc_type}: {message}" + (f" (code {code})" if code is not None else ""))
