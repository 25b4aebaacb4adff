"""`overcast serve network-agent --host H` as its own process joins the cloud over RabbitMQ
(the API process runs no agent): it wires a bound port's network; killed with SIGKILL while
its bridge is deleted by hand, it repairs the bridge when it comes back; it unwires on
delete."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from overcast.network.agent.linuxbridge import LinuxBridgeBackend
from overcast.network.messages import bridge_name
from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import port_open, require
from tests.helpers import password_auth
from tests.integration.network.conftest import _capable, _link_exists

pytestmark = pytest.mark.integration


@pytest.fixture
def rabbit_cloud(tmp_path: Path) -> Iterator[tuple[Cloud, str]]:
    ok, why = _capable()
    require("root, network namespaces, dnsmasq and busybox", ok, why)
    require("RabbitMQ", port_open("127.0.0.1", 5672), "nothing listens on 127.0.0.1:5672")
    bus = f"rabbit://guest:guest@127.0.0.1:5672/?prefix=t{uuid.uuid4().hex[:10]}"
    cloud = start_cloud(tmp_path, {"OVERCAST_DEFAULT__BUS_URL": bus,
                                   "OVERCAST_IMAGE__ENABLED": "false",
                                   "OVERCAST_PLACEMENT__ENABLED": "false",
                                   "OVERCAST_OBJECT__ENABLED": "false"})
    try:
        yield cloud, bus
    finally:
        stop_cloud(cloud)


def _wait(what: str, check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.3)


def test_an_agent_process_wires_and_converges_after_sigkill(
        rabbit_cloud: tuple[Cloud, str], tmp_path: Path) -> None:
    cloud, bus = rabbit_cloud
    host = f"pr-{uuid.uuid4().hex[:10]}"
    r = httpx.post(f"{cloud.auth_url}/auth/tokens",
                   json=password_auth("admin", cloud.admin_password))
    assert r.status_code == 201, r.text
    api = httpx.Client(base_url=f"http://127.0.0.1:{cloud.ports['network']}/v2.0",
                       headers={"X-Auth-Token": r.headers["X-Subject-Token"]})
    log = (tmp_path / "agent.log").open("ab")

    def agent() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "overcast"), "serve", "network-agent", "--host",
             host, "--state-dir", str(cloud.state_dir)],
            env={**cloud.env, "OVERCAST_DEFAULT__BUS_URL": bus,
                 "OVERCAST_NETWORK__AGENT_RESYNC_INTERVAL": "1"},
            stdout=log, stderr=subprocess.STDOUT)

    net = api.post("/networks", json={"network": {"name": "pr"}}).json()["network"]
    bridge = bridge_name(net["id"])
    proc = agent()
    try:
        r = api.post("/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                  "cidr": "10.78.0.0/24"}})
        assert r.status_code == 201, r.text
        r = api.post("/ports", json={"port": {"network_id": net["id"],
                                              "binding:host_id": host}})
        assert r.status_code == 201, r.text
        port = r.json()["port"]

        def dhcp_status() -> list[str]:
            found = api.get("/ports", params={"network_id": net["id"],
                                              "device_owner": "network:dhcp"}).json()["ports"]
            return [p["status"] for p in found]
        _wait("the agent process wires the network", lambda: _link_exists(bridge) and
              dhcp_status() == ["ACTIVE"])

        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        subprocess.run(["ip", "link", "del", bridge], check=True)
        proc = agent()
        _wait("the restarted agent repairs the bridge", lambda: _link_exists(bridge))

        assert api.delete(f"/ports/{port['id']}").status_code == 204
        _wait("unwired", lambda: not _link_exists(bridge) and dhcp_status() == [])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        api.close()
        log.close()
        backend = LinuxBridgeBackend(host, cloud.state_dir / "network" / host)
        asyncio.run(backend.remove_network(net["id"]))
