"""A compute agent started as its own process (`overcast serve compute-agent --host h2`) joins
`overcast up`'s cloud over RabbitMQ and takes servers: the API process runs no agent, so a
server reaching ACTIVE on h2 went API → conductor → bus → the other process and back."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import port_open, require

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rabbit_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cloud, str]]:
    require("RabbitMQ", port_open("127.0.0.1", 5672), "nothing listens on 127.0.0.1:5672")
    bus = f"rabbit://guest:guest@127.0.0.1:5672/?prefix=t{uuid.uuid4().hex[:10]}"
    c = start_cloud(tmp_path_factory.mktemp("agents"), {
        "OVERCAST_COMPUTE__ENABLED": "true", "OVERCAST_COMPUTE__RUN_AGENTS": "false",
        "OVERCAST_DEFAULT__BUS_URL": bus})
    yield c, bus
    stop_cloud(c)


def test_an_agent_process_on_rabbitmq_takes_servers(rabbit_cloud: tuple[Cloud, str],
                                                     tmp_path: Path) -> None:
    c, bus = rabbit_cloud
    log = (tmp_path / "agent.log").open("wb")
    agent = subprocess.Popen(
        [str(Path(sys.executable).parent / "overcast"), "serve", "compute-agent",
         "--host", "h2", "--driver", "fake", "--state-dir", str(c.state_dir)],
        env={**c.env, "OVERCAST_DEFAULT__BUS_URL": bus}, stdout=log,
        stderr=subprocess.STDOUT)
    try:
        for _ in range(60):  # the agent's first heartbeat registers the host
            hosts = c.openstack_json("compute", "service", "list")
            if any(h["Host"] == "h2" and h["State"] == "up" for h in hosts):  # type: ignore
                break
            time.sleep(1)
        else:
            raise AssertionError("h2 never reported: " + (tmp_path / "agent.log").read_text())
        img = tmp_path / "disk.raw"
        img.write_bytes(b"\0" * 65536)
        c.openstack("image", "create", "--disk-format", "raw", "--container-format", "bare",
                    "--file", str(img), "cirros")
        server = c.openstack_json("server", "create", "--flavor", "m1.tiny", "--image",
                                  "cirros", "--nic", "none", "--wait", "vm-on-h2")
        assert isinstance(server, dict) and server["status"] == "ACTIVE"
        assert server["OS-EXT-SRV-ATTR:host"] == "h2"
        log_text = c.openstack("console", "log", "show", "vm-on-h2").stdout
        assert "overcast-guest ready" in log_text
        c.openstack("server", "delete", "--wait", "vm-on-h2")
    finally:
        agent.terminate()
        agent.wait(timeout=30)
