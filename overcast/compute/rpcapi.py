"""Typed bus clients: the conductor as the agents reach it, the agents as the control plane
reaches them (Nova's conductor/api.py and compute/rpcapi.py). Payloads are `messages.py`
models, JSON on the wire."""

from __future__ import annotations

from typing import Any

from overcast.common.bus import Bus
from overcast.compute.messages import (
    COMPUTE_TOPIC,
    CONDUCTOR_TOPIC,
    DesiredInstance,
    HostReport,
    InstanceReport,
)

__all__ = ["ComputeAgentAPI", "ConductorAPI"]

#: Calls wait this long by default: reads of one row, not long operations (those are cast).
CALL_TIMEOUT = 30.0


class ConductorAPI:
    """What a compute agent asks of, and tells, the conductor."""

    def __init__(self, bus: Bus, timeout: float = CALL_TIMEOUT):
        self.bus = bus
        self.timeout = timeout

    async def instances_on_host(self, host: str) -> list[str]:
        """The uuids of every instance the database places on `host` (deleting ones too)."""
        uuids = await self.bus.call(CONDUCTOR_TOPIC, "instances_on_host", ctx={},
                                    timeout=self.timeout, host=host)
        return [str(u) for u in uuids]

    async def get_instance(self, uuid: str, host: str) -> DesiredInstance | None:
        """The instance's desired state, or None when it is not this host's (gone, elsewhere)."""
        raw = await self.bus.call(CONDUCTOR_TOPIC, "get_instance", ctx={}, timeout=self.timeout,
                                  instance_uuid=uuid, host=host)
        return None if raw is None else DesiredInstance.model_validate(raw)

    async def report(self, report: InstanceReport) -> None:
        """A call, not a cast: the bus does not order messages a server handles concurrently,
        and an instance's reports must land in the order the agent made them (a late
        "spawning" after "active" would undo the build). A conductor that cannot be reached
        fails the pass, which the next resync repeats."""
        await self.bus.call(CONDUCTOR_TOPIC, "instance_report", ctx={}, timeout=self.timeout,
                            report=report.model_dump(mode="json"))

    async def report_host(self, report: HostReport) -> None:
        await self.bus.cast(CONDUCTOR_TOPIC, "host_report", ctx={},
                            report=report.model_dump(mode="json"))


class ComputeAgentAPI:
    """What the control plane asks of the compute agent on a host."""

    def __init__(self, bus: Bus, timeout: float = CALL_TIMEOUT):
        self.bus = bus
        self.timeout = timeout

    async def sync(self, host: str, uuid: str, desired: DesiredInstance | None = None) -> None:
        """Poke: look at `uuid` now (the desired state rides along to save a round trip)."""
        await self.bus.cast(COMPUTE_TOPIC, "sync", server=host, ctx={}, instance_uuid=uuid,
                            desired=None if desired is None else desired.model_dump(mode="json"))

    async def get_console_output(self, host: str, uuid: str, length: int | None) -> str:
        out: Any = await self.bus.call(COMPUTE_TOPIC, "get_console_output", server=host, ctx={},
                                       timeout=self.timeout, instance_uuid=uuid, length=length)
        return str(out)

    async def get_diagnostics(self, host: str, uuid: str) -> dict[str, Any]:
        out: dict[str, Any] = await self.bus.call(
            COMPUTE_TOPIC, "get_diagnostics", server=host, ctx={}, timeout=self.timeout,
            instance_uuid=uuid)
        return out

    async def get_vnc_console(self, host: str, uuid: str) -> dict[str, Any]:
        return await self.get_console(host, uuid, "vnc")

    async def get_console(self, host: str, uuid: str, kind: str) -> dict[str, Any]:
        """Where the `kind` (vnc, serial) console of `uuid` listens on `host`."""
        out: dict[str, Any] = await self.bus.call(
            COMPUTE_TOPIC, f"get_{kind}_console", server=host, ctx={}, timeout=self.timeout,
            instance_uuid=uuid)
        return out
