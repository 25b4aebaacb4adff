"""A private RabbitMQ node for tests that stop and start their broker, so the shared broker on
5672 that everyone else uses is never disturbed: its own node name, free ports, data, logs,
config and Erlang cookie (HOME) in a temporary directory; stopped through rabbitmqctl with that
same cookie, and its process group killed at the end whatever happened."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import time
import uuid
from pathlib import Path

from tests.conftest import port_open

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # Debian's, without the su-to-rabbitmq wrapper
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def available() -> bool:
    return os.access(SERVER, os.X_OK) and os.access(CTL, os.X_OK)


class PrivateBroker:
    def __init__(self, base: Path):
        self.base = base
        self.node = f"overcast-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        for d in ("home", "mnesia", "log"):
            (base / d).mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq.conf").write_text("")
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq-env.conf").write_text("")
        self.env = {
            **os.environ,
            "HOME": str(base / "home"),  # the Erlang cookie: server and rabbitmqctl share it
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),  # not /etc's node name
        }
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    async def start(self, within: float = 90.0) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        with (self.base / "server.out").open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                SERVER, env=self.env, stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True)
        deadline = time.monotonic() + within
        while not port_open("127.0.0.1", self.port, timeout=0.2):
            if self.process.returncode is not None:
                raise RuntimeError(f"private RabbitMQ exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"private RabbitMQ not up in {within:g}s: {self.log_tail()}")
            await asyncio.sleep(0.2)

    async def stop(self, within: float = 60.0) -> None:
        """Stop the node as an operator would (rabbitmqctl stop) and wait for it to exit."""
        if self.process is None:
            return
        ctl = await asyncio.create_subprocess_exec(
            CTL, "-n", self.node, "stop", env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            await asyncio.wait_for(ctl.wait(), within)
        except TimeoutError:
            ctl.kill()
        try:
            await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            await self.kill()
        self.process = None

    async def kill(self) -> None:
        """Kill the node's process group (ours alone: it was started in a session of its own)."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await asyncio.wait_for(self.process.wait(), 10)
        self.process = None

    def log_tail(self) -> str:
        text = ""
        for f in [self.base / "server.out", *sorted((self.base / "log").glob("*.log"))]:
            with contextlib.suppress(OSError):
                text += f.read_text(errors="replace")[-1500:]
        return text

    async def remove(self) -> None:
        await self.kill()
        shutil.rmtree(self.base, ignore_errors=True)
