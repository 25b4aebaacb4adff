"""QMP access to one QEMU process, over QEMU's own asyncio client (qemu.qmp)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from qemu.qmp import ExecuteError, QMPClient, QMPError, Runstate

from overcast.compute.drivers.base import DriverError, OperationTimeout

log = logging.getLogger(__name__)


class MonitorError(DriverError):
    """QEMU refused a QMP command or the monitor is unreachable."""


class Monitor:
    """One QMP connection, made on first use and remade after QEMU restarts.

    QEMU's QMP socket serves one client at a time: one Monitor per VM per driver.
    """

    def __init__(self, name: str, socket: Path) -> None:
        self.name = name
        self.socket = socket
        self._client: QMPClient | None = None
        self._lock = asyncio.Lock()

    async def _connected(self) -> QMPClient:
        async with self._lock:
            client = self._client
            if client is not None and client.runstate == Runstate.RUNNING:
                return client
            if client is not None:
                await self._drop(client)
            client = QMPClient(self.name)
            try:
                async with asyncio.timeout(10):
                    await client.connect(str(self.socket))
            except (OSError, QMPError, TimeoutError) as exc:
                await self._drop(client)
                raise MonitorError(f"QMP monitor of {self.name} unreachable: {exc}") from exc
            self._client = client
            return client

    @staticmethod
    async def _drop(client: QMPClient) -> None:
        try:
            await client.disconnect()
        except (QMPError, OSError, EOFError) as exc:  # the process may be gone already
            log.debug("QMP disconnect: %s", exc)

    async def execute(self, cmd: str, args: dict[str, Any] | None = None,
                      seconds: float = 30.0) -> Any:
        """Run one QMP command and return its result."""
        client = await self._connected()
        try:
            async with asyncio.timeout(seconds):
                return await client.execute(cmd, args)
        except ExecuteError as exc:
            raise MonitorError(f"QEMU refused {cmd}: {exc.error.error.desc}") from exc
        except TimeoutError:
            raise OperationTimeout(f"QMP {cmd} took longer than {seconds:.0f} s") from None
        except (QMPError, OSError, EOFError) as exc:
            await self.close()
            raise MonitorError(f"QMP {cmd} failed: {exc}") from exc

    async def hmp(self, command: str) -> str:
        """A human monitor command, for what QMP lacks (hostfwd_add)."""
        return str(await self.execute("human-monitor-command", {"command-line": command}))

    async def status(self) -> str:
        """QEMU's run state: running, paused, suspended, internal-error, inmigrate, ..."""
        return str((await self.execute("query-status", seconds=10))["status"])

    async def close(self) -> None:
        async with self._lock:
            if self._client is not None:
                await self._drop(self._client)
                self._client = None
