"""Console errors that need a driver this machine may not run: a host whose driver has no
such console (the QEMU driver's serial port is a log file) answers Nova's 501."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from overcast.common import faults
from overcast.common.bus import RemoteError
from overcast.common.context import RequestContext
from overcast.compute.consoles import Consoles
from overcast.compute.drivers.base import ComputeDriver
from overcast.compute.instance_models import Instance
from overcast.config import load_config


class _Agents:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def get_console(self, host: str, uuid: str, kind: str) -> dict[str, Any]:
        raise self.exc


def _inst(vm_state: str = "active", host: str | None = "h1") -> Instance:
    return Instance(uuid="8d1f5c9e-7a43-4d5b-9b1e-3c2a1f0e9d8c", vm_state=vm_state, host=host)


def _consoles(exc: Exception) -> Consoles:
    config = load_config(Path("/nonexistent-state"), environ={})
    return Consoles(None, _Agents(exc), config)  # type: ignore[arg-type]


async def test_a_driver_without_the_console_is_a_501() -> None:
    c = _consoles(RemoteError("NotImplementedError", "serial consoles"))
    with pytest.raises(faults.NotImplementedFault):
        await c.create(RequestContext.internal(), _inst(), "serial", "serial")


async def test_a_refusing_driver_is_a_409_and_an_unplaced_server_is_not_ready() -> None:
    c = _consoles(RemoteError("InvalidInstanceState", "not running"))
    with pytest.raises(faults.Conflict, match="while it is in vm_state stopped"):
        await c.create(RequestContext.internal(), _inst("stopped"), "vnc", "novnc")
    with pytest.raises(faults.Conflict, match="is not ready"):
        await c.create(RequestContext.internal(), _inst("building", None), "vnc", "novnc")


async def test_the_driver_interface_has_no_serial_console_by_default() -> None:
    with pytest.raises(NotImplementedError):
        await ComputeDriver.get_serial_console(None, "x")  # type: ignore[arg-type]
