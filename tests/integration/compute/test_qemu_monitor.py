"""The QMP monitor against a real QEMU with no guest (`-machine none`): a refusal is a MonitorError."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from overcast.compute.drivers.qemu.monitor import Monitor, MonitorError
from tests.conftest import require_binary

pytestmark = pytest.mark.integration


@pytest.fixture
async def monitor(tmp_path: Path) -> AsyncIterator[Monitor]:
    qemu = require_binary("qemu-system-x86_64")
    sock = tmp_path / "qmp.sock"
    proc = await asyncio.create_subprocess_exec(
        qemu, "-machine", "none", "-nodefaults", "-display", "none",
        "-qmp", f"unix:{sock},server=on,wait=off",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            await asyncio.sleep(0.05)
        mon = Monitor("monitor-test", sock)
        yield mon
        await mon.close()
    finally:
        proc.kill()
        await proc.wait()


async def test_refused_command_is_a_monitor_error_with_qemus_reason(monitor: Monitor) -> None:
    # mypy found this: the handler read `.desc` off the ErrorResponse (it is on its `.error`),
    # so every refusal escaped as an AttributeError that no caller catches.
    with pytest.raises(MonitorError, match=r"QEMU refused no-such-command: .*no-such-command"):
        await monitor.execute("no-such-command")
    assert await monitor.status() in ("prelaunch", "running", "paused")
