"""`overcast up` runs this host's network agent: a port created with the real `openstack` CLI
and bound to the agent's host turns ACTIVE, its network gets a DHCP port, and deleting it
takes the host's wiring away again."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from overcast.network.agent.linuxbridge import LinuxBridgeBackend
from overcast.network.messages import bridge_name
from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import require
from tests.helpers import password_auth
from tests.integration.network.conftest import _capable, _link_exists

pytestmark = pytest.mark.integration


@pytest.fixture
def up_cloud(tmp_path: Path) -> Iterator[tuple[Cloud, str]]:
    ok, why = _capable()
    require("root, network namespaces, dnsmasq and busybox", ok, why)
    host = f"up-{uuid.uuid4().hex[:10]}"
    # Identity and Networking only: the others would only make the cloud slower to start.
    cloud = start_cloud(tmp_path, {"OVERCAST_NETWORK__RUN_AGENT": "true",
                                   "OVERCAST_NETWORK__AGENT_HOST": host,
                                   "OVERCAST_NETWORK__AGENT_RESYNC_INTERVAL": "2",
                                   "OVERCAST_IMAGE__ENABLED": "false",
                                   "OVERCAST_PLACEMENT__ENABLED": "false",
                                   "OVERCAST_OBJECT__ENABLED": "false"})
    try:
        yield cloud, host
    finally:
        stop_cloud(cloud)


def _wait(what: str, check: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.5)


def _api(cloud: Cloud) -> httpx.Client:
    """The networking API as admin, for polling (each `openstack` run costs seconds)."""
    r = httpx.post(f"{cloud.auth_url}/auth/tokens",
                   json=password_auth("admin", cloud.admin_password))
    assert r.status_code == 201, r.text
    return httpx.Client(base_url=f"http://127.0.0.1:{cloud.ports['network']}/v2.0",
                        headers={"X-Auth-Token": r.headers["X-Subject-Token"]})


def test_up_wires_a_bound_port_and_unwires_it(up_cloud: tuple[Cloud, str]) -> None:
    cloud, host = up_cloud
    name = f"dp-{uuid.uuid4().hex[:8]}"
    net = cloud.openstack_json("network", "create", name)
    assert isinstance(net, dict)
    api = _api(cloud)
    try:
        r = api.post("/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                  "cidr": "10.77.0.0/24"}})
        assert r.status_code == 201, r.text
        port = cloud.openstack_json("port", "create", "--network", name, "--host", host, name)
        assert isinstance(port, dict) and port["status"] == "DOWN"

        # no guest device yet, but the network is wired: the bridge and a DHCP port, ACTIVE
        _wait("bridge", lambda: _link_exists(bridge_name(net["id"])))

        def ports(**query: str) -> list[dict[str, Any]]:
            r = api.get("/ports", params={"network_id": net["id"], **query})
            assert r.status_code == 200, r.text
            return r.json()["ports"]  # type: ignore[no-any-return]
        _wait("an ACTIVE DHCP port", lambda: [p["status"] for p in ports(
            device_owner="network:dhcp")] == ["ACTIVE"])
        assert api.get(f"/ports/{port['id']}").json()["port"]["status"] == "DOWN"  # no tap

        assert api.delete(f"/ports/{port['id']}").status_code == 204
        _wait("bridge removed", lambda: not _link_exists(bridge_name(net["id"])))
        _wait("DHCP port released", lambda: ports() == [])
        assert api.delete(f"/networks/{net['id']}").status_code == 204
    finally:
        api.close()
        backend = LinuxBridgeBackend(host, cloud.state_dir / "network" / host)
        asyncio.run(backend.remove_network(net["id"]))
